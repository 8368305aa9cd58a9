"""Route lookups: VPC route tables and Transit Gateway route tables (longest prefix match)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from ..intent import model as m
from .propagation import STATIC, Learned, tgw_candidates, tgw_choice


def vpc_route(
    table: m.RouteTable, address: m.IPAddress, propagated: Sequence[m.Route] = ()
) -> Optional[m.Route]:
    """The most specific route of ``table`` that covers ``address`` (local routes included),
    with the routes propagated into it; on an equal prefix (AWS's route priority) a static
    route, then a prefix list's, then a propagated one."""
    matches = [route for route in (*table.routes, *propagated) if address in route.destination]
    return max(matches, key=lambda route: (route.destination.prefixlen, _priority(route)), default=None)


def _priority(route: m.Route) -> int:
    return 0 if route.propagated else 1 if route.prefix_list else 2


def subnet_route_table(vpc: m.Vpc, subnet: m.Subnet) -> m.RouteTable:
    return vpc.route_table(subnet.route_table)


def tgw_routes(topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable) -> list[m.TgwRoute]:
    """Every route of a TGW route table: static, then what its propagations bring (VPC
    CIDRs, Direct Connect and VPN prefixes: see ``propagation``)."""
    return [as_tgw_route(r) for r in tgw_candidates(topology, tgw, table)]


def as_tgw_route(route: Learned) -> m.TgwRoute:
    return m.TgwRoute(
        route.origin, route.destination, route.attachment, route.attachment is None, route.kind != STATIC
    )


def tgw_route(
    topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable, address: m.IPAddress
) -> Optional[m.TgwRoute]:
    """The route a packet for ``address`` takes (of equal VPN routes, the first)."""
    chosen = tgw_choice(topology, tgw, table, address)
    return as_tgw_route(chosen[0]) if chosen else None
