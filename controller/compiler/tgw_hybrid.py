"""A transit gateway's VPN and Direct Connect gateway attachments on the cards: the compiler's
own reading of AWS's route priority for what sites bring into a TGW route table, ECMP over
equal VPN routes, and a site's packets entering the TGW.

- For one prefix a table uses its static route; else a VPC attachment's propagated CIDR; else
  what the sites bring: a Direct Connect gateway's attachment, over each transit link up, the
  site's prefixes; below those, a BGP VPN's attachment, over each tunnel up, its site's
  prefixes (one AS hop, no MED: equal). Equal VPN routes share the flows by flow hash
  (``tgw_ecmp`` holds the picks) when the TGW has ``vpn_ecmp_support``; otherwise, and among
  Direct Connect links, the first (the first propagation's first tunnel or link up) carries them.
- A static route to a VPN attachment takes its connection's first tunnel up (AWS sends a static
  route's traffic over one tunnel, over the other when that one fails); to a Direct Connect
  gateway's, its first transit link up; none up: dropped.
- Into a tunnel or link: ``tgw_exit`` writes its port's MAC (the tunnel's inner port, the link's
  port), ``tunnel_out`` sends the packet to the internet's card, which puts it out of that port
  (the AWS end's namespace puts it into the tunnel or onto the link: ``nitro_switch.sites``).
- Out of a tunnel or link (the internet's card, by its port): the route table associated with
  the attachment decides (``tgw_route``), with AZ 0, "from a site": ``tgw_exit`` hands the
  packet to the exit VPC through its attachment subnet in the AZ of the destination's subnet
  (the attachment's first subnet for an address in no subnet, and for a hairpin).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network

from vpclab.intent import model as m
from vpclab.layout.actions import DROP, FlowHash, Goto, Output, Resubmit, SetField, SetReg
from vpclab.layout.hybrid import DX, INNER
from vpclab.layout.pipeline import FROM_SITE_AZ, MAX_HAIRPINS, ROUTER_MAC, TUNNEL_PORT, Reg, flow

from .direct_connect import links_up, transit_gateway_of
from .matches import ETH_IP, prefix
from .sampling import path_sample

TO_SITE = 110  # tunnel_out: above the instances' addresses (a site's prefix may overlap a VPC's)
ENTRY = 100
DX_FIRST, VPN_LAST = 0, 1  # a TGW table's rank of a site's routes (AWS: Direct Connect, then VPN)


def ways_of(topology: m.Topology, attachment: m.Attachment) -> list[tuple[str, int]]:
    """The ways to its sites a VPN or DX gateway attachment has up, in order: a VPN's tunnels
    (connection, tunnel), a DX gateway's transit links (link, 0)."""
    if attachment.vpn is not None:
        connection = topology.hybrid.connection(attachment.vpn)
        return [(connection.name, n) for n in connection.tunnels_up]
    assert attachment.direct_connect_gateway is not None
    return [(link.name, 0) for link in links_up(topology, attachment.direct_connect_gateway, "transit")]


def _offers(topology: m.Topology, attachment: m.Attachment) -> list[tuple[IPv4Network, tuple, str, int]]:
    """What a hybrid attachment propagates: (prefix, rank, connection or link, tunnel); a
    Direct Connect link's rank holds the preference its site's community asks for."""
    hybrid = topology.hybrid
    if attachment.vpn is not None:
        connection = hybrid.connection(attachment.vpn)
        if not connection.bgp:  # a static VPN propagates nothing: the table's static routes
            return []
        cidrs = hybrid.site(connection.customer_gateway).cidrs
        return [
            (d, (VPN_LAST, 0), name, n)
            for name, n in ways_of(topology, attachment)
            for d in connection.announced(n, cidrs)
        ]
    links = [hybrid.dx_connection(name) for name, _ in ways_of(topology, attachment)]
    return [
        (d, (DX_FIRST, m.DX_PREFERENCES.index(link.preference)), link.name, 0)
        for link in links
        for d in link.announced(hybrid.site(link.site).cidrs)
    ]


def site_ways(topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable) -> dict[IPv4Network, list]:
    """Per prefix the sites bring into ``table`` (its propagations): the (propagation index,
    connection or link, tunnel) its flows take, one or, with ECMP over VPN routes, several."""
    offers: dict[IPv4Network, list[tuple[tuple, int, str, int]]] = {}
    for n, name in enumerate(table.propagations):
        attachment = tgw.attachment(name)
        if not attachment.hybrid or not attachment.available:
            continue
        for destination, rank, way, tunnel in _offers(topology, attachment):
            offers.setdefault(destination, []).append((rank, n, way, tunnel))
    found = {}
    for destination, listed in offers.items():
        best = min(rank for rank, *_ in listed)
        ways = [(n, way, tunnel) for rank, n, way, tunnel in listed if rank == best]
        found[destination] = ways if best[0] == VPN_LAST and tgw.vpn_ecmp_support else ways[:1]
    return found


def propagated(plan, tgw, table, routed: set, priority: Callable[[int], int]) -> list:
    """tgw_route (and tgw_ecmp): the sites' routes of ``table`` for the prefixes no static
    route nor VPC propagation took (``routed``)."""
    key = {Reg.TGW_TABLE: plan.tgw_table_id[(tgw.name, table.name)]}
    flows = []
    for destination, ways in site_ways(plan.topology, tgw, table).items():
        if destination in routed:
            continue
        match: dict = {**key, "eth_type": ETH_IP, "nw_dst": prefix(destination)}
        origin = f"{table.origin}.propagations[{ways[0][0]}]"
        if len(ways) == 1:
            _, name, tunnel = ways[0]
            onward = (SetReg(Reg.NEXT_HOP, plan.site_hop[(name, tunnel)]), Goto("tgw_exit"))
            flows.append(flow("tgw_route", priority(destination.prefixlen), match, onward, origin))
            continue
        spread = (FlowHash(Reg.ECMP_PICK, len(ways)), Goto("tgw_ecmp"))
        flows.append(flow("tgw_route", priority(destination.prefixlen), match, spread, origin))
        for pick, (n, name, tunnel) in enumerate(ways):
            chosen = (SetReg(Reg.NEXT_HOP, plan.site_hop[(name, tunnel)]), Goto("tgw_exit"))
            flows.append(
                flow(
                    "tgw_ecmp",
                    priority(destination.prefixlen),
                    {**match, Reg.ECMP_PICK: pick},
                    chosen,
                    f"{table.origin}.propagations[{n}]",
                )
            )
    return flows


def static_route(plan, attachment: m.Attachment, route: m.TgwRoute, match: dict, priority: int):
    """tgw_route: a static route to a VPN or DX gateway attachment: its first way up."""
    ways = ways_of(plan.topology, attachment)
    if not ways or not attachment.available:
        return flow("tgw_route", priority, match, (DROP,), route.origin)
    onward = (SetReg(Reg.NEXT_HOP, plan.site_hop[ways[0]]), Goto("tgw_exit"))
    return flow("tgw_route", priority, match, onward, route.origin)


def ports(plan, tgw: m.TransitGateway) -> list:
    """The internet card's ports of ``tgw``'s ways to the sites: its VPNs' tunnels' inner ports,
    its DX gateways' transit links' ports."""
    found = []
    for attachment in tgw.attachments:
        if attachment.vpn is not None:
            found += [p for p in plan.edge_ports if p.kind == INNER and p.connection == attachment.vpn]
        elif attachment.direct_connect_gateway is not None:
            links = {
                c.name
                for c in plan.topology.hybrid.dx_connections_to(attachment.direct_connect_gateway, "transit")
            }
            found += [p for p in plan.edge_ports if p.kind == DX and p.connection in links]
    return found


def exits(plan, tgw: m.TransitGateway) -> list:
    """tgw_exit: into a tunnel or link of ``tgw``: its port's MAC, then tunnel_out."""
    flows = []
    for port in ports(plan, tgw):
        match = {Reg.NEXT_HOP: plan.site_hop[(port.connection, port.tunnel)], "eth_type": ETH_IP}
        into = (*path_sample(plan, port.path_origin), SetField("eth_dst", port.mac), Goto("tunnel_out"))
        flows.append(flow("tgw_exit", 100, match, into, port.origin))
    return flows


def site_exits(plan, attachment: m.Attachment, vpc: m.Vpc) -> list:
    """tgw_exit, for a packet from a site (AZ 0): through the attachment subnet in the AZ of
    the destination's subnet, else the first; an address outside the VPC: a hairpin there."""
    attachment_id = plan.attachment_id[attachment.name]
    first = vpc.subnet(attachment.subnets[0])
    key = {Reg.NEXT_HOP: attachment_id, Reg.AZ: FROM_SITE_AZ, "eth_type": ETH_IP}
    flows = []
    for hairpins in range(MAX_HAIRPINS + 1):
        onward = (
            SetReg(Reg.SRC_SUBNET, plan.subnet_id[(vpc.name, first.name)]),
            SetReg(Reg.ROUTE_TABLE, plan.route_table_id[(vpc.name, first.route_table)]),
            SetReg(Reg.AZ, plan.az_id[first.az]),
            SetReg(Reg.SRC_VPC, vpc.number),
            SetReg(Reg.HAIRPINS, hairpins + 1),
            Resubmit("vpc_route"),
        )
        flows.append(flow("tgw_exit", 50, {**key, Reg.HAIRPINS: hairpins}, onward, attachment.origin))
    places = [(cidr, first, 100) for cidr in vpc.cidrs]
    places += [(s.ipv4, plan.topology.attachment_subnet(attachment, s.az) or first, 101) for s in vpc.subnets]
    for destination, exit_subnet, priority in places:
        delivered = (
            SetReg(Reg.DST_VPC, vpc.number),
            SetReg(Reg.EXIT_SUBNET, plan.attachment_subnet_id[(vpc.name, exit_subnet.name)]),
            Goto("deliver_lookup"),
        )
        match = {**key, "nw_dst": prefix(destination)}
        flows.append(flow("tgw_exit", priority, match, delivered, attachment.origin))
    return flows


def tunnels_to_sites(plan, server: str, tgws) -> list:
    """tunnel_out: a packet for a tunnel or link of one of ``tgws``: over VXLAN to the
    internet's card, or, on that card, out of the port."""
    flows = []
    seen = set()
    for tgw in (t for t in plan.topology.transit_gateways if t.name in tgws):
        for port in ports(plan, tgw):
            if port.port in seen:  # a DX gateway on two TGWs: one link
                continue
            seen.add(port.port)
            match = {"eth_dst": port.mac, "eth_type": ETH_IP}
            there = (
                (Output(port.port),)
                if server == m.INTERNET_CARD
                else (
                    SetField("tun_id", 0),
                    SetField("tun_dst", str(plan.underlay_ip(m.INTERNET_CARD))),
                    Output(TUNNEL_PORT),
                )
            )
            flows.append(flow("tunnel_out", TO_SITE, match, there, port.origin))
    return flows


def entering_tgws(topology: m.Topology) -> list[tuple[m.TransitGateway, m.Attachment]]:
    """The TGWs sites' packets enter, each with the attachment they enter by: a VPN's to its
    TGW; a DX gateway's with transit links to its first associated TGW."""
    found = []
    for connection in topology.hybrid.vpn_connections:
        if connection.transit_gateway is not None:
            tgw = topology.transit_gateway(connection.transit_gateway)
            attachment = tgw.vpn_attachment(connection.name)
            assert attachment is not None  # the loader attaches every VPN to its TGW
            found.append((tgw, attachment))
    for gateway in topology.hybrid.dx_gateways:
        reached = transit_gateway_of(topology, gateway)
        dx = reached.dx_attachment(gateway.name) if reached is not None else None
        if reached and dx is not None and topology.hybrid.dx_connections_to(gateway.name, "transit"):
            found.append((reached, dx))
    return found


def entries(plan) -> list:
    """The internet's card, classify: what comes out of a tunnel or link of a TGW's attachment
    enters the TGW by that attachment's route table; what a card sends to a tunnel's or link's
    port goes out of it."""
    flows = []
    for tgw, attachment in entering_tgws(plan.topology):
        table = tgw.association(attachment.name)
        mine = [p for p in ports(plan, tgw) if _belongs(plan.topology, p, attachment)]
        for port in mine:
            at = {"in_port": port.port, "eth_type": ETH_IP}
            if table is None or not attachment.available:
                flows.append(flow("classify", ENTRY, at, (DROP,), attachment.origin))
            else:
                into = (
                    *path_sample(plan, port.path_origin),
                    SetField("eth_src", ROUTER_MAC),
                    SetReg(Reg.TGW_TABLE, plan.tgw_table_id[(tgw.name, table.name)]),
                    SetReg(Reg.AZ, FROM_SITE_AZ),
                    Goto("tgw_route"),
                )
                flows.append(flow("classify", ENTRY, at, into, attachment.origin))
            sent = {"in_port": TUNNEL_PORT, "eth_dst": port.mac, "eth_type": ETH_IP}
            flows.append(flow("classify", ENTRY + 20, sent, (Output(port.port),), port.origin))
    return flows


def _belongs(topology: m.Topology, port, attachment: m.Attachment) -> bool:
    if attachment.vpn is not None:
        return port.kind == INNER and port.connection == attachment.vpn
    return (
        port.kind == DX
        and topology.hybrid.dx_connection(port.connection).gateway == attachment.direct_connect_gateway
    )
