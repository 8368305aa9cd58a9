"""Trace verdicts: AWS's semantics for SGs, NACLs, routes, peering and transit gateways."""

from ipaddress import IPv4Address

import pytest
from vpc_fixtures import load, verdict

SG_CASES = load("""\
name: sg
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets: [{name: a, cidr: 10.0.1.0/24}, {name: b, cidr: 10.0.2.0/24}]
    security_groups:
      - name: http
        ingress: [{protocol: tcp, ports: 80, cidr: 10.0.0.0/16}]
      - name: https
        ingress: [{protocol: tcp, ports: 443, cidr: 10.0.0.0/16}]
      - name: mute
        ingress: [{protocol: all, cidr: 0.0.0.0/0}]
        egress: []
    instances:
      - {name: d1, subnet: a}
      - {name: d2, subnet: b}
      - {name: web, subnet: b, security_groups: [http, https]}
      - {name: quiet, subnet: a, security_groups: [mute]}
""")


def test_default_sg_admits_its_own_members_only():
    assert verdict(SG_CASES, "d1", "d2").accepted
    refused = verdict(SG_CASES, "web", "d1")
    assert (refused.reason, refused.rule) == ("sg-ingress", "vpcs[0].security_groups[default]")
    assert verdict(SG_CASES, "d1", "web", "tcp", 80).accepted  # default SG: all out


def test_sg_with_no_egress_rules_sends_nothing():
    refused = verdict(SG_CASES, "quiet", "d1")
    assert (refused.reason, refused.direction) == ("sg-egress", "forward")
    assert refused.rule == "vpcs[0].security_groups[2]"
    assert verdict(SG_CASES, "web", "quiet", "tcp", 80).accepted  # the reply leaves by state


def test_several_sgs_are_a_union_of_rules():
    assert verdict(SG_CASES, "d1", "web", "tcp", 80).rule == "vpcs[0].security_groups[0].ingress[0]"
    assert verdict(SG_CASES, "d1", "web", "tcp", 443).rule == "vpcs[0].security_groups[1].ingress[0]"
    refused = verdict(SG_CASES, "d1", "web", "tcp", 22)
    assert (refused.reason, refused.rule) == ("sg-ingress", "vpcs[0].instances[2].security_groups")


def test_the_reply_passes_sgs_by_state():
    accepted = verdict(SG_CASES, "d1", "web", "tcp", 80)
    reply_sg_hops = [h for h in accepted.hops if h.direction == "return" and h.stage.startswith("sg")]
    assert [h.detail for h in reply_sg_hops] == ["reply of a tracked connection"] * 2
    assert not verdict(SG_CASES, "web", "d1", "tcp", 80).accepted  # a new connection back is not


def test_spoofed_source_is_dropped_by_the_source_check():
    refused = verdict(SG_CASES, "d1", "d2", source_ip=IPv4Address("10.0.1.99"))
    assert (refused.reason, refused.rule) == ("spoofed", "vpcs[0].instances[0]")


NACL_CASES = load("""\
name: nacl
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets:
      - {name: a, cidr: 10.0.1.0/24}
      - {name: b, cidr: 10.0.2.0/24, nacl: strict}
    security_groups:
      - name: open
        ingress: [{protocol: all, cidr: 0.0.0.0/0}]
    nacls:
      - name: strict
        ingress:
          - {rule: 200, protocol: all, cidr: 10.0.0.0/16, action: allow}
          - {rule: 100, protocol: tcp, ports: 22, cidr: 10.0.1.0/24, action: deny}
          - {rule: 300, protocol: tcp, ports: 443, cidr: 10.0.0.0/8, action: allow}
        egress:
          - {rule: 100, protocol: tcp, ports: 32768-60999, cidr: 10.0.0.0/16, action: allow}
          - {rule: 110, protocol: icmp, cidr: 10.0.0.0/16, action: allow}
    instances:
      - {name: a1, subnet: a, security_groups: [open]}
      - {name: b1, subnet: b, security_groups: [open]}
      - {name: b2, subnet: b, security_groups: [open]}
""")


def test_nacl_rules_apply_lowest_number_first():
    refused = verdict(NACL_CASES, "a1", "b1", "tcp", 22)
    assert (refused.reason, refused.rule) == ("nacl-ingress", "vpcs[0].nacls[0].ingress[1]")
    assert verdict(NACL_CASES, "a1", "b1", "tcp", 80).accepted  # rule 200 allows


def test_nacl_star_rule_denies_what_no_rule_allows():
    refused = verdict(NACL_CASES, "b1", "a1", "udp", 53)
    assert (refused.reason, refused.rule) == ("nacl-egress", "vpcs[0].nacls[0].egress[*]")


def test_nacl_is_not_applied_inside_a_subnet():
    assert verdict(NACL_CASES, "b1", "b2", "udp", 53).accepted
    assert not any(h.stage.startswith("nacl") for h in verdict(NACL_CASES, "b1", "b2", "udp", 53).hops)


def test_nacl_is_stateless_the_reply_needs_its_own_rule():
    ping = verdict(NACL_CASES, "a1", "b1")
    assert ping.accepted  # icmp in by rule 200, the echo reply out by rule 110
    refused = verdict(NACL_CASES, "b1", "a1", "tcp", 80)  # egress rule 100 covers only 32768+
    assert (refused.reason, refused.direction) == ("nacl-egress", "forward")


ICMP_TYPES = load("""\
name: icmp
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets:
      - {name: a, cidr: 10.0.1.0/24, nacl: echo-only}
      - {name: b, cidr: 10.0.2.0/24}
    security_groups:
      - name: pingable
        ingress: [{protocol: icmp, icmp_type: 8, icmp_code: 0, cidr: 10.0.0.0/16}]
      - name: unreachables-only
        ingress: [{protocol: icmp, icmp_type: 3, cidr: 10.0.0.0/16}]
    nacls:
      - name: echo-only           # lets pings in and their replies out, nothing else
        ingress:
          - {rule: 100, protocol: icmp, icmp_type: 8, cidr: 0.0.0.0/0, action: allow}
        egress:
          - {rule: 100, protocol: icmp, icmp_type: 0, icmp_code: -1, cidr: 0.0.0.0/0, action: allow}
    instances:
      - {name: a1, subnet: a, security_groups: [pingable]}
      - {name: a2, subnet: a, security_groups: [unreachables-only]}
      - {name: b1, subnet: b, security_groups: [pingable]}
""")


def test_icmp_type_and_code_select_echo_requests_and_replies():
    assert verdict(ICMP_TYPES, "b1", "a1").accepted  # echo request in (type 8), echo reply out (type 0)
    refused = verdict(ICMP_TYPES, "b1", "a2")  # a2's SG admits type 3 only
    assert (refused.reason, refused.rule) == ("sg-ingress", "vpcs[0].security_groups[1]")
    outbound = verdict(ICMP_TYPES, "a1", "b1")  # the echo request leaves a by no egress rule
    assert (outbound.reason, outbound.rule) == ("nacl-egress", "vpcs[0].nacls[0].egress[*]")


EPHEMERAL = load("""\
name: eph
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets:
      - {name: a, cidr: 10.0.1.0/24}
      - {name: b, cidr: 10.0.2.0/24, nacl: server-side}
    security_groups:
      - name: open
        ingress: [{protocol: all, cidr: 0.0.0.0/0}]
    nacls:
      - name: server-side
        ingress:
          - {rule: 100, protocol: tcp, ports: 443, cidr: 0.0.0.0/0, action: allow}
        egress:
          - {rule: 100, protocol: tcp, ports: 1024-40000, cidr: 0.0.0.0/0, action: allow}
          - {rule: 120, protocol: tcp, ports: 50000-65535, cidr: 0.0.0.0/0, action: allow}
    instances:
      - {name: client, subnet: a, security_groups: [open]}
      - {name: server, subnet: b, security_groups: [open]}
""")


def test_missing_ephemeral_port_rule_drops_the_return_direction():
    refused = verdict(EPHEMERAL, "client", "server", "tcp", 443)
    assert (refused.reason, refused.direction) == ("nacl-egress", "return")
    assert refused.rule == "vpcs[0].nacls[0].egress[*]"
    assert refused.ports_failing == "40001-49999"
    assert refused.as_dict()["ports_failing"] == "40001-49999"


def test_a_pinned_source_port_is_traced_alone():
    assert verdict(EPHEMERAL, "client", "server", "tcp", 443, source_port=33000).accepted
    refused = verdict(EPHEMERAL, "client", "server", "tcp", 443, source_port=45000)
    assert refused.ports_failing == "45000-45000"


PEERING = """\
name: peer
vpcs:
  - name: a
    cidr: 10.0.0.0/16
    subnets: [{name: s, cidr: 10.0.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.1.0.0/16, peering: a-b}]}]
    security_groups:
      - name: app
        ingress: [{protocol: tcp, ports: 443, security_group: client}]
    instances: [{name: srv, subnet: s, security_groups: [app]}]
  - name: b
    cidr: 10.1.0.0/16
    subnets: [{name: s, cidr: 10.1.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/16, peering: a-b}]}]
    security_groups: [{name: client}]
    instances:
      - {name: member, subnet: s, security_groups: [client]}
      - {name: stranger, subnet: s}
peerings:
  - {name: a-b, requester: a, accepter: b%s}
"""


def test_sg_as_source_across_a_peering():
    topology = load(PEERING % "")
    assert verdict(topology, "member", "srv", "tcp", 443).rule == "vpcs[0].security_groups[0].ingress[0]"
    assert verdict(topology, "stranger", "srv", "tcp", 443).reason == "sg-ingress"


def test_route_to_a_deleted_peering_is_a_blackhole():
    refused = verdict(load(PEERING % ", deleted: true"), "member", "srv", "tcp", 443)
    assert (refused.reason, refused.rule) == ("blackhole", "vpcs[1].route_tables[0].routes[0]")


def test_an_address_with_no_route_is_dropped():
    refused = verdict(load(PEERING % ""), "srv", "192.168.1.1")
    assert (refused.reason, refused.rule) == ("no-route", "vpcs[0].route_tables[0]")


TGW = """\
name: tgw
servers: [{name: s1, az: a}, {name: s2, az: b}]
vpcs:
  - name: hub
    cidr: 10.0.0.0/16
    subnets:
      - {name: s, cidr: 10.0.1.0/24}
      - {name: att, cidr: 10.0.9.0/24, nacl: att-nacl}
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
    security_groups: [{name: hub-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
    nacls:
      - name: att-nacl
        ingress: [{rule: 100, protocol: all, cidr: 10.0.0.0/8, action: allow}]
        egress:
          - {rule: 90, protocol: udp, cidr: 10.0.0.0/8, action: deny}
          - {rule: 100, protocol: all, cidr: 10.0.0.0/8, action: allow}
    instances: [{name: h1, subnet: s, security_groups: [hub-sg]}]
  - name: spoke
    cidr: 10.1.0.0/16
    subnets: [{name: s, cidr: 10.1.1.0/24}, {name: far, cidr: 10.1.2.0/24, az: b}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
    security_groups: [{name: spoke-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
    instances:
      - {name: p1, subnet: s, security_groups: [spoke-sg]}
      - {name: p2, subnet: far, security_groups: [spoke-sg]}
  - name: other
    cidr: 10.2.0.0/16
    subnets: [{name: s, cidr: 10.2.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
    security_groups: [{name: other-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
    instances: [{name: o1, subnet: s, security_groups: [other-sg]}]
transit_gateways:
  - name: core
    attachments:
      - {name: hub-att, vpc: hub, subnets: [att]}
      - {name: spoke-att, vpc: spoke, subnets: [s]}
      - {name: other-att, vpc: other, subnets: [s]}
    route_tables:
      - name: hub-table
        associations: [hub-att]
        propagations: [spoke-att, other-att]
      - name: spoke-table
        associations: [spoke-att, other-att]
        propagations: [hub-att%s]
        routes:
%s
"""


def tgw(propagations: str = "", routes: str = "          - {destination: 10.0.0.0/8, blackhole: true}"):
    return load(TGW % (propagations, routes))


def test_association_decides_the_table_propagation_only_fills_tables():
    topology = tgw()
    assert verdict(topology, "h1", "o1").accepted  # hub-table learned other's CIDR
    refused = verdict(topology, "p1", "o1")  # spoke-table: other propagates elsewhere
    assert (refused.reason, refused.rule) == (
        "tgw-blackhole",
        "transit_gateways[0].route_tables[1].routes[0]",
    )
    one_way = verdict(tgw(", other-att"), "p1", "o1")  # o1's reply uses o1's association
    assert (one_way.reason, one_way.direction) == ("tgw-blackhole", "return")
    assert verdict(tgw(", other-att, spoke-att"), "p1", "o1").accepted


def test_longest_prefix_beats_a_wider_blackhole():
    accepted = verdict(tgw(), "p1", "h1")
    tgw_hop = next(h for h in accepted.hops if h.stage == "tgw-route")
    assert tgw_hop.object == "transit_gateways[0].route_tables[1].propagations[0]"


def test_static_route_beats_propagated_on_equal_prefix():
    refused = verdict(tgw(routes="          - {destination: 10.0.0.0/16, blackhole: true}"), "p1", "h1")
    assert (refused.reason, refused.rule) == (
        "tgw-blackhole",
        "transit_gateways[0].route_tables[1].routes[0]",
    )


def test_no_tgw_route_and_the_az_without_attachment():
    assert verdict(tgw(routes="          []"), "p1", "o1").reason == "tgw-no-route"
    refused = verdict(tgw(), "p2", "h1")
    assert (refused.reason, refused.rule) == ("tgw-az-not-attached", "transit_gateways[0].attachments[1]")


def test_attachment_subnet_nacls_apply_as_aws_documents():
    # hub's attachment subnet denies udp out, which only matters for traffic leaving the TGW
    # towards hub instances in another subnet; a spoke instance *in* its attachment subnet
    # sees no attachment-subnet NACL at all.
    refused = verdict(tgw(), "p1", "h1", "udp", 53)
    assert (refused.reason, refused.rule) == ("nacl-egress", "vpcs[0].nacls[0].egress[0]")
    assert verdict(tgw(), "p1", "h1", "tcp", 53).accepted


def test_sg_references_do_not_cross_a_transit_gateway():
    topology = load(
        (TGW % ("", "          []")).replace(
            "hub-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]",
            "hub-sg, ingress: [{protocol: all, security_group: hub-sg}]",
        )
    )
    assert verdict(topology, "p1", "h1").reason == "sg-ingress"


from designs import HUB_WITH_TWIN_SPOKES  # noqa: E402


@pytest.mark.parametrize("protocol, port", [("icmp", None), ("tcp", 443), ("udp", 53)])
def test_a_reply_that_reaches_another_vpc_is_not_an_accepted_connection(protocol, port):
    """Peering has no reverse-path check: hub1's reply to 10.19.4.4 goes to v0's a0, not c2."""
    topology = load(HUB_WITH_TWIN_SPOKES)
    misrouted = verdict(topology, "c2", "hub1", protocol, port)
    assert (misrouted.accepted, misrouted.reason, misrouted.direction) == (False, "reply-misrouted", "return")
    assert misrouted.rule == "vpcs[1].route_tables[0].routes[0]"  # the route to change
    assert misrouted.hops[-1].at == "a0" and "not c2" in misrouted.hops[-1].detail
    assert verdict(topology, "a0", "hub1", protocol, port).accepted  # the route's own side


def test_the_cards_drop_the_misrouted_reply_too():
    from fakeswitch import FakeFabric, connection

    from controller.compiler import compile_topology

    fabric = FakeFabric(compile_topology(load(HUB_WITH_TWIN_SPOKES)))
    assert connection(fabric, "c2", "hub1", 1)[:2] == (False, "return")
    assert connection(fabric, "c2", "hub1", 6, 443)[:2] == (False, "return")
    assert connection(fabric, "a0", "hub1", 1)[0]


@pytest.mark.parametrize(
    "address, reason, rule, words",
    [
        ("10.0.2.77", "unassigned-address", "vpcs[0].subnets[1]", "no interface's address"),
        ("10.0.1.1", "unassigned-address", "vpcs[0].subnets[0]", "the VPC router's address"),
        ("10.0.9.9", "no-route", "vpcs[0]", "in no subnet"),
    ],
)
def test_an_address_no_interface_owns_is_unassigned(address, reason, rule, words):
    refused = verdict(SG_CASES, "d1", address)
    assert (refused.reason, refused.rule, refused.direction) == (reason, rule, "forward")
    assert words in refused.hops[-1].detail


def test_every_step_the_walk_declares_is_implemented_by_a_concept_module():
    from vpclab.oracle.trace import Walk
    from vpclab.oracle.walk import WalkState

    declared = [name for name, kind in WalkState.__annotations__.items() if kind == "Step"]
    assert len(declared) >= 25
    missing = [name for name in declared if not callable(getattr(Walk, name, None))]
    assert not missing, f"steps no module implements: {missing}"
