# ruff: noqa: E501  (the YAML edits of a variant read best on one line)
"""Interface endpoints to AWS services (issue 31, item 6): a network interface per listed
subnet with the endpoint's SGs, answering as the service and opening nothing; its private DNS
name; what AWS refuses; the cards deciding as trace does; Batfish's snapshot imported with
the interface's real address."""

from ipaddress import IPv4Address
from pathlib import Path

import pytest
from fakeswitch import assert_cards_decide_like_trace
from vpc_fixtures import load, problems, verdict

from vpclab.aws_import import import_directory
from vpclab.intent.dns import resolve
from vpclab.ui.arguments import UsageError, resolve_source
from vpclab.verify.plan import internet_pairs, ordered_pairs

SNAPSHOTS = Path(__file__).resolve().parents[1] / "data" / "aws-configs"
DESIGN = """
name: services
vpcs:
  - name: app
    cidr: 10.1.0.0/16
    subnets:
      - {name: a, cidr: 10.1.1.0/24, az: a}
      - {name: b, cidr: 10.1.101.0/24, az: b}
    security_groups:
      - {name: ep-sg, ingress: [{protocol: tcp, ports: 443, cidr: 10.1.0.0/16}]}
    instances:
      - {name: c1, subnet: a}
      - {name: c2, subnet: b}
  - name: other
    cidr: 10.2.0.0/16
    subnets: [{name: s, cidr: 10.2.1.0/24, az: a}]
    instances: [{name: o1, subnet: s}]
vpc_endpoints:
  - {name: ct, vpc: app, service: com.amazonaws.us-east-1.cloudtrail, subnets: [a, b], security_groups: [ep-sg], addresses: [10.1.1.50, 10.1.101.97]}
"""


def variant(old: str, new: str) -> str:
    assert old in DESIGN, old
    return DESIGN.replace(old, new)


def test_each_subnet_gets_an_interface_with_the_endpoints_address_and_sgs():
    topology = load(DESIGN)
    interfaces = [i for i in topology.instances if i.service]
    assert [(i.name, str(i.ip), i.endpoint, [str(g) for g in i.security_groups]) for i in interfaces] == [
        ("ct-a", "10.1.1.50", "ct", ["app/ep-sg"]),
        ("ct-b", "10.1.101.97", "ct", ["app/ep-sg"]),
    ]
    assert [i.name for i in topology.senders] == ["c1", "c2", "o1"]


def test_the_interface_answers_what_its_sgs_admit_and_names_the_service():
    topology = load(DESIGN)
    found = verdict(topology, "c1", "10.1.101.97", "tcp", 443)
    assert found.accepted
    delivered = next(h for h in found.hops if h.stage == "deliver")
    assert "com.amazonaws.us-east-1.cloudtrail, behind endpoint ct" in delivered.detail
    refused = verdict(topology, "c2", "10.1.101.97", "tcp", 22)
    assert (refused.reason, refused.rule) == ("sg-ingress", "vpcs[0].security_groups[0]")


def test_it_opens_no_connections():
    topology = load(DESIGN)
    with pytest.raises(
        UsageError, match="ct-a' is endpoint ct's interface to com.amazonaws.us-east-1.cloudtrail"
    ):
        resolve_source(topology, "ct-a")
    assert all(source.service is None for source, _ in ordered_pairs(topology))
    assert any(target.name == "ct-b" for _, target in ordered_pairs(topology))
    assert not internet_pairs(topology)


def test_the_cards_let_it_answer_and_drop_what_it_would_open():
    from fakeswitch import FakeFabric, connection

    from controller.compiler import compile_topology

    compiled = compile_topology(load(DESIGN))
    assert connection(FakeFabric(compiled), "c1", "ct-a", 6, 443)[0]
    for protocol, port in ((1, None), (6, 22)):  # its SG (ep-sg) has AWS's allow-all outbound rule
        opened = connection(FakeFabric(compiled), "ct-a", "c1", protocol, port)
        assert opened == (False, "forward", "vpcs[0].security_groups[0]")


def test_private_dns_answers_the_services_name_in_its_vpc_only():
    topology = load(DESIGN)
    answer = resolve(topology, "app", "cloudtrail.us-east-1.amazonaws.com")
    assert [r.values for r in answer.records] == [("10.1.1.50", "10.1.101.97")]
    assert resolve(topology, "other", "cloudtrail.us-east-1.amazonaws.com").rcode == "NXDOMAIN"
    off = load(
        variant(
            "addresses: [10.1.1.50, 10.1.101.97]}",
            "addresses: [10.1.1.50, 10.1.101.97], private_dns_enabled: false}",
        )
    )
    assert resolve(off, "app", "cloudtrail.us-east-1.amazonaws.com").rcode == "NXDOMAIN"


def test_without_addresses_the_interfaces_take_the_first_free_ones():
    topology = load(variant(", addresses: [10.1.1.50, 10.1.101.97]", ""))
    assert [str(i.ip) for i in topology.instances if i.service] == ["10.1.1.5", "10.1.101.5"]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "com.amazonaws.us-east-1.cloudtrail",
            "com.amazonaws.eu-west-1.cloudtrail",
            "vpc_endpoints[0].service: VPC 'app' is in us-east-1: its endpoints reach com.amazonaws.us-east-1.*",
        ),
        (
            "addresses: [10.1.1.50, 10.1.101.97]",
            "addresses: [10.1.1.50]",
            "vpc_endpoints[0].addresses: 1 addresses for 2 subnets: one per subnet",
        ),
        (
            "addresses: [10.1.1.50, 10.1.101.97]",
            "addresses: [10.1.1.4, 10.1.101.97]",
            "vpc_endpoints[0].addresses[0]: 10.1.1.4 is not a free address of subnet 'a'",
        ),
        ("subnets: [a, b]", "subnets: [a, a]", "one subnet per AZ"),
        (
            "{name: c1, subnet: a}",
            "{name: ct-a, subnet: a}",
            "'ct-a' (the endpoint's interface in a) is already a host's name",
        ),
        ("subnets: [a, b], ", "", "vpc_endpoints[0]: an interface endpoint has 'subnets'"),
        (
            "subnets: [a, b], ",
            "route_tables: [main], subnets: [a, b], ",
            "vpc_endpoints[0]: an interface endpoint has 'subnets'",
        ),
    ],
)
def test_what_aws_refuses_is_refused_saying_why(old, new, expected):
    found = problems(variant(old, new))
    assert any(expected in line for line in found), found


def test_the_cards_decide_like_trace():
    assert_cards_decide_like_trace(load(DESIGN))


def test_batfishs_interface_endpoint_snapshot_keeps_the_interfaces_address():
    imported = import_directory(str(SNAPSHOTS / "test-vpc-endpoint-interface"))
    [endpoint] = imported.data["vpc_endpoints"]
    assert endpoint == {
        "name": "vpce-083c683a6be29b889",
        "description": "vpce-083c683a6be29b889",
        "vpc": "testing",
        "service": "com.amazonaws.us-east-1.cloudtrail",
        "subnets": ["testing-10-1-101-0-24"],
        "security_groups": ["testing-sg"],
        "private_dns_enabled": True,
        "addresses": ["10.1.101.97"],
    }
    skipped = {s.aws_id for s in imported.skipped}
    assert "eni-0084b734451ba23ca" not in skipped and "vpce-083c683a6be29b889" not in skipped
    assert IPv4Address("10.1.101.97") in {i.ip for i in load_imported(imported).instances}


def load_imported(imported):
    import yaml

    from vpclab.aws_import import render
    from vpclab.intent.loader import load_topology

    return load_topology(
        "imported.yaml", yaml.safe_dump(yaml.safe_load(render(imported, "imported")), sort_keys=False)
    )
