"""Transit gateways: the attachment in the source's AZ, its subnet's NACLs as AWS documents
(tgw-nacls), the associated route table, the exit attachment; onward through an inspection
VPC and back (at most MAX_TGW_TRAVERSALS), never over a peering."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import Arrival, Endpoint
from .routes import route_lookup
from .routing import tgw_route
from .walk import MAX_TGW_TRAVERSALS, WalkState


class TransitGateways(WalkState):
    def usable(self, tgw: m.TransitGateway, attachment: m.Attachment) -> None:
        """Only an available attachment carries packets (another account's waits for the
        TGW's owner to accept it)."""
        if not attachment.available:
            self.fail(
                "tgw-attachment",
                f"tgw {tgw.name}",
                attachment.origin,
                f"attachment {attachment.name} is {attachment.status}: it carries no traffic until accepted",
                "tgw-attachment-pending",
            )

    def via_tgw(self, vpc, subnet, route: m.Route, packet, az, source, traversals) -> Endpoint:
        assert route.transit_gateway is not None
        tgw = self.topology.transit_gateway(route.transit_gateway)
        attachment = tgw.attachment_of(vpc.name)
        assert attachment is not None  # the loader refuses a TGW route without an attachment
        self.hop("route", f"{vpc.name}/{subnet.route_table}", True, route.origin, route.describe())
        self.usable(tgw, attachment)
        entry = self.topology.attachment_subnet(attachment, az)
        if entry is None:
            self.fail(
                "tgw-attachment",
                f"tgw {tgw.name}",
                attachment.origin,
                f"attachment {attachment.name} has no subnet in AZ {az}",
                "tgw-az-not-attached",
            )
        if traversals == MAX_TGW_TRAVERSALS:  # a hairpin does not change the size
            self.fits(
                packet,
                m.TGW_MTU,
                f"transit gateway {tgw.name}",
                f"tgw {tgw.name}",
                tgw.origin,
                "dropped without an ICMP error",
            )
        if self.options.check and traversals == MAX_TGW_TRAVERSALS:
            self.nacl(entry, "ingress", packet, packet.src)
        table = tgw.association(attachment.name)
        at = f"tgw {tgw.name}"
        if table is None:
            self.fail(
                "tgw-route",
                at,
                attachment.origin,
                f"attachment {attachment.name} is associated with no TGW route table",
                "tgw-no-route",
            )
        tgw_hop = tgw_route(self.topology, tgw, table, packet.dst)
        at = f"tgw {tgw.name}/{table.name}"
        if tgw_hop is None:
            self.fail("tgw-route", at, table.origin, f"no route to {packet.dst}", "tgw-no-route")
        if tgw_hop.blackhole:
            self.fail("tgw-route", at, tgw_hop.origin, tgw_hop.describe(), "tgw-blackhole")
        self.hop("tgw-route", at, True, tgw_hop.origin, tgw_hop.describe())
        assert tgw_hop.attachment is not None
        exit_attachment = tgw.attachment(tgw_hop.attachment)
        self.usable(tgw, exit_attachment)
        peer = self.topology.vpc(exit_attachment.vpc)
        exit_subnet = self.topology.attachment_subnet(exit_attachment, az) or peer.subnet(
            exit_attachment.subnets[0]
        )
        if peer.contains(packet.dst):
            references = (
                traversals == MAX_TGW_TRAVERSALS  # one TGW hop, no inspection hairpin
                and tgw.security_group_referencing_support
                and attachment.security_group_referencing_support
                and exit_attachment.security_group_referencing_support
            )
            arrival = Arrival("tgw", exit_subnet, exit_subnet.az, references)
            return self.deliver(peer, packet, arrival, source)
        return self.onward_from_tgw(peer, exit_subnet, packet, source, traversals)

    def onward_from_tgw(self, vpc, subnet, packet, source, traversals) -> Endpoint:
        """A packet from a TGW for an address outside the VPC: the attachment subnet routes it."""
        self.carried.from_tgw = True
        _, route, at = route_lookup(vpc, subnet, packet.dst)
        if route is not None and route.peering:
            self.fail(
                "peering",
                at,
                route.origin,
                f"{route.describe()}: traffic from a transit gateway cannot continue over a peering",
                "not-transitive",
            )
        if route is not None and route.transit_gateway:
            if traversals <= 1:
                self.fail("route", at, route.origin, "routing loop through transit gateways", "no-route")
            return self.via_tgw(vpc, subnet, route, packet, subnet.az, source, traversals - 1)
        return self.route_from(vpc, subnet, packet, subnet.az, source, traversals)
