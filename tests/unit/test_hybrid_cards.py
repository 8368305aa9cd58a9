"""Sites on the cards (issue 32): the internet's card routes a VGW's prefixes into one tunnel
(AWS's VGW priorities), a VPC route table takes the VGW's propagated routes below its static
ones, and what leaves a tunnel enters the VGW's VPC; the live wiring's plan."""

import dataclasses
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from controller.compiler import compile_topology
from controller.compiler.routes import vpc_route_priority
from vpclab.intent import model as m
from vpclab.intent.loader import load_topology
from vpclab.layout.hybrid import INNER, OUTSIDE, tunnel_outside
from vpclab.layout.plan import Plan

DATA = Path(__file__).resolve().parents[1] / "data"
VPN_SITES = Path(__file__).resolve().parents[2] / "topologies" / "vpn-sites.yaml"


def design(path: Path = VPN_SITES):
    return load_topology(str(path))


def with_tunnels_down(topology, connection: str, down: tuple[int, ...]):
    hybrid = topology.hybrid
    connections = tuple(
        dataclasses.replace(c, tunnels_down=down) if c.name == connection else c
        for c in hybrid.vpn_connections
    )
    return dataclasses.replace(topology, hybrid=dataclasses.replace(hybrid, vpn_connections=connections))


def vgw_routes(topology) -> dict[str, str]:
    """On the internet's card: the VGW's prefix -> the edge port (card interface) it takes."""
    compiled = compile_topology(topology)
    by_port = {p.port: p.interface for p in compiled.plan.edge_ports}
    found = {}
    for f in compiled.flows[m.INTERNET_CARD]:
        if f.stage == "vgw_route" and "nw_dst" in dict(f.match):
            address, mask = dict(f.match)["nw_dst"]
            output = next(a for a in f.actions if a.describe().startswith("output"))
            found[str(IPv4Network(f"{address}/{mask}"))] = by_port[output.port]
    return found


def table_routes(topology) -> dict[str, tuple[int, str]]:
    """On srv1's card: app-rt's prefix -> (priority, origin) of the vpc_route flow that wins."""
    compiled = compile_topology(topology)
    found = {}
    for f in compiled.flows["srv1"]:
        if f.stage == "vpc_route" and "nw_dst" in dict(f.match) and "hairpins" not in dict(f.match):
            address, mask = dict(f.match)["nw_dst"]
            key = str(IPv4Network(f"{address}/{mask}"))
            found[key] = max(found.get(key, (0, "")), (f.priority, f.origin))
    return found


def test_the_vgw_sends_each_prefix_by_the_first_tunnel_up_of_its_connection():
    topology = design()
    assert vgw_routes(topology) == {"172.16.0.0/16": "vpn0t1", "192.168.0.0/16": "vpn1t1"}
    assert vgw_routes(with_tunnels_down(topology, "dc1-vpn", (1,))) == {
        "172.16.0.0/16": "vpn0t2",
        "192.168.0.0/16": "vpn1t1",
    }
    assert vgw_routes(with_tunnels_down(topology, "dc1-vpn", (1, 2))) == {"192.168.0.0/16": "vpn1t1"}


def test_a_static_vpn_route_beats_a_bgp_one_for_the_same_prefix_at_the_vgw():
    topology = design()
    hybrid = topology.hybrid
    dc1 = dataclasses.replace(hybrid.sites[0], cidrs=(IPv4Network("192.168.0.0/16"),))
    topology = dataclasses.replace(topology, hybrid=dataclasses.replace(hybrid, sites=(dc1, hybrid.sites[1])))
    assert vgw_routes(topology) == {"192.168.0.0/16": "vpn1t1"}  # dc2's static route, not dc1's BGP


def test_a_route_table_takes_the_vgws_routes_below_its_static_ones_and_loses_them_with_the_tunnels():
    topology = design()
    routes = table_routes(topology)
    assert routes["172.16.0.0/16"][1] == "vpcs[0].route_tables[0].propagating_vgws[0]"
    # dc2's static VPN route propagates too, below the table's own route to the VGW
    assert routes["192.168.0.0/16"][1] == "vpcs[0].route_tables[0].routes[0]"
    assert "172.16.0.0/16" not in table_routes(with_tunnels_down(topology, "dc1-vpn", (1, 2)))
    cidr = IPv4Network("10.9.0.0/16")
    static = m.Route("s", cidr, vpn_gateway="vgw-app")
    listed = m.Route("l", cidr, vpn_gateway="vgw-app", prefix_list="pl")
    propagated = m.Route("p", cidr, vpn_gateway="vgw-app", propagated=True)
    longer = m.Route("p", IPv4Network("10.9.1.0/24"), vpn_gateway="vgw-app", propagated=True)
    assert vpc_route_priority(static) > vpc_route_priority(listed) > vpc_route_priority(propagated)
    assert vpc_route_priority(longer) > vpc_route_priority(static) + 1  # its hairpin variant too


def test_what_leaves_a_tunnel_enters_the_vgws_vpc_by_its_local_route():
    topology = design()
    compiled = compile_topology(topology)
    inner = [p for p in compiled.plan.edge_ports if p.kind == INNER]
    assert [(p.connection, p.tunnel) for p in inner] == [
        ("dc1-vpn", 1),
        ("dc1-vpn", 2),
        ("dc2-vpn", 1),
        ("dc2-vpn", 2),
    ]
    flows = compiled.flows[m.INTERNET_CARD]
    app = topology.vpc("app")
    for port in inner:
        entering = [f for f in flows if f.stage == "classify" and dict(f.match).get("in_port") == port.port]
        described = sorted(a.describe() for f in entering for a in f.actions)
        assert described == ["drop", f"dst_vpc={app.number}", "goto vgw_in"]
    delivered = [f for f in flows if f.stage == "vgw_in" and "nw_dst" in dict(f.match)]
    assert [dict(f.match)["nw_dst"][0] for f in delivered] == [str(topology.instance("app1").ip)]


def test_the_sites_and_awss_ends_have_their_addresses_on_the_internets_card():
    topology = design()
    plan = Plan(topology)
    outside = {p.namespace: p.addresses for p in plan.edge_ports if p.kind == OUTSIDE}
    assert outside == {
        "site-dc1": (IPv4Address("198.51.100.50"),),
        "site-dc2": (IPv4Address("198.51.100.60"),),
        "aws-dc1-vpn": (IPv4Address("192.0.2.193"), IPv4Address("192.0.2.194")),
        "aws-dc2-vpn": (IPv4Address("192.0.2.195"), IPv4Address("192.0.2.196")),
    }
    assert tunnel_outside(topology, "dc2-vpn", 2) == IPv4Address("192.0.2.196")
    assert len({p.port for p in plan.edge_ports}) == len(plan.edge_ports) == 8
    assert len({p.mac for p in plan.edge_ports}) == 8
    assert all(len(p.interface) <= 15 for p in plan.edge_ports)


def test_awss_vpn_endpoints_are_nobody_elses_on_the_internet():
    from vpc_fixtures import problems

    text = VPN_SITES.read_text()
    site = problems(text.replace("public_ip: 198.51.100.60", "public_ip: 192.0.2.200"))
    line = text.splitlines().index("    public_ip: 198.51.100.60") + 1
    wanted = (
        f":{line}: on_premises[1].public_ip: 192.0.2.200 is AWS's: vpclab's VPN tunnels take 192.0.2.192/26"
    )
    assert any(wanted in line for line in site), site
    host = problems(text + "internet:\n  hosts:\n    - {name: far, ip: 192.0.2.250}\n")
    assert any("internet.hosts[0].ip: 192.0.2.250 is AWS's" in line for line in host), host


def test_a_vgw_without_connections_learns_nothing_and_drops_at_the_vgw():
    import yaml

    data = yaml.safe_load(VPN_SITES.read_text())
    for key in ("on_premises", "vpn_connections"):
        del data[key]
    topology = load_topology("alone.yaml", yaml.safe_dump(data))
    assert topology.has_internet  # the VGW sits on the internet's card
    flows = compile_topology(topology).flows[m.INTERNET_CARD]
    vgw = [f for f in flows if f.stage == "vgw_route"]
    assert [(f.priority, f.origin, [a.describe() for a in f.actions]) for f in vgw] == [
        (1, "vpn_gateways[0]", ["drop"])
    ]
    assert vgw_routes(topology) == {}


def test_a_tunnel_goes_down_and_up_as_a_runtime_change_and_the_cards_follow():
    import pytest
    import yaml

    from vpclab.intent.changes import ChangeError, Intent

    intent = Intent(str(VPN_SITES), yaml.safe_load(VPN_SITES.read_text()))
    down = intent.apply("tunnel-state", connection="dc1-vpn", tunnel=1, up=False, reason="BGP session Idle")
    assert down.hybrid.connection("dc1-vpn").tunnels_down == (1,)
    assert intent.summary == "dc1-vpn tunnel 1 is down (BGP session Idle)"
    assert vgw_routes(down)["172.16.0.0/16"] == "vpn0t2"
    intent.apply("tunnel-state", connection="dc1-vpn", tunnel=1, up=False)
    assert intent.summary == "dc1-vpn tunnel 1 is already down"
    up = intent.apply("tunnel-state", connection="dc1-vpn", tunnel=1, up=True)
    assert (
        up.hybrid.connection("dc1-vpn").tunnels_down == ()
        and "tunnels_down" not in intent.data["vpn_connections"][0]
    )
    with pytest.raises(ChangeError, match="dc1-vpn has tunnels 1 to 2, not 3"):
        intent.apply("tunnel-state", connection="dc1-vpn", tunnel=3, up=False)
    with pytest.raises(ChangeError, match="no VPN connection 'nope'"):
        intent.apply("tunnel-state", connection="nope", tunnel=1, up=False)


def test_dead_peer_detection_sends_valid_echoes_and_knows_its_replies():
    import socket
    import struct

    from agents.icmp import checksum, echo_request
    from nitro_switch.tunnel_watch import reply_from

    request = echo_request(0x1234, 7, b"vpclab-dpd")
    assert checksum(request) == 0 and request[0] == 8
    answer = bytes([0]) + request[1:2] + b"\0\0" + request[4:]
    answer = answer[:2] + struct.pack("!H", checksum(answer)) + answer[4:]
    header = bytes([0x45, 0, 0, 20 + len(answer)]) + bytes(8) + socket.inet_aton("169.254.10.14") + bytes(4)
    assert reply_from(header + answer, 0x1234) == "169.254.10.14"
    assert reply_from(header + answer, 0x4321) is None  # someone else's
    assert reply_from(header + request, 0x1234) is None  # a request, not a reply


def test_what_awss_end_learned_over_bgp_replaces_what_the_site_is_designed_to_announce():
    import pytest
    import yaml

    from vpclab.intent.changes import ChangeError, Intent
    from vpclab.oracle.trace import trace

    intent = Intent(str(VPN_SITES), yaml.safe_load(VPN_SITES.read_text()))
    both = intent.apply(
        "bgp-learned", connection="dc1-vpn", tunnel=1, prefixes=["172.16.0.0/16", "10.99.0.0/16"]
    )
    assert intent.summary == "dc1-vpn tunnel 1: AWS learned 172.16.0.0/16, 10.99.0.0/16"
    assert vgw_routes(both) == {
        "172.16.0.0/16": "vpn0t1",
        "10.99.0.0/16": "vpn0t1",
        "192.168.0.0/16": "vpn1t1",
    }
    assert table_routes(both)["10.99.0.0/16"][1] == "vpcs[0].route_tables[0].propagating_vgws[0]"
    gone = intent.apply("bgp-learned", connection="dc1-vpn", tunnel=1, prefixes=[])
    assert intent.summary == "dc1-vpn tunnel 1: AWS learned nothing"
    assert vgw_routes(gone)["172.16.0.0/16"] == "vpn0t2"  # tunnel 2's session still holds it
    intent.apply("bgp-learned", connection="dc1-vpn", tunnel=2, prefixes=[])
    none = intent.apply("bgp-learned", connection="dc1-vpn", tunnel=2, prefixes=[])
    assert intent.summary == "dc1-vpn tunnel 2: AWS already holds nothing"
    assert "172.16.0.0/16" not in vgw_routes(none)
    lost = trace(none, none.endpoint("app1"), none.endpoint("erp1").ip, 1)
    assert (lost.accepted, lost.reason) == (False, "no-route")  # no route left in app-rt: trace agrees
    with pytest.raises(ChangeError, match="dc2-vpn is a static VPN"):
        intent.apply("bgp-learned", connection="dc2-vpn", tunnel=1, prefixes=[])
