"""A transit gateway's VPN attachments on the cards: the compiler's own reading of AWS's route
priority for what sites bring into a TGW route table, ECMP over equal VPN routes, and a site's
packets entering the TGW.

- For one prefix a table uses its static route; else a VPC attachment's propagated CIDR; else
  what BGP VPNs propagate: every tunnel up of a BGP VPN whose attachment the table propagates
  brings its site's prefixes (one AS hop, no MED: equal). Equal VPN routes share the flows by
  flow hash (``tgw_ecmp`` holds the picks) when the TGW has ``vpn_ecmp_support``; without it
  the first (the first propagation's first tunnel up) carries them all.
- A static route to a VPN attachment takes its connection's first tunnel up (AWS sends a static
  route's traffic over one tunnel, over the other when that one fails); none up: dropped.
- Into a tunnel: ``tgw_exit`` writes the tunnel's inner port MAC, ``tunnel_out`` sends the
  packet to the internet's card, which puts it out of that port (the AWS end's namespace puts
  it into the tunnel: ``nitro_switch.sites``).
- Out of a tunnel (the internet's card, by the inner port): the route table associated with the
  VPN attachment decides (``tgw_route``), with AZ 0, "from a site": ``tgw_exit`` hands the
  packet to the exit VPC through its attachment subnet in the AZ of the destination's subnet
  (the attachment's first subnet for an address in no subnet, and for a hairpin).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network

from vpclab.intent import model as m
from vpclab.layout.actions import DROP, FlowHash, Goto, Output, Resubmit, SetField, SetReg
from vpclab.layout.hybrid import INNER
from vpclab.layout.pipeline import MAX_HAIRPINS, ROUTER_MAC, TUNNEL_PORT, Reg, flow

from .matches import ETH_IP, prefix

FROM_SITE_AZ = 0  # Reg.AZ of a packet that came out of a tunnel (the AZs' ids start at 1)
TO_SITE = 110  # tunnel_out: above the instances' addresses (a site's prefix may overlap a VPC's)
ENTRY = 100


def vpn_ways(topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable) -> dict[IPv4Network, list]:
    """Per prefix the BGP VPNs that ``table`` propagates bring: the (propagation index,
    connection, tunnel) its flows take, one or, with ECMP, several."""
    offers: dict[IPv4Network, list[tuple[int, str, int]]] = {}
    for n, name in enumerate(table.propagations):
        attachment = tgw.attachment(name)
        if attachment.vpn is None or not attachment.available:
            continue
        connection = topology.hybrid.connection(attachment.vpn)
        if not connection.bgp:  # a static VPN propagates nothing: the table's static routes
            continue
        site = topology.hybrid.site(connection.customer_gateway)
        for tunnel in connection.tunnels_up:
            for destination in site.cidrs:
                offers.setdefault(destination, []).append((n, connection.name, tunnel))
    return {d: ways if tgw.vpn_ecmp_support else ways[:1] for d, ways in offers.items()}


def propagated(plan, tgw, table, routed: set, priority: Callable[[int], int]) -> list:
    """tgw_route (and tgw_ecmp): the VPN routes of ``table`` for the prefixes no static route
    nor VPC propagation took (``routed``)."""
    key = {Reg.TGW_TABLE: plan.tgw_table_id[(tgw.name, table.name)]}
    flows = []
    for destination, ways in vpn_ways(plan.topology, tgw, table).items():
        if destination in routed:
            continue
        match: dict = {**key, "eth_type": ETH_IP, "nw_dst": prefix(destination)}
        origin = f"{table.origin}.propagations[{ways[0][0]}]"
        if len(ways) == 1:
            _, name, tunnel = ways[0]
            onward = (SetReg(Reg.NEXT_HOP, plan.tunnel_hop[(name, tunnel)]), Goto("tgw_exit"))
            flows.append(flow("tgw_route", priority(destination.prefixlen), match, onward, origin))
            continue
        spread = (FlowHash(Reg.ECMP_PICK, len(ways)), Goto("tgw_ecmp"))
        flows.append(flow("tgw_route", priority(destination.prefixlen), match, spread, origin))
        for pick, (n, name, tunnel) in enumerate(ways):
            chosen = (SetReg(Reg.NEXT_HOP, plan.tunnel_hop[(name, tunnel)]), Goto("tgw_exit"))
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
    """tgw_route: a static route to a VPN attachment: its connection's first tunnel up."""
    assert attachment.vpn is not None
    connection = plan.topology.hybrid.connection(attachment.vpn)
    if not connection.tunnels_up or not attachment.available:
        return flow("tgw_route", priority, match, (DROP,), route.origin)
    hop = plan.tunnel_hop[(connection.name, connection.tunnels_up[0])]
    return flow("tgw_route", priority, match, (SetReg(Reg.NEXT_HOP, hop), Goto("tgw_exit")), route.origin)


def _inner_ports(plan, connection: m.VpnConnection) -> list:
    return [p for p in plan.edge_ports if p.kind == INNER and p.connection == connection.name]


def exits(plan, tgw: m.TransitGateway) -> list:
    """tgw_exit: into a tunnel of one of ``tgw``'s VPNs: its inner port's MAC, then tunnel_out."""
    flows = []
    for connection in plan.topology.hybrid.connections_to("transit_gateway", tgw.name):
        for port in _inner_ports(plan, connection):
            match = {Reg.NEXT_HOP: plan.tunnel_hop[(connection.name, port.tunnel)], "eth_type": ETH_IP}
            into = (SetField("eth_dst", port.mac), Goto("tunnel_out"))
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
    places += [(s.cidr, plan.topology.attachment_subnet(attachment, s.az) or first, 101) for s in vpc.subnets]
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
    """tunnel_out: a packet for a tunnel of a VPN to one of ``tgws``: over VXLAN to the
    internet's card, or, on that card, out of the tunnel's inner port."""
    flows = []
    for connection in plan.topology.hybrid.vpn_connections:
        if connection.transit_gateway not in tgws:
            continue
        for port in _inner_ports(plan, connection):
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


def entries(plan, connection: m.VpnConnection) -> list:
    """The internet's card, classify: what comes out of a tunnel of ``connection`` (a VPN to a
    TGW) enters the TGW by its attachment's route table; what a card sends to a tunnel's inner
    port goes out of it."""
    assert connection.transit_gateway is not None
    tgw = plan.topology.transit_gateway(connection.transit_gateway)
    attachment = tgw.vpn_attachment(connection.name)
    assert attachment is not None  # the loader attaches every VPN to its TGW
    table = tgw.association(attachment.name)
    flows = []
    for port in _inner_ports(plan, connection):
        at = {"in_port": port.port, "eth_type": ETH_IP}
        if table is None or not attachment.available:
            flows.append(flow("classify", ENTRY, at, (DROP,), attachment.origin))
        else:
            into = (
                SetField("eth_src", ROUTER_MAC),
                SetReg(Reg.TGW_TABLE, plan.tgw_table_id[(tgw.name, table.name)]),
                SetReg(Reg.AZ, FROM_SITE_AZ),
                Goto("tgw_route"),
            )
            flows.append(flow("classify", ENTRY, at, into, attachment.origin))
        sent = {"in_port": TUNNEL_PORT, "eth_dst": port.mac, "eth_type": ETH_IP}
        flows.append(flow("classify", ENTRY + 20, sent, (Output(port.port),), port.origin))
    return flows
