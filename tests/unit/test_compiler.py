"""The compiled flows, run on a fake fabric, agree with trace on every pair of every example."""

import pytest
from fakeswitch import FakeFabric, connection, decided_alike, instance_packet
from test_examples import EXAMPLES
from vpc_fixtures import example

from controller.compiler import compile_topology
from vpclab.layout.pipeline import TUNNEL_PORT
from vpclab.oracle.trace import trace

PROBES = [(1, None), (6, 22), (6, 443), (6, 5432), (6, 8080), (17, 53)]


@pytest.mark.parametrize("name", EXAMPLES)
def test_flows_agree_with_trace_on_every_pair(name):
    topology = example(name)
    fabric = FakeFabric(compile_topology(topology))
    for source in topology.senders:  # an AWS service's endpoint interface opens nothing
        for target in topology.instances:
            if source == target or source.ip is None or target.ip is None:
                continue  # IPv6-only: see the IPv6 test below
            if topology.instance_at(source.vpc, target.ip) not in (None, target):
                continue  # overlapping VPCs: in the source's VPC the address is another instance's
            for protocol, port in PROBES:
                expected = trace(
                    topology, source, target.ip, protocol, port, source_port=40000 if port else None
                )
                accepted, direction, origin = connection(fabric, source.name, target.name, protocol, port)
                what = f"{source.name}->{target.name} {protocol}/{port}"
                assert decided_alike(expected, accepted, direction, origin), what


def test_icmp_types_and_codes_are_matched_like_trace():
    from test_trace import ICMP_TYPES

    fabric = FakeFabric(compile_topology(ICMP_TYPES))
    for source in ICMP_TYPES.instances:
        for target in ICMP_TYPES.instances:
            if source != target:
                expected = trace(ICMP_TYPES, source, target.ip, 1)
                decided = connection(fabric, source.name, target.name, 1)
                assert decided_alike(expected, *decided), f"{source.name}->{target.name}"


def test_cross_server_traffic_uses_the_destination_vpc_vni():
    topology = example("peering.yaml")
    compiled = compile_topology(topology)
    fabric = FakeFabric(compiled)
    assert (
        compiled.plan.instances["web2"].instance.server,
        compiled.plan.instances["build1"].instance.server,
    ) == ("srv2", "srv1")
    server, packet = instance_packet(compiled.plan, "web2", "10.1.1.4", 1)
    outcome = fabric.send(server, packet)
    assert outcome.tunnelled == [("srv2", "srv1", compiled.plan.vni(topology.vpc("dev")))]
    assert outcome.delivered[0][:2] == ("srv1", compiled.plan.instances["build1"].port)


def test_a_vxlan_packet_with_the_wrong_vni_is_dropped():
    topology = example("peering.yaml")
    compiled = compile_topology(topology)
    fabric = FakeFabric(compiled)
    web2 = compiled.plan.instances["web2"]
    wrong_vni = compiled.plan.vni(topology.vpc("dev"))
    packet = {
        "in_port": TUNNEL_PORT,
        "tunnel_id": wrong_vni,
        "eth_type": 0x0800,
        "ipv4_src": "10.0.1.4",
        "ipv4_dst": str(web2.instance.ip),
        "ip_proto": 1,
    }
    outcome = fabric.send(web2.instance.server, packet)
    assert not outcome.delivered
    assert fabric.origin(outcome.dropped_at[2]) == "vpclab:table-miss"


def test_a_spoofed_source_is_dropped_at_the_card():
    compiled = compile_topology(example("three-tier.yaml"))
    fabric = FakeFabric(compiled)
    server, packet = instance_packet(
        compiled.plan, "web1", "10.20.2.4", 6, 8080, 40000, ipv4_src="10.20.1.99"
    )
    outcome = fabric.send(server, packet)
    assert not outcome.delivered
    assert (outcome.dropped_at[1], fabric.origin(outcome.dropped_at[2])) == (
        "classify",
        "vpcs[0].instances[0]",
    )


def test_arp_is_answered_for_the_router_and_subnet_neighbours_only():
    compiled = compile_topology(example("peering.yaml"))
    fabric = FakeFabric(compiled)
    web1 = compiled.plan.instances["web1"]

    def ask(address):
        return fabric.send(
            web1.instance.server, {"in_port": web1.port, "eth_type": 0x0806, "arp_op": 1, "arp_tpa": address}
        ).arp_replies

    assert ask("10.0.1.1")[0][2] == "02:00:00:00:00:01"
    assert ask("10.0.1.5")[0][2] == compiled.plan.instances["web2"].mac
    assert ask("10.1.1.4") == []  # another VPC: no answer, no broadcast


def test_routed_packets_lose_one_ttl_and_come_from_the_router_mac():
    compiled = compile_topology(example("peering.yaml"))
    fabric = FakeFabric(compiled)
    server, packet = instance_packet(compiled.plan, "web1", "10.1.1.4", 1)
    _, _, delivered = fabric.send(server, packet).delivered[0]
    assert delivered["nw_ttl"] == 63 and delivered["eth_src"] == "02:00:00:00:00:01"
    assert delivered["eth_dst"] == compiled.plan.instances["build1"].mac
    server, packet = instance_packet(compiled.plan, "web1", "10.0.1.5", 6, 443, 40000)
    assert fabric.send(server, packet).delivered[0][2]["nw_ttl"] == 64  # same subnet: switched


def test_removing_an_sg_rule_keeps_a_tracked_connection():
    import dataclasses

    topology = example("three-tier.yaml")
    fabric = FakeFabric(compile_topology(topology))
    assert connection(fabric, "web1", "app1", 6, 8080)[0]
    shop = topology.vpcs[0]
    closed = dataclasses.replace(
        topology,
        vpcs=(
            dataclasses.replace(
                shop,
                security_groups=tuple(
                    dataclasses.replace(g, ingress=()) if g.name == "app-sg" else g
                    for g in shop.security_groups
                ),
            ),
        ),
    )
    recompiled = FakeFabric(compile_topology(closed))
    for name, card in recompiled.cards.items():
        card.conntrack = fabric.cards[name].conntrack  # the datapath keeps its state
    assert connection(recompiled, "web1", "app1", 6, 8080)[0]  # tracked: still flows
    assert not connection(recompiled, "web1", "app1", 6, 8080, source_port=41000)[0]  # new: refused


def test_every_address_match_is_a_valid_prefix():
    from ipaddress import IPv4Network

    compiled = compile_topology(example("open-sg.yaml"))
    checked = 0
    for flows in compiled.flows.values():
        for each in flows:
            for field, value in each.match:
                if field in ("nw_src", "nw_dst"):
                    IPv4Network(f"{value[0]}/{value[1]}")  # strict: no host bits, a real mask
                    checked += 1
    assert checked > 50


def test_a_tgw_routing_loop_through_an_inspection_vpc_is_cut_like_trace():
    import os

    from vpclab.intent.loader import load_topology

    path = os.path.join(os.path.dirname(__file__), "..", "..", "topologies", "inspection.yaml")
    with open(path, encoding="utf-8") as handle:
        looping = (
            handle.read()
            .replace(", route_table: to-firewall", "")
            .replace(
                "propagations: [app-att, data-att]",
                "propagations: [app-att, data-att]\n"
                "        routes: [{destination: 10.2.0.0/16, attachment: insp-att}]",
            )
        )
    topology = load_topology("loop.yaml", looping)
    expected = trace(topology, topology.instance("app1"), topology.instance("data1").ip, 1)
    assert (expected.reason, expected.rule) == ("no-route", "vpcs[2].route_tables[0].routes[0]")
    assert sum(h.stage == "tgw-route" for h in expected.hops) == 3
    fabric = FakeFabric(compile_topology(topology))
    assert connection(fabric, "app1", "data1", 1) == (False, "forward", expected.rule)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_flow_serializes_as_an_openflow_message(name):
    import types

    from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser

    from controller.hyperplane.ofmsg import flow_mod

    datapath = types.SimpleNamespace(ofproto=ofproto_v1_3, ofproto_parser=ofproto_v1_3_parser, id=1)
    for flows in compile_topology(example(name)).flows.values():
        for each in flows:
            message = flow_mod(each)
            message.datapath = datapath
            message.set_xid(1)
            message.serialize()
            assert len(message.buf) > 48, each


IPV6_PROBES = [(58, None), (6, 22), (6, 443), (17, 53)]


@pytest.mark.parametrize("name", [n for n in EXAMPLES if example(n).ipv6_holders])
def test_ipv6_flows_agree_with_trace_on_every_pair(name):
    """The same, over IPv6: between every pair of instances with IPv6 addresses."""
    topology = example(name)
    fabric = FakeFabric(compile_topology(topology))
    senders = [s for s in topology.senders if s.ipv6 is not None]
    checked = 0
    for source in senders:
        for target in (t for t in topology.instances if t.ipv6 is not None and t != source):
            for protocol, port in IPV6_PROBES:
                expected = trace(
                    topology, source, target.ipv6, protocol, port, source_port=40000 if port else None
                )
                accepted, direction, origin = connection(
                    fabric, source.name, target.name, protocol, port, version=6
                )
                what = f"{source.name}->{target.name} {protocol}/{port} over IPv6"
                assert decided_alike(expected, accepted, direction, origin), what
                checked += 1
    assert checked
