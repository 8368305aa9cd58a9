"""Route lookups: VPC route tables and Transit Gateway route tables (longest prefix match)."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Optional

from ..intent import model as m


def vpc_route(table: m.RouteTable, address: IPv4Address) -> Optional[m.Route]:
    """The most specific route of ``table`` that covers ``address`` (local routes included);
    on an equal prefix, a CIDR route before a prefix list's (AWS's route priority)."""
    matches = [route for route in table.routes if address in route.destination]
    return max(
        matches, key=lambda route: (route.destination.prefixlen, route.prefix_list is None), default=None
    )


def subnet_route_table(vpc: m.Vpc, subnet: m.Subnet) -> m.RouteTable:
    return vpc.route_table(subnet.route_table)


def tgw_routes(topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable) -> list[m.TgwRoute]:
    """Effective routes of a TGW route table: static first, then propagated VPC CIDRs.

    On an equal prefix a static route beats a propagated one, and the first propagation of a
    CIDR wins over later ones (AWS does not propagate an overlapping CIDR twice).
    """
    routes = list(table.static_routes)
    taken = {route.destination for route in routes}
    for n, name in enumerate(table.propagations):
        attachment = tgw.attachment(name)
        for cidr in topology.vpc(attachment.vpc).cidrs:
            if cidr not in taken:
                taken.add(cidr)
                routes.append(m.TgwRoute(f"{table.origin}.propagations[{n}]", cidr, name, propagated=True))
    return routes


def tgw_route(
    topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable, address: IPv4Address
) -> Optional[m.TgwRoute]:
    matches = [r for r in tgw_routes(topology, tgw, table) if address in r.destination]
    return max(matches, key=lambda route: route.destination.prefixlen, default=None)
