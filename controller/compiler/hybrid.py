"""Sites and virtual private gateways on the cards: the compiler's own reading of AWS's VGW.

A route to a VGW sends the packet over VXLAN to the internet's card, to the VGW's MAC with its
VPC's number in the VNI. There the VGW picks, per prefix it learned, one way to the site:
longest prefix first; then a static VPN's route over a BGP VPN's; then the shorter AS path,
the lower MED; then the first connection, then its first tunnel up (a VGW uses one tunnel at a
time). What it learned is what the design says the sites announce (a BGP VPN: the site's
prefixes; a static one: its static routes) over the tunnels that are up: the runtime state
``tunnels_down`` says which are not.

The way out is a tunnel's inner port: the AWS end's namespace puts what comes in on it into
that tunnel, and what comes out of the tunnel on the same port back to the card, where it
enters the VGW's VPC (its local route: to the instance's card). The sites' routers and the AWS
ends' outside addresses are the internet's, routed by address as its hosts are.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from vpclab.intent import model as m
from vpclab.layout.actions import DROP, ArpReply, DecTtl, Goto, Output, SetField, SetReg
from vpclab.layout.hybrid import DX, INNER, OUTSIDE
from vpclab.layout.pipeline import ROUTER_MAC, TUNNEL_PORT, Reg, TunnelKey, flow
from vpclab.layout.plan import INTERNET_ROUTER

from . import direct_connect, tgw_hybrid
from .matches import ETH_ARP, ETH_IP, carried, host, prefix
from .sampling import path_sample

ROUTE, NO_ROUTE, SPOOFED = 100, 1, 10
RANK = {"dx": 0, "static": 1, "bgp": 2}  # a VGW's rank of what it learns (AWS)


def to_vgw(plan, vpc: m.Vpc, gateway: str) -> tuple:
    """vpc_route: a route to VGW ``gateway``: to the internet's card, where the VGW decides."""
    return (
        SetField("eth_dst", plan.vgw_macs[gateway]),
        SetField("tun_id", plan.vni(vpc)),
        SetField("tun_dst", str(plan.underlay_ip(m.INTERNET_CARD))),
        Output(TUNNEL_PORT),
    )


def vgw_ways(topology: m.Topology, gateway: m.VpnGateway) -> dict[IPv4Network, tuple[str, int]]:
    """Per prefix ``gateway`` learned, the (connection, tunnel) it sends it by (a Direct
    Connect link: (link, 0))."""
    hybrid = topology.hybrid
    offers: dict[IPv4Network, list[tuple[tuple, str, int]]] = {}
    for order, (destination, link) in enumerate(direct_connect.vgw_offers(topology, gateway)):
        preferred = m.DX_PREFERENCES.index(link.preference)  # the site's community, then the AS path
        offers.setdefault(destination, []).append(((RANK["dx"], preferred, 1, 0, order, 0), link.name, 0))
    for order, connection in enumerate(hybrid.connections_to("vpn_gateway", gateway.name)):
        site = hybrid.site(connection.customer_gateway)
        path = 1 if connection.bgp else 0  # the site's AS: one hop
        for tunnel in range(1, connection.tunnels + 1):
            if tunnel in connection.tunnels_down:
                continue
            announced = (
                connection.announced(tunnel, site.cidrs) if connection.bgp else connection.static_routes
            )
            for destination in announced:
                rank = (RANK[connection.routing], path, 0, order, tunnel)
                offers.setdefault(destination, []).append((rank, connection.name, tunnel))
    return {destination: min(ways)[1:] for destination, ways in offers.items()}


def table_routes(topology: m.Topology, vpc: m.Vpc, table: m.RouteTable) -> list[m.Route]:
    """A VPC route table's routes: the file's, and one per prefix its VGW learned when it
    propagates that VGW's (``propagating_vgws``), except within the VPC (the local route wins)."""
    gateway = topology.hybrid.vpn_gateway_of(vpc.name)
    routes = [route for route in table.routes if carried(route)]
    if gateway is None or gateway.name not in table.propagating_vgws:
        return routes
    origin = f"{table.origin}.propagating_vgws[{table.propagating_vgws.index(gateway.name)}]"
    learned = [d for d in vgw_ways(topology, gateway) if not any(d.subnet_of(c) for c in vpc.cidrs)]
    return [
        *routes,
        *(m.Route(origin, d, vpn_gateway=gateway.name, propagated=True) for d in learned),
    ]


def edge_card(plan) -> list:
    """The internet card's flows for the sites and the VGWs: outside ports routed by address,
    each VGW's routes to its tunnels, and what comes out of a tunnel into the VGW's VPC."""
    flows = []
    routed = (DecTtl(), SetField("eth_src", ROUTER_MAC))
    inner = {(p.connection, p.tunnel): p for p in plan.edge_ports if p.kind in (INNER, DX)}
    for port in plan.edge_ports:
        at = {"in_port": port.port}
        if port.kind == OUTSIDE:
            flows.append(flow("classify", ROUTE, {**at, "eth_type": ETH_ARP}, (Goto("arp"),), port.origin))
            arp = {**at, "eth_type": ETH_ARP, "arp_op": 1, "arp_tpa": str(INTERNET_ROUTER)}
            flows.append(flow("arp", ROUTE, arp, (ArpReply(ROUTER_MAC, str(INTERNET_ROUTER)),), port.origin))
            for address in port.addresses:
                own = {**at, "eth_type": ETH_IP, "eth_src": port.mac, "nw_src": host(address)}
                flows.append(flow("classify", ROUTE, own, (Goto("internet_route"),), port.origin))
                to_it = {"eth_type": ETH_IP, "nw_dst": host(address)}
                out = routed + (SetField("eth_dst", port.mac), Output(port.port))
                flows.append(flow("internet_route", ROUTE, to_it, out, port.origin))
        elif port.kind == DX:
            link = plan.topology.hybrid.dx_connection(port.connection)
            if link.type == "private":
                flows += direct_connect.entries(plan, link)
        else:
            connection = plan.topology.hybrid.connection(port.connection)
            if connection.vpn_gateway is not None:
                vpc = plan.topology.vpc(plan.topology.hybrid.vpn_gateway(connection.vpn_gateway).vpc)
                into = (*path_sample(plan, port.path_origin), SetReg(Reg.DST_VPC, vpc.number), Goto("vgw_in"))
                flows.append(flow("classify", ROUTE, {**at, "eth_type": ETH_IP}, into, port.origin))
        flows.append(flow("classify", SPOOFED, at, (DROP,), port.origin))
    flows += tgw_hybrid.entries(plan)
    for gateway in plan.topology.hybrid.vpn_gateways:
        vpc = plan.topology.vpc(gateway.vpc)
        mac = plan.vgw_macs[gateway.name]
        arrived = {"in_port": TUNNEL_PORT, "tun_id": TunnelKey.match(VPC=plan.vni(vpc)), "eth_dst": mac}
        arriving = {**arrived, "eth_type": ETH_IP}  # above a gateway endpoint's (no MAC match)
        flows.append(flow("classify", ROUTE + 10, arriving, (Goto("vgw_route"),), gateway.origin))
        key = {"eth_dst": mac, "tun_id": TunnelKey.match(VPC=plan.vni(vpc)), "eth_type": ETH_IP}
        flows.append(flow("vgw_route", NO_ROUTE, key, (DROP,), gateway.origin))
        for destination, (name, tunnel) in vgw_ways(plan.topology, gateway).items():
            port = inner[(name, tunnel)]
            match = {**key, "nw_dst": prefix(destination)}
            sampled = path_sample(plan, port.path_origin)
            to_tunnel = (*sampled, SetField("eth_dst", port.mac), Output(port.port))
            flows.append(flow("vgw_route", ROUTE + destination.prefixlen, match, to_tunnel, port.origin))
        flows += _into_vpc(plan, vpc, gateway)
    return flows


def _into_vpc(plan, vpc: m.Vpc, gateway: m.VpnGateway) -> list:
    """vgw_in: from a tunnel into the VGW's VPC, by its local route: to the card of the
    instance (or PrivateLink address) that owns the destination; nothing else."""
    key = {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP}
    flows = [flow("vgw_in", NO_ROUTE, key, (DROP,), gateway.origin)]
    owners = [(i.ip, plan.instances[i.name].mac, i.server, i.origin) for i in vpc.instances if i.ip]
    owners += [(a.ip, a.mac, a.server, a.origin) for a in plan.link_addresses(vpc)]
    for address, mac, server, origin in owners:
        to_card = (
            SetField("eth_src", ROUTER_MAC),
            SetField("eth_dst", mac),
            SetField("tun_id", plan.vni(vpc)),
            SetField("tun_dst", str(plan.underlay_ip(server))),
            Output(TUNNEL_PORT),
        )
        flows.append(flow("vgw_in", ROUTE, {**key, "nw_dst": host(address)}, to_card, origin))
    return flows
