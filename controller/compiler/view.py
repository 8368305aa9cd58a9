"""The compiler's own reading of the model where a flow needs more than one object.

Written apart from the oracle (``vpclab.oracle``) on purpose: if both read AWS's rules the
same wrong way, the differential tests could not see it.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Optional

from vpclab.intent import model as m


def longest_prefix_route(table: m.RouteTable, address: IPv4Address | IPv6Address) -> Optional[m.Route]:
    best: Optional[m.Route] = None
    for route in table.routes:
        if address in route.destination and (
            best is None or route.destination.prefixlen > best.destination.prefixlen
        ):
            best = route
    return best


def addresses_of(end) -> tuple:
    """An instance's addresses, either family (an endpoint interface's: its one IPv4 address)."""
    return getattr(end, "addresses", None) or (end.ip,)


def address_of(end, version: int):
    """An instance's (or an endpoint interface's) address of one family; None: it has none."""
    return next((address for address in addresses_of(end) if address.version == version), None)


def reaches_without_tgw(
    topology: m.Topology, sender: m.Instance, receiver: m.Instance, version: int = 4
) -> bool:
    """Does ``sender``'s route table take a packet (of IP ``version``) to ``receiver`` in its
    own VPC or over an active peering into the receiver's VPC? (the only paths on which SG
    references match)"""
    if sender.vpc == receiver.vpc:
        return True  # the local route covers the whole VPC; no route may be more specific
    address = address_of(receiver, version)
    if address is None:
        return False
    vpc = topology.vpc(sender.vpc)
    table = vpc.route_table(vpc.subnet(sender.subnet).route_table)
    return peered_vpc(topology, sender.vpc, table, address) == receiver.vpc


def peered_vpc(
    topology: m.Topology, vpc: str, table: m.RouteTable, address: IPv4Address | IPv6Address
) -> Optional[str]:
    """The VPC that ``vpc``'s route ``table`` sends ``address`` to over an active peering."""
    route = longest_prefix_route(table, address)
    if route is None or route.peering is None:
        return None
    peering = topology.peering(route.peering)
    return None if not peering.active else peering.other(vpc)


def reaches_over_referencing_tgw(
    topology: m.Topology, sender: m.Instance, receiver: m.Instance, version: int = 4
) -> bool:
    """Does ``sender``'s route to ``receiver`` cross one TGW straight into the receiver's VPC,
    with security-group referencing support on the TGW and on both attachments? (AWS 2024:
    then an inbound rule of the receiver may name the sender's SGs)"""
    address = address_of(receiver, version)
    if address is None:
        return False
    vpc = topology.vpc(sender.vpc)
    route = longest_prefix_route(vpc.route_table(vpc.subnet(sender.subnet).route_table), address)
    if route is None or route.transit_gateway is None:
        return False
    tgw = topology.transit_gateway(route.transit_gateway)
    entry, exit_ = tgw.attachment_of(sender.vpc), tgw.attachment_of(receiver.vpc)
    if not (tgw.security_group_referencing_support and entry and exit_):
        return False
    if not (entry.security_group_referencing_support and exit_.security_group_referencing_support):
        return False
    table = tgw.association(entry.name)
    return table is not None and tgw_next_attachment(topology, tgw, table, address) == exit_.name


def tgw_next_attachment(
    topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable, address: IPv4Address | IPv6Address
) -> Optional[str]:
    """The attachment a TGW route table sends ``address`` to (None: blackhole or no route):
    longest prefix; on an equal prefix a static route, then the first propagation."""
    candidates: dict = {}
    for route in table.static_routes:
        if address in route.destination:
            candidates.setdefault(route.destination, route.attachment)
    for name in table.propagations:
        attachment = tgw.attachment(name)
        if attachment.hybrid or attachment.peering:  # a site's, a peer TGW's: not a VPC's CIDRs
            continue
        for cidr in topology.vpc(attachment.vpc).all_cidrs:
            if address in cidr:
                candidates.setdefault(cidr, name)
    if not candidates:
        return None
    return candidates[max(candidates, key=lambda cidr: cidr.prefixlen)]


def sg_rules_in_order(
    topology: m.Topology, instance: m.Instance | m.EndpointInterface, direction: str
) -> list:
    """The union of the instance's SG rules in one direction: CIDR rules first, then SG
    references, each in SG and rule order (the first that allows names the verdict)."""
    rules = [
        rule for ref in instance.security_groups for rule in getattr(topology.security_group(ref), direction)
    ]
    return [r for r in rules if r.cidr is not None] + [r for r in rules if r.cidr is None]
