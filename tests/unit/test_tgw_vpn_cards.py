"""A transit gateway's VPN attachments on the cards (issue 32): a TGW route table's VPN routes
rank below its static routes and VPC propagations, equal BGP VPN routes share the flows by flow
hash with `vpn_ecmp_support` (one tunnel without), a static route to a VPN attachment takes its
connection's first tunnel up, and a site's packets enter the TGW by their attachment's table
and leave through the attachment subnet in the destination's AZ."""

import dataclasses
from ipaddress import IPv4Network
from pathlib import Path

from controller.compiler import compile_topology
from vpclab.intent import model as m
from vpclab.intent.loader import load_topology
from vpclab.layout.hybrid import INNER, aws_announcements, not_live
from vpclab.oracle.trace import trace

VPN_TGW = Path(__file__).resolve().parents[2] / "topologies" / "vpn-tgw.yaml"


def design():
    return load_topology(str(VPN_TGW))


def with_tunnels_down(topology, **down):
    connections = tuple(
        dataclasses.replace(c, tunnels_down=down.get(c.name.replace("-", "_"), ()))
        for c in topology.hybrid.vpn_connections
    )
    return dataclasses.replace(
        topology, hybrid=dataclasses.replace(topology.hybrid, vpn_connections=connections)
    )


def tgw_ways(topology, card: str = "srv1", table: str = "vpcs") -> dict[str, list[tuple[str, int]]]:
    """On ``card``: the TGW route table's prefix -> the tunnels its flows take (several: ECMP;
    none: dropped), for the prefixes routed to tunnels."""
    compiled = compile_topology(topology)
    plan = compiled.plan
    hops = {number: key for key, number in plan.tunnel_hop.items()}
    table_id = plan.tgw_table_id[("core", table)]
    flows = [f for f in compiled.flows[card] if dict(f.match).get("tgw_table") == table_id]
    found: dict[str, list] = {}
    for f in flows:
        match = dict(f.match)
        if f.stage not in ("tgw_route", "tgw_ecmp") or "nw_dst" not in match:
            continue
        address, mask = match["nw_dst"]
        key = str(IPv4Network(f"{address}/{mask}"))
        described = [a.describe() for a in f.actions]
        if described == ["drop"]:
            found.setdefault(key, [])
        for action in described:
            if action.startswith("next_hop=") and int(action.split("=")[1]) in hops:
                found.setdefault(key, []).append(hops[int(action.split("=")[1])])
            if action.startswith("ecmp_pick="):
                found.setdefault(key, [])
    return {key: sorted(ways) for key, ways in found.items()}


def test_equal_bgp_vpn_routes_share_the_flows_over_every_tunnel_up_by_flow_hash():
    topology = design()
    every = [("dc1-vpn-a", 1), ("dc1-vpn-a", 2), ("dc1-vpn-b", 1), ("dc1-vpn-b", 2)]
    assert tgw_ways(topology)["172.16.0.0/16"] == every
    compiled = compile_topology(topology)
    spread = [
        f for f in compiled.flows["srv1"] if f.stage == "tgw_route" and "hash" in str(f.actions[0].describe())
    ]
    assert [f.actions[0].describe() for f in spread] == ["ecmp_pick=hash(5-tuple) mod 4"]
    fewer = with_tunnels_down(topology, dc1_vpn_a=(1,))
    assert tgw_ways(fewer)["172.16.0.0/16"] == every[1:]
    gone = with_tunnels_down(topology, dc1_vpn_a=(1, 2), dc1_vpn_b=(1, 2))
    assert "172.16.0.0/16" not in tgw_ways(gone)  # no route: the table's miss drops it


def test_without_vpn_ecmp_support_the_first_propagation_and_tunnel_carry_it_all():
    topology = design()
    core = dataclasses.replace(topology.transit_gateways[0], vpn_ecmp_support=False)
    alone = dataclasses.replace(topology, transit_gateways=(core,))
    assert tgw_ways(alone)["172.16.0.0/16"] == [("dc1-vpn-a", 1)]
    assert tgw_ways(with_tunnels_down(alone, dc1_vpn_a=(1, 2)))["172.16.0.0/16"] == [("dc1-vpn-b", 1)]


def test_a_static_route_to_a_vpn_attachment_takes_its_first_tunnel_up_and_drops_without_one():
    topology = design()
    assert tgw_ways(topology)["192.168.0.0/16"] == [("dc2-vpn", 1)]
    assert tgw_ways(with_tunnels_down(topology, dc2_vpn=(1,)))["192.168.0.0/16"] == [("dc2-vpn", 2)]
    assert tgw_ways(with_tunnels_down(topology, dc2_vpn=(1, 2)))["192.168.0.0/16"] == []
    cut = with_tunnels_down(topology, dc2_vpn=(1, 2))
    down = trace(cut, cut.endpoint("app1"), cut.endpoint("files1").ip, 1)
    assert (down.accepted, down.reason) == (False, "vpn-down")  # trace agrees


def test_a_vpc_propagation_ranks_above_a_vpn_route_for_the_same_prefix():
    topology = design()
    dc1 = dataclasses.replace(
        topology.hybrid.sites[0], cidrs=(IPv4Network("172.16.0.0/16"), IPv4Network("10.1.0.0/16"))
    )
    hybrid = dataclasses.replace(topology.hybrid, sites=(dc1, topology.hybrid.sites[1]))
    ways = tgw_ways(dataclasses.replace(topology, hybrid=hybrid))
    assert "10.1.0.0/16" not in ways  # app-att's propagated CIDR, not dc1's


def test_a_sites_packet_enters_by_its_attachments_table_and_leaves_in_the_destinations_az():
    topology = design()
    compiled = compile_topology(topology)
    plan = compiled.plan
    flows = compiled.flows[m.INTERNET_CARD]
    port = next(
        p for p in plan.edge_ports if p.kind == INNER and p.connection == "dc1-vpn-b" and p.tunnel == 2
    )
    entry = [f for f in flows if f.stage == "classify" and dict(f.match).get("in_port") == port.port]
    described = sorted(a.describe() for f in entry for a in f.actions)
    onprem = plan.tgw_table_id[("core", "onprem")]
    assert described == sorted(
        ["eth_src=02:00:00:00:00:01", f"tgw_table={onprem}", "az=0", "goto tgw_route", "drop"]
    )
    app2 = topology.instance("app2")
    exits = [
        f
        for f in flows
        if f.stage == "tgw_exit"
        and dict(f.match).get("az") == 0
        and dict(f.match).get("next_hop") == plan.attachment_id["app-att"]
        and dict(f.match).get("nw_dst", ("",))[0] == "10.1.2.0"
    ]
    assert [a.describe() for a in exits[0].actions][
        1
    ] == f"exit_subnet={plan.attachment_subnet_id[('app', 'app-b')]}"
    assert app2.subnet == "app-b"
    # what the cards send to a tunnel leaves the internet's card by its inner port
    sent = [f for f in flows if f.stage == "classify" and dict(f.match).get("eth_dst") == port.mac]
    assert [a.describe() for a in sent[0].actions] == [f"output {port.port}"]


def test_the_tgw_announces_its_attachments_table_to_the_site_and_up_runs_it():
    topology = design()
    assert aws_announcements(topology, "dc1-vpn-a") == ("10.0.0.0/16", "10.1.0.0/16")
    assert aws_announcements(topology, "dc2-vpn") == ("10.0.0.0/16", "10.1.0.0/16")
    assert not_live(topology) is None
