"""Transit gateway behaviours that mutants of the compiler and the oracle survived (issue 33,
item 8): the attachment subnets' NACLs with rules narrower than 0.0.0.0/0, a VPC's secondary
CIDRs propagated, two propagations of one CIDR, the cards' scope with two TGWs in a chain, the
static/propagated labels, and a card's limit of 128 referenced security groups."""

import pytest
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange
from vpc_fixtures import load, verdict

from controller.compiler import compile_topology
from controller.compiler.security_groups import BITS, TooManyGroups, group_bits
from vpclab.layout.pipeline import REMOTE_SGS
from vpclab.oracle.routing import tgw_routes
from vpclab.ui.render import render_verdict


def spoke(name: str, second: int, acl: str, extra_subnet: str = "", extra_cidr: str = "") -> str:
    """A VPC 10.SECOND.0.0/16 with an app subnet and a TGW attachment subnet whose NACL is
    ``acl`` (app routes 10.0.0.0/8 to the TGW)."""
    cidr = f"[10.{second}.0.0/16{extra_cidr}]"
    return f"""
      - name: {name}
        cidr: {cidr}
        subnets:
          - {{name: app, cidr: 10.{second}.1.0/24, route_table: to-tgw}}
          - {{name: att, cidr: 10.{second}.9.0/28, nacl: att-acl}}
          {extra_subnet}
        route_tables:
          - name: to-tgw
            routes: [{{destination: 10.0.0.0/8, transit_gateway: tgw}}]
        nacls:
          - name: att-acl
{acl}
        security_groups:
          - {{name: {name}-sg, ingress: [{{protocol: all, cidr: 10.0.0.0/8}}]}}
        instances:
          - {{name: {name}1, subnet: app, ip: 10.{second}.1.10, security_groups: [{name}-sg]}}
          - {{name: {name}2, subnet: app, ip: 10.{second}.1.200, security_groups: [{name}-sg]}}
"""


def hub(spokes: str, attachments: str, propagations: str, servers: int = 2) -> str:
    return f"""
    name: tgw-nacls
    servers: {servers}
    vpcs:{spokes}
    transit_gateways:
      - name: tgw
        attachments:
{attachments}
        route_tables:
          - name: rt
            associations: [{propagations}]
            propagations: [{propagations}]
"""


# The attachment subnet of a: traffic may enter the TGW only from a's own first /25, and leave
# it into a only towards a's own addresses. Swapping nw_src and nw_dst in either stage changes
# which pairs pass.
NARROW = """\
            ingress:
              - {rule: 100, protocol: all, cidr: 10.1.1.0/25, action: allow}
            egress:
              - {rule: 100, protocol: all, cidr: 10.1.0.0/16, action: allow}"""
OPEN = """\
            ingress:
              - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
            egress:
              - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}"""
ATTACH = """\
          - {name: a-att, vpc: a, subnets: [att]}
          - {name: b-att, vpc: b, subnets: [att]}"""


def test_attachment_subnet_nacls_test_the_source_entering_and_the_destination_leaving():
    topology = load(hub(spoke("a", 1, NARROW) + spoke("b", 2, OPEN), ATTACH, "a-att, b-att"))
    assert verdict(topology, "a1", "b1").accepted  # 10.1.1.10 is in 10.1.1.0/25
    dropped = verdict(topology, "a2", "b1")  # 10.1.1.200 is not: a's attachment NACL, entering
    assert (dropped.accepted, dropped.reason, dropped.direction) == (False, "nacl-ingress", "forward")
    assert dropped.rule == "vpcs[0].nacls[0].ingress[*]"
    assert verdict(topology, "b1", "a1").accepted  # into a, towards a's own address
    back = verdict(topology, "b1", "a2")  # b1 -> a2 enters a; a2's reply is refused entering
    assert (back.accepted, back.direction, back.rule) == (False, "return", "vpcs[0].nacls[0].ingress[*]")
    assert_cards_decide_like_trace(topology)


def test_a_vpcs_secondary_cidr_is_propagated_too():
    second = "- {name: more, cidr: 10.11.1.0/24, route_table: to-tgw}"
    spokes = spoke("a", 1, OPEN) + spoke("b", 2, OPEN, second, ", 10.11.0.0/16")
    spokes += "          - {name: b3, subnet: more, ip: 10.11.1.10, security_groups: [b-sg]}\n"
    topology = load(hub(spokes, ATTACH, "a-att, b-att"))
    tgw = topology.transit_gateway("tgw")
    routes = {str(r.destination): r.attachment for r in tgw_routes(topology, tgw, tgw.route_tables[0])}
    assert routes == {"10.1.0.0/16": "a-att", "10.2.0.0/16": "b-att", "10.11.0.0/16": "b-att"}
    assert verdict(topology, "a1", "b3").accepted
    assert_cards_decide_like_trace(topology)


def test_of_two_propagations_of_one_cidr_the_first_is_kept():
    """AWS does not propagate an overlapping CIDR twice: the table keeps its first propagation."""
    twin = spoke("c", 2, OPEN).replace("c1, subnet: app, ip: 10.2.1.10", "c1, subnet: app, ip: 10.2.1.20")
    spokes = spoke("a", 1, OPEN) + spoke("b", 2, OPEN) + twin
    attach = ATTACH + "\n          - {name: c-att, vpc: c, subnets: [att]}"
    for order, winner in (("a-att, b-att, c-att", "b1"), ("a-att, c-att, b-att", "c2")):
        topology = load(hub(spokes, attach, order, servers=3))
        tgw = topology.transit_gateway("tgw")
        routes = tgw_routes(topology, tgw, tgw.route_tables[0])
        kept = [r for r in routes if str(r.destination) == "10.2.0.0/16"]
        assert [r.attachment for r in kept] == [winner[0] + "-att"]
        target = "10.2.1.10" if winner == "b1" else "10.2.1.200"
        assert verdict(topology, "a1", target).delivered_to == winner
        fabric = FakeFabric(compile_topology(topology))
        accepted, _, _, reached = exchange(fabric, "a1", target, 1)
        assert (accepted, reached) == (True, winner)


def test_a_card_carries_the_tgws_a_chain_of_them_may_hand_its_packets_to():
    """a -> tgw1 -> hub's attachment subnet, whose route table sends c's CIDR on to tgw2 -> c:
    a's card, alone on its server, must hold tgw2 and c's delivery too."""
    topology = load(
        """
        name: chain
        servers: [{name: s1}, {name: s2}, {name: s3}]
        vpcs:
          - name: a
            cidr: 10.1.0.0/16
            subnets: [{name: app, cidr: 10.1.1.0/24, route_table: rt}]
            route_tables: [{name: rt, routes: [{destination: 10.0.0.0/8, transit_gateway: tgw1}]}]
            security_groups: [{name: a-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
            instances: [{name: a1, subnet: app, server: s1, security_groups: [a-sg]}]
          - name: hub
            cidr: 10.5.0.0/16
            subnets:
              - {name: att, cidr: 10.5.1.0/24, route_table: onward}
            route_tables:
              - name: onward
                routes:
                  - {destination: 10.3.0.0/16, transit_gateway: tgw2}
                  - {destination: 10.1.0.0/16, transit_gateway: tgw1}
            security_groups: [{name: h-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
            instances: [{name: h1, subnet: att, server: s2, security_groups: [h-sg]}]
          - name: c
            cidr: 10.3.0.0/16
            subnets: [{name: app, cidr: 10.3.1.0/24, route_table: rt}]
            route_tables: [{name: rt, routes: [{destination: 10.0.0.0/8, transit_gateway: tgw2}]}]
            security_groups: [{name: c-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
            instances: [{name: c1, subnet: app, server: s3, security_groups: [c-sg]}]
        transit_gateways:
          - name: tgw1
            attachments:
              - {name: a-1, vpc: a, subnets: [app]}
              - {name: hub-1, vpc: hub, subnets: [att]}
            route_tables:
              - {name: rt1, associations: [a-1, hub-1], propagations: [hub-1, a-1],
                 routes: [{destination: 10.3.0.0/16, attachment: hub-1}]}
          - name: tgw2
            attachments:
              - {name: c-2, vpc: c, subnets: [app]}
              - {name: hub-2, vpc: hub, subnets: [att]}
            route_tables:
              - {name: rt2, associations: [c-2, hub-2], propagations: [c-2, hub-2],
                 routes: [{destination: 10.1.0.0/16, attachment: hub-2}]}
        """
    )
    crossing = verdict(topology, "a1", "c1")
    assert crossing.accepted, crossing.reason
    assert [h.at for h in crossing.hops if h.stage == "tgw-route" and h.direction == "forward"] == [
        "tgw tgw1/rt1",
        "tgw tgw2/rt2",
    ]
    compiled = compile_topology(topology)
    accepted, _, _, reached = exchange(FakeFabric(compiled), "a1", "10.3.1.4", 1)
    assert (accepted, reached) == (True, "c1")
    assert_cards_decide_like_trace(topology)


def test_routes_and_trace_say_which_tgw_routes_are_static_and_which_propagated():
    spokes = spoke("a", 1, OPEN) + spoke("b", 2, OPEN)
    design = hub(spokes, ATTACH, "a-att, b-att").replace(
        "propagations: [a-att, b-att]",
        "propagations: [a-att, b-att]\n            routes: [{destination: 10.2.1.128/25, attachment: a-att}]",
    )
    topology = load(design)
    tgw = topology.transit_gateway("tgw")
    described = sorted(r.describe() for r in tgw_routes(topology, tgw, tgw.route_tables[0]))
    assert any("10.2.1.128/25" in d and "static" in d for d in described), described
    assert any("10.2.0.0/16" in d and "propagated" in d for d in described), described
    to_b1 = render_verdict(verdict(topology, "a1", "b1"), lambda origin: None)
    tgw_line = next(line for line in to_b1.splitlines() if "tgw-route" in line and line.startswith("forward"))
    assert "propagated" in tgw_line and "10.2.0.0/16" in tgw_line
    to_b2 = render_verdict(verdict(topology, "a1", "b2"), lambda origin: None)
    tgw_line = next(line for line in to_b2.splitlines() if "tgw-route" in line and line.startswith("forward"))
    assert "static" in tgw_line and "10.2.1.128/25" in tgw_line


def referencing(groups: int) -> str:
    """One instance on one card whose SG names ``groups`` other security groups."""
    names = [f"g{n}" for n in range(groups)]
    rules = ", ".join(f"{{protocol: tcp, ports: 443, security_group: {name}}}" for name in names)
    others = "\n".join(f"          - {{name: {name}}}" for name in names)
    return f"""
    name: many-groups
    servers: 1
    quotas: {{rules_per_security_group: 200}}
    vpcs:
      - name: v
        cidr: 10.0.0.0/16
        subnets: [{{name: s, cidr: 10.0.1.0/24}}]
        security_groups:
          - {{name: wide, ingress: [{rules}]}}
{others}
        instances: [{{name: i, subnet: s, security_groups: [wide]}}]
"""


def test_a_card_holds_exactly_128_referenced_security_groups():
    assert BITS * len(REMOTE_SGS) == 128
    compiled = compile_topology(load(referencing(128)))
    named = group_bits(compiled.plan, "srv1", "ingress")
    assert len(named.bits) == 128 and len(named.registers) == len(REMOTE_SGS)
    with pytest.raises(TooManyGroups, match="name 129 security groups; a card holds at most 128"):
        compile_topology(load(referencing(129)))


def test_an_attachment_without_a_route_table_still_meets_its_subnets_nacl_first():
    """AWS evaluates the attachment subnet's NACL as the packet enters, before the TGW looks
    for a route table: a2 is refused by a's NACL, a1 by the missing association. The cards
    dropped both at the attachment before (`vpclab fuzz` seed 153, offline)."""
    text = hub(spoke("a", 1, NARROW) + spoke("b", 2, OPEN), ATTACH, "a-att, b-att")
    text = text.replace("associations: [a-att, b-att]", "associations: [b-att]")
    topology = load(text)
    refused = verdict(topology, "a2", "b1")
    assert (refused.reason, refused.rule) == ("nacl-ingress", "vpcs[0].nacls[0].ingress[*]")
    unrouted = verdict(topology, "a1", "b1")
    assert (unrouted.reason, unrouted.rule) == ("tgw-no-route", "transit_gateways[0].attachments[0]")
    fabric = FakeFabric(compile_topology(topology))
    for source, wanted in (("a2", refused.rule), ("a1", unrouted.rule)):
        assert exchange(fabric, source, "10.2.1.10", 1)[:3] == (False, "forward", wanted), source
    assert_cards_decide_like_trace(topology)
