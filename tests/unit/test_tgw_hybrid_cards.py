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
from vpclab.layout.hybrid import DX, INNER, aws_announcements
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
    hops = {number: key for key, number in plan.site_hop.items()}
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


HYBRID = Path(__file__).resolve().parents[2] / "topologies" / "hybrid.yaml"


def with_link(topology, down: bool):
    links = tuple(dataclasses.replace(link, down=down) for link in topology.hybrid.dx_connections)
    return dataclasses.replace(topology, hybrid=dataclasses.replace(topology.hybrid, dx_connections=links))


def test_a_tgw_table_ranks_direct_connect_above_the_vpn_and_falls_back_when_the_link_is_down():
    topology = load_topology(str(HYBRID))
    assert tgw_ways(topology)["172.16.0.0/16"] == [("dx1", 0)]
    assert tgw_ways(with_link(topology, down=True))["172.16.0.0/16"] == [("dc1-vpn", 1), ("dc1-vpn", 2)]
    compiled = compile_topology(topology)
    port = next(p for p in compiled.plan.edge_ports if p.kind == DX)
    assert (port.connection, port.interface, port.describe()) == ("dx1", "dx0", "Direct Connect dx1")
    entry = [
        f
        for f in compiled.flows[m.INTERNET_CARD]
        if f.stage == "classify" and dict(f.match).get("in_port") == port.port and f.priority == 100
    ]
    onprem = compiled.plan.tgw_table_id[("core", "onprem")]
    assert [a.describe() for a in entry[0].actions][1:] == [f"tgw_table={onprem}", "az=0", "goto tgw_route"]
    assert entry[0].origin == "transit_gateways[0].attachments[3]"  # dx-att


def private_vif_design():
    """vpn-sites.yaml with dc1 on a private VIF to vgw-app too."""
    import yaml

    data = yaml.safe_load((VPN_TGW.parent / "vpn-sites.yaml").read_text())
    data["direct_connect_gateways"] = [
        {"name": "dxgw", "asn": 64600, "associations": [{"vpn_gateway": "vgw-app"}]}
    ]
    data["direct_connect_connections"] = [
        {"name": "dx1", "site": "dc1", "gateway": "dxgw", "type": "private"}
    ]
    return load_topology("private.yaml", yaml.safe_dump(data))


def test_a_vgw_prefers_a_private_vif_and_what_comes_over_it_enters_the_vgws_vpc():
    topology = private_vif_design()
    compiled = compile_topology(topology)
    plan = compiled.plan
    by_port = {p.port: p.describe() for p in plan.edge_ports}
    chosen = {}
    for f in compiled.flows[m.INTERNET_CARD]:
        if f.stage == "vgw_route" and "nw_dst" in dict(f.match):
            output = next(a for a in f.actions if a.describe().startswith("output"))
            chosen[dict(f.match)["nw_dst"][0]] = by_port[output.port]
    assert chosen == {"172.16.0.0": "Direct Connect dx1", "192.168.0.0": "VPN dc2-vpn tunnel 1"}
    port = next(p for p in plan.edge_ports if p.kind == DX)
    entering = [
        (dict(f.match).get("nw_dst"), [a.describe() for a in f.actions])
        for f in compiled.flows[m.INTERNET_CARD]
        if f.stage == "classify" and dict(f.match).get("in_port") == port.port
    ]
    app = topology.vpc("app")
    assert entering == [
        (("10.1.0.0", "255.255.0.0"), ["eth_src=02:00:00:00:00:01", f"dst_vpc={app.number}", "goto vgw_in"]),
        (None, ["drop"]),
    ]
    trace_says = trace(topology, topology.endpoint("app1"), topology.endpoint("erp1").ip, 1)
    assert "via Direct Connect dx1" in " ".join(h.detail for h in trace_says.hops)  # trace agrees
    down = with_link(topology, down=True)
    assert "via VPN dc1-vpn tunnel 1" in " ".join(
        h.detail for h in trace(down, down.endpoint("app1"), down.endpoint("erp1").ip, 1).hops
    )


def test_a_links_state_is_a_runtime_change():
    import pytest
    import yaml

    from vpclab.intent.changes import ChangeError, Intent

    intent = Intent(str(HYBRID), yaml.safe_load(HYBRID.read_text()))
    down = intent.apply("dx-state", connection="dx1", up=False, reason="BGP session Active")
    assert (
        down.hybrid.dx_connection("dx1").down
        and intent.summary == "Direct Connect dx1 is down (BGP session Active)"
    )
    assert tgw_ways(down)["172.16.0.0/16"] == [("dc1-vpn", 1), ("dc1-vpn", 2)]
    intent.apply("dx-state", connection="dx1", up=False)
    assert intent.summary == "Direct Connect dx1 is already down"
    up = intent.apply("dx-state", connection="dx1", up=True)
    assert (
        not up.hybrid.dx_connection("dx1").down and "down" not in intent.data["direct_connect_connections"][0]
    )
    with pytest.raises(ChangeError, match="no Direct Connect connection 'nope'"):
        intent.apply("dx-state", connection="nope", up=False)


def test_a_sites_dx_community_outranks_the_order_of_the_links_at_aws():
    """Batfish's test-direct-connect-private-vif: two sites announce 10.20.0.0/16 over private
    VIFs to one VGW, tagged 7224:7300 (high) and 7224:7100 (low); AWS takes the high one,
    whichever link comes first."""
    import yaml

    from vpclab.aws_import import import_directory, render

    snapshot = (
        Path(__file__).resolve().parents[1] / "data" / "aws-configs" / "test-direct-connect-private-vif"
    )
    data = yaml.safe_load(render(import_directory(str(snapshot)), "dx"))
    assert [c["preference"] for c in data["direct_connect_connections"]] == ["high", "low"]
    data["direct_connect_connections"].reverse()  # the low one first
    topology = load_topology("dx.yaml", yaml.safe_dump(data, sort_keys=False))
    compiled = compile_topology(topology)
    by_port = {p.port: p.describe() for p in compiled.plan.edge_ports}
    chosen = [
        by_port[next(a for a in f.actions if a.describe().startswith("output")).port]
        for f in compiled.flows[m.INTERNET_CARD]
        if f.stage == "vgw_route" and "nw_dst" in dict(f.match)
    ]
    assert chosen == ["Direct Connect dxvif-priv01"]  # onprem-high's
    verdict = trace(topology, topology.endpoint("i-priv01"), topology.endpoint("onprem-high").ip, 1)
    assert verdict.accepted and "via Direct Connect dxvif-priv01" in " ".join(h.detail for h in verdict.hops)


def test_the_watch_gives_a_tgws_vpn_ends_what_its_table_holds_when_the_design_changes():
    """TunnelWatch.follow_design, with the controller's API and bgpd stood in for: a
    propagation turned off takes app's CIDR out of what AWS's ends of dc1's VPNs announce."""
    import copy

    import yaml

    from nitro_switch.tunnel_watch import TunnelWatch
    from vpclab.layout.hybrid import aws_speakers
    from vpclab.layout.names import Names

    data = yaml.safe_load(VPN_TGW.read_text())
    topology = design()

    class Api:
        def call(self, command):
            assert command == "intent"
            return {"data": copy.deepcopy(data)}

    class Daemon:
        def __init__(self, speaker):
            self.speaker, self.given = speaker, []

        def reconfigure(self, speaker):
            self.speaker = speaker
            self.given.append(speaker.announce)

    daemons = {s.name: Daemon(s) for s in aws_speakers(topology, Names("vpn-tgw"), 3)}

    class Sites:
        def __init__(self):
            self.topology = topology

        def daemon(self, name):
            return daemons.get(name)

    watch = TunnelWatch.__new__(TunnelWatch)
    watch.sites, watch.client, watch.design, watch.announced = Sites(), Api(), None, []
    watch.follow_design()
    assert all(not d.given for d in daemons.values())  # as designed: nothing to change
    data["transit_gateways"][0]["route_tables"][1]["propagations"].remove("app-att")
    watch.follow_design()
    assert daemons["aws-dc1-vpn-a"].given == [("10.0.0.0/16",)]
    assert daemons["aws-dc1-vpn-b"].given == [("10.0.0.0/16",)]
    assert not daemons.get("aws-dc2-vpn")  # a static VPN speaks no BGP
    watch.follow_design()  # the same design again: nothing more
    assert len(watch.announced) == 2
