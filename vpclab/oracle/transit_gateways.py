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
        tgw, exit_attachment, table, crossed = self.tgw_next(tgw, attachment, packet)
        if exit_attachment.hybrid:
            return self.tgw_to_site(tgw, table, packet, source)
        self.usable(tgw, exit_attachment)
        peer = self.topology.vpc(exit_attachment.vpc)
        exit_subnet = self.topology.attachment_subnet(exit_attachment, az) or peer.subnet(
            exit_attachment.subnets[0]
        )
        if peer.contains(packet.dst):
            references = (
                traversals == MAX_TGW_TRAVERSALS  # one TGW hop, no inspection hairpin
                and not crossed  # AWS: no security group referencing over a TGW peering
                and tgw.security_group_referencing_support
                and attachment.security_group_referencing_support
                and exit_attachment.security_group_referencing_support
            )
            arrival = Arrival("tgw", exit_subnet, exit_subnet.az, references)
            return self.deliver(peer, packet, arrival, source)
        return self.onward_from_tgw(peer, exit_subnet, packet, source, traversals)

    def tgw_next(
        self, tgw: m.TransitGateway, attachment: m.Attachment, packet
    ) -> tuple[m.TransitGateway, m.Attachment, m.TgwRouteTable, bool]:
        """Where ``tgw`` sends a packet that came in by ``attachment`` (its route recorded): the
        TGW and attachment it leaves by (across a peering, the far TGW's), the route table that
        chose it, and whether it crossed a peering."""
        tgw_hop, at = self.tgw_lookup(tgw, attachment, packet)
        self.hop("tgw-route", at, True, tgw_hop.origin, tgw_hop.describe())
        assert tgw_hop.attachment is not None
        exit_attachment = tgw.attachment(tgw_hop.attachment)
        table = tgw.association(attachment.name)
        crossed = exit_attachment.peering is not None
        if crossed:
            tgw, exit_attachment, table = self.across_peering(tgw, exit_attachment, packet)
        assert table is not None  # tgw_lookup found the route in it
        return tgw, exit_attachment, table, crossed

    def tgw_lookup(self, tgw: m.TransitGateway, attachment: m.Attachment, packet) -> tuple[m.TgwRoute, str]:
        """The route the table associated with ``attachment`` (where the packet came in) has
        for it, and where that is; no table, no route or a blackhole drops it."""
        table = tgw.association(attachment.name)
        if table is None:
            kind = "peering attachment" if attachment.peering is not None else "attachment"
            self.fail(
                "tgw-route",
                f"tgw {tgw.name}",
                attachment.origin,
                f"{kind} {attachment.name} is associated with no TGW route table",
                "tgw-no-route",
            )
        hop = tgw_route(self.topology, tgw, table, packet.dst)
        at = f"tgw {tgw.name}/{table.name}"
        if hop is None:
            self.fail("tgw-route", at, table.origin, f"no route to {packet.dst}", "tgw-no-route")
        if hop.blackhole:
            self.fail("tgw-route", at, hop.origin, hop.describe(), "tgw-blackhole")
        return hop, at

    def across_peering(
        self, tgw: m.TransitGateway, attachment: m.Attachment, packet
    ) -> tuple[m.TransitGateway, m.Attachment, m.TgwRouteTable]:
        """Over a TGW peering attachment into the peer TGW: the route table associated with its
        end of the peering decides (static routes only); a packet crosses one peering at most."""
        assert attachment.peering is not None
        peering = self.topology.transit_gateway_peering(attachment.peering)
        at = f"tgw {tgw.name}/peering {peering.name}"
        if not peering.active:
            self.fail(
                "tgw-peering",
                at,
                peering.origin,
                f"TGW peering {peering.name} is {peering.status}: routes to it are blackholes",
                "tgw-blackhole",
            )
        peer, far = self.topology.across(attachment)
        self.hop(
            "tgw-peering",
            at,
            True,
            peering.origin,
            f"{tgw.name} -> {peer.name} over TGW peering {peering.name}",
        )
        hop, at = self.tgw_lookup(peer, far, packet)
        assert hop.attachment is not None
        onward = peer.attachment(hop.attachment)
        if onward.peering is not None:
            self.fail(
                "tgw-route",
                at,
                hop.origin,
                f"{hop.describe()}: a packet that came over a TGW peering does not cross another",
                "tgw-no-route",
            )
        self.hop("tgw-route", at, True, hop.origin, hop.describe())
        table = peer.association(far.name)
        assert table is not None  # tgw_lookup found the route in it
        return peer, onward, table

    def onward_from_tgw(self, vpc, subnet, packet, source, traversals) -> Endpoint:
        """A packet from a TGW for an address outside the VPC: the attachment subnet routes it."""
        self.carried.from_tgw = True
        _, route, at = route_lookup(self.topology, vpc, subnet, packet.dst)
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
