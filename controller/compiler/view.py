"""The compiler's own reading of the model where a flow needs more than one object.

Written apart from the oracle (``vpclab.oracle``) on purpose: if both read AWS's rules the
same wrong way, the differential tests could not see it.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Optional

from vpclab.intent import model as m


def longest_prefix_route(table: m.RouteTable, address: IPv4Address) -> Optional[m.Route]:
    best: Optional[m.Route] = None
    for route in table.routes:
        if address in route.destination and (
            best is None or route.destination.prefixlen > best.destination.prefixlen
        ):
            best = route
    return best


def reaches_without_tgw(topology: m.Topology, sender: m.Instance, receiver: m.Instance) -> bool:
    """Does ``sender``'s route table take a packet to ``receiver`` in its own VPC or over an
    active peering into the receiver's VPC? (the only paths on which SG references match)"""
    if sender.vpc == receiver.vpc:
        return True  # the local route covers the whole VPC; no route may be more specific
    vpc = topology.vpc(sender.vpc)
    table = vpc.route_table(vpc.subnet(sender.subnet).route_table)
    route = longest_prefix_route(table, receiver.ip)
    if route is None or route.peering is None:
        return False
    peering = topology.peering(route.peering)
    return not peering.deleted and peering.other(sender.vpc) == receiver.vpc


def sg_rules_in_order(topology: m.Topology, instance: m.Instance, direction: str) -> list:
    """The union of the instance's SG rules in one direction: CIDR rules first, then SG
    references, each in SG and rule order (the first that allows names the verdict)."""
    rules = [
        rule for ref in instance.security_groups for rule in getattr(topology.security_group(ref), direction)
    ]
    return [r for r in rules if r.cidr is not None] + [r for r in rules if r.cidr is None]
