"""A subnet's route table: longest prefix; local, peering, transit gateway, internet or NAT
gateway, an instance (an appliance), a gateway endpoint, blackhole."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import Arrival, Endpoint, Packet
from .propagation import propagated_vgw_routes
from .routing import subnet_route_table, vpc_route
from .walk import MAX_TGW_TRAVERSALS, WalkState


def route_lookup(topology: m.Topology, vpc: m.Vpc, subnet: m.Subnet, address: m.IPAddress):
    """The subnet's route table, its route for ``address`` (or None: the VGW's propagated
    routes are candidates too), and how hops name it."""
    table = subnet_route_table(vpc, subnet)
    propagated = propagated_vgw_routes(topology, vpc, table) if table.propagating_vgws else ()
    return table, vpc_route(table, address, propagated), f"{vpc.name}/{table.name}"


class Routes(WalkState):
    def route_from(
        self, vpc: m.Vpc, subnet: m.Subnet, packet: Packet, az: str, source: Endpoint, traversals: int
    ) -> Endpoint:
        table, route, at = route_lookup(self.topology, vpc, subnet, packet.dst)
        if route is None:
            self.fail("route", at, table.origin, f"no route to {packet.dst}", "no-route")
        if route.blackhole:
            self.fail("route", at, route.origin, f"{route.describe()}", "blackhole")
        if route.local:
            self.hop("route", at, True, route.origin, route.describe())
            return self.deliver(vpc, packet, Arrival("local", subnet, az), source)
        if route.peering:
            return self.via_peering(vpc, route, packet, az, source)
        if route.internet_gateway:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_igw(vpc, packet, source)
        if route.egress_only_internet_gateway:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_eigw(vpc, packet, source)
        if route.nat_gateway:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_nat(vpc, vpc.nat_gateway(route.nat_gateway), subnet, packet, source)
        if route.instance:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_appliance(vpc, subnet, self.topology.instance(route.instance), packet, source)
        if route.gateway_endpoint:
            return self.via_gateway_endpoint(vpc, route, packet, source)
        if route.vpn_gateway:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_vgw(vpc, route, packet, source)
        return self.via_tgw(vpc, subnet, route, packet, az, source, traversals)

    def send_from(self, vpc: m.Vpc, home: m.Subnet, packet: Packet, source) -> Endpoint:
        """An interface of subnet ``home`` sends ``packet``: delivered inside the subnet, else
        through the subnet's NACL egress and route table."""
        if home.contains(packet.dst):
            return self.deliver(vpc, packet, Arrival("local", home, home.az), source)
        if self.options.check:
            self.nacl(home, "egress", packet, packet.dst)
        return self.route_from(vpc, home, packet, home.az, source, MAX_TGW_TRAVERSALS)
