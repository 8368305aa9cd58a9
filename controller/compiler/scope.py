"""What one Nitro card must know: its own VPCs and what their routes can reach (like OVN's
local datapaths, which a chassis extends over patch ports).

A card sends and receives only for its local instances, so it needs the source-side checks
and the receiving NACLs of its own VPCs; the route tables of every VPC a packet may be routed
through (its own, and those a transit gateway its VPCs route to may hand the packet to, which
may route it on: a hairpin); those TGWs; the peerings its own VPCs route over; and the delivery
(address lookup, tunnel) of every VPC a packet can end in; for a failover route, every one of
its paths. Everything else stays off the card. The internet's card is where sites' packets
come out of their VPN tunnels: it holds the TGWs those VPNs attach to, and what they reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.intent import model as m

from .tgw_hybrid import entering_tgws


@dataclass(frozen=True)
class Scope:
    sources: frozenset[str]  # VPCs with an instance (NAT gateway, endpoint, NLB node) on the card
    routed: frozenset[str]  # VPCs whose route tables a packet from the card may meet
    delivered: frozenset[str]  # VPCs a packet from the card may be delivered in
    peerings: frozenset[str]  # peerings the source VPCs route over
    transit_gateways: frozenset[str]  # TGWs reached from the routed VPCs


def card_scope(topology: m.Topology, server: str) -> Scope:
    """The part of the design the card of ``server`` needs."""
    sources = {instance.vpc for instance in topology.instances if instance.server == server}
    sources |= {nat.vpc for nat in topology.nat_gateways if nat.server == server}
    for interface in topology.endpoint_interfaces:  # it receives and sends in both VPCs
        if interface.server == server:
            sources |= {interface.vpc, topology.endpoint_service(interface.service).vpc}
    for balancer in topology.load_balancers:  # a node sends the health checks, and on
        if any(node.server == server for node in balancer.nodes):
            sources.add(balancer.vpc)
    routed, frontier = set(sources), list(sources)
    peers: set[str] = set()
    peerings: set[str] = set()
    tgws: set[str] = set()

    def through(name: str) -> None:
        for tgw in reachable_tgws(topology, name):  # over its TGW peerings too
            tgws.add(tgw.name)
            for attachment in tgw.vpc_attachments:
                if attachment.vpc not in routed:
                    routed.add(attachment.vpc)
                    frontier.append(attachment.vpc)

    if server == m.INTERNET_CARD:  # sites' packets enter the TGWs their VPNs and DX links reach
        for tgw, _ in entering_tgws(topology):
            if tgw.name not in tgws:
                through(tgw.name)
    while frontier:
        vpc = topology.vpc(frontier.pop())
        # every path a failover route may take: the route manager probes them all
        for path in (path for table in vpc.route_tables for route in table.routes for path in route.paths):
            if path.kind == "peering" and vpc.name in sources:  # a peering is never transitive
                peering = topology.peering(path.name)
                peerings.add(peering.name)
                if peering.active:
                    peers.add(peering.other(vpc.name))
            if path.kind == "transit_gateway" and path.name not in tgws:
                through(path.name)
    return Scope(
        frozenset(sources), frozenset(routed), frozenset(routed | peers), frozenset(peerings), frozenset(tgws)
    )


def reachable_tgws(topology: m.Topology, name: str) -> list[m.TransitGateway]:
    """The TGW and those its peering attachments lead to (a packet crosses one peering)."""
    tgw = topology.transit_gateway(name)
    return [tgw, *(topology.across(a)[0] for a in tgw.attachments if a.peering is not None)]
