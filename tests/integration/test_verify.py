"""verify on designs that fooled it: reused addresses, and replies routed to another VPC."""

import textwrap

from live_helpers import live

from vpclab.intent.loader import load_topology
from vpclab.verify import report, verify

pytestmark = live
quiet = lambda line: None

TWIN_VPCS = """
    name: twins
    servers: 2
    vpcs:
      - name: blue
        cidr: 10.7.0.0/16
        subnets: [{name: s, cidr: 10.7.1.0/24}]
        security_groups: [{name: blue-sg, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}]
        instances:
          - {name: b1, subnet: s, security_groups: [blue-sg]}
          - {name: b2, subnet: s, security_groups: [blue-sg]}
      - name: green
        cidr: 10.7.0.0/16
        subnets: [{name: s, cidr: 10.7.1.0/24}]
        security_groups: [{name: green-sg, ingress: [{protocol: tcp, ports: 22, cidr: 10.7.0.0/16},
                                                      {protocol: icmp, cidr: 10.7.0.0/16}]}]
        instances:
          - {name: g1, subnet: s, security_groups: [green-sg]}
"""


def design(tmp_path, text):
    path = tmp_path / "design.yaml"
    path.write_text(textwrap.dedent(text))
    return load_topology(str(path))


def test_two_copies_of_one_vpc_are_isolated_and_verify_agrees(tmp_path):
    """b1 and g1 are both 10.7.1.4: b1's probes to g1 leave b1 as frames and die there."""
    topology = design(tmp_path, TWIN_VPCS)
    assert topology.instance("b1").ip == topology.instance("g1").ip
    results = verify(topology, log=quiet)
    assert all(r.agrees for r in results), report(results, False)
    to_twin = [r for r in results if (r.source, r.target) == ("b1", "g1")]
    assert to_twin and all(r.raw and not r.live for r in to_twin)
    assert any(r.live for r in results if (r.source, r.target) == ("b1", "b2"))


def test_a_reply_routed_to_another_vpc_is_a_drop_live_and_in_trace(tmp_path):
    from designs import HUB_WITH_TWIN_SPOKES

    topology = design(tmp_path, HUB_WITH_TWIN_SPOKES)
    results = verify(topology, log=quiet)
    assert all(r.agrees for r in results), report(results, False)
    c2_to_hub = [r for r in results if (r.source, r.target) == ("c2", "hub1")]
    assert c2_to_hub and not any(r.live for r in c2_to_hub)
    assert all(r.reason == "reply-misrouted" for r in c2_to_hub)
    assert any(r.live for r in results if (r.source, r.target) == ("a0", "hub1"))
