"""On-premises sites: into a site through a virtual private gateway or a transit gateway's VPN
or Direct Connect attachment (which tunnel or link, as ``propagation`` ranks them), and out of
a site through its router's best route to AWS. A VPN tunnel carries at most 1446 bytes of a
packet (AWS); a Direct Connect virtual interface 1500. A site that lists no hosts (as an
import's, which the snapshot cannot show) stands for a network beyond the emulation: what
reaches its prefixes leaves the network there."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from vpclab.intent import model as m

from .packet import LEFT_NETWORK, Arrival, Endpoint, Packet
from .propagation import DX, STATIC, Learned, site_route, tgw_choice, vgw_route
from .walk import MAX_TGW_TRAVERSALS, WalkState

DX_MTU = 1500  # a virtual interface's default MTU (AWS)
VPN_DROPS = "dropped by the tunnel (its inside MTU)"


class Sites(WalkState):
    def via_vgw(self, vpc: m.Vpc, route: m.Route, packet: Packet, source: Endpoint) -> Endpoint:
        """Into the VPC's virtual private gateway: over its best way to the sites."""
        assert route.vpn_gateway is not None
        vgw = self.topology.hybrid.vpn_gateway(route.vpn_gateway)
        at = f"vgw {vgw.name}"
        way = vgw_route(self.topology, vgw, packet.dst)
        if way is None:
            self.fail(
                "vgw",
                at,
                vgw.origin,
                f"{vgw.name} has no route to {packet.dst}: no site announces it over a tunnel or "
                "link that is up",
                "vgw-no-route",
            )
        self.hop("vgw", at, True, way.origin, f"{vgw.name} sends it {way.describe()}")
        return self.into_site(way, packet, source)

    def tgw_to_site(self, tgw: m.TransitGateway, table: m.TgwRouteTable, packet: Packet, source) -> Endpoint:
        """Out of the TGW over a VPN or Direct Connect gateway attachment (``table``'s route):
        over equal VPN routes the flow hash picks one (trace follows the first, names the others)."""
        chosen = tgw_choice(self.topology, tgw, table, packet.dst)
        way = chosen[0]
        if way.kind == STATIC:
            way = self.static_way(tgw, way)
        shared = f" (ECMP by flow hash over {', '.join(r.path() for r in chosen)})" if len(chosen) > 1 else ""
        self.hop(
            "tgw-exit", f"tgw {tgw.name}", True, way.origin, f"{tgw.name} sends it {way.describe()}{shared}"
        )
        return self.into_site(way, packet, source)

    def static_way(self, tgw: m.TransitGateway, route: Learned) -> Learned:
        """A static route to a VPN attachment: the connection's first tunnel up (AWS sends a
        static route's traffic over one tunnel, the other when it fails); to a Direct Connect
        gateway's: its first transit link up. None up: dropped at the TGW."""
        assert route.attachment is not None
        attachment = tgw.attachment(route.attachment)
        hybrid = self.topology.hybrid
        at = f"tgw {tgw.name}"
        if attachment.vpn is not None:
            connection = hybrid.connection(attachment.vpn)
            if not connection.tunnels_up:
                self.fail(
                    "tgw-exit",
                    at,
                    route.origin,
                    f"both tunnels of VPN {connection.name} are down",
                    "vpn-down",
                )
            tunnel = connection.tunnels_up[0]
            return replace(route, connection=connection.name, tunnel=tunnel, site=connection.customer_gateway)
        assert attachment.direct_connect_gateway is not None
        links = [
            link
            for link in hybrid.dx_connections_to(attachment.direct_connect_gateway, "transit")
            if not link.down
        ]
        if not links:
            self.fail(
                "tgw-exit",
                at,
                route.origin,
                f"no Direct Connect link to {attachment.direct_connect_gateway} is up",
                "dx-down",
            )
        return replace(route, kind=DX, connection=links[0].name, site=links[0].site)

    def into_site(self, way: Learned, packet: Packet, source: Endpoint) -> Endpoint:
        """Over ``way`` (a tunnel or a link) to its site's router, which delivers by address."""
        hybrid = self.topology.hybrid
        assert way.site is not None
        site = hybrid.site(way.site)
        if way.kind == DX:
            link = hybrid.dx_connection(way.connection)
            self.fits(packet, DX_MTU, way.path(), f"dx {link.name}", link.origin, "dropped by the link")
        else:
            connection = hybrid.connection(way.connection)
            self.fits(
                packet, m.VPN_TUNNEL_MTU, way.path(), f"vpn {connection.name}", connection.origin, VPN_DROPS
            )
        at = f"site {site.name}"
        if not site.owns(packet.dst):
            self.fail(
                "site", at, site.origin, f"{packet.dst} is not among {site.name}'s prefixes", "site-no-route"
            )
        if not site.hosts:  # a site whose hosts are not listed (an import's): beyond the emulation
            self.hop(
                LEFT_NETWORK,
                str(packet.dst),
                True,
                site.origin,
                f"{site.name} lists no hosts: the packet leaves the network there, for {packet.dst} "
                "(its reply is traced as if a host there answered)",
            )
            self.found.arrival = Arrival("site", None, "")
            assert isinstance(packet.dst, IPv4Address)  # sites are IPv4: no IPv6 route leads there
            return self.arrive(
                m.SiteHost(site.origin, str(packet.dst), packet.dst, site.name), packet, way.origin
            )
        host = self.site_host(site, packet)
        self.hop("site", at, True, site.origin, f"{site.name}'s router delivers it on its network")
        return self.arrive(host, packet, way.origin)

    def site_host(self, site: m.OnPremises, packet: Packet) -> m.SiteHost:
        """The host of ``site`` the packet is for (none: dropped at the site's router)."""
        host = next((h for h in site.hosts if h.ip == packet.dst), None)
        if host is None:
            self.fail(
                "site",
                f"site {site.name}",
                site.origin,
                f"no host of {site.name} has the address {packet.dst}",
                "unassigned-address",
            )
        self.found.arrival = Arrival("site", None, "")
        return host

    def from_site(self, source: m.SiteHost, packet: Packet) -> Endpoint:
        """A site host sends: on the site's own network by address, else over the site's
        router's best route to AWS."""
        site = self.topology.hybrid.site(source.site)
        at = f"site {site.name}"
        if site.owns(packet.dst):
            return self.arrive(self.site_host(site, packet), packet, site.origin)
        way = site_route(self.topology, site, packet.dst)
        if way is None:
            self.fail(
                "site", at, site.origin, f"{site.name}'s router has no route to {packet.dst}", "site-no-route"
            )
        self.hop("site", at, True, way.origin, f"{site.name}'s router sends it {way.describe()}")
        if way.kind == DX:
            link = self.topology.hybrid.dx_connection(way.connection)
            self.fits(packet, DX_MTU, way.path(), f"dx {link.name}", link.origin, "dropped by the link")
            return self.from_link(link, packet, source)
        connection = self.topology.hybrid.connection(way.connection)
        self.fits(
            packet, m.VPN_TUNNEL_MTU, way.path(), f"vpn {connection.name}", connection.origin, VPN_DROPS
        )
        if connection.vpn_gateway is not None:
            return self.into_vpc_from_vgw(
                self.topology.hybrid.vpn_gateway(connection.vpn_gateway), packet, source
            )
        assert connection.transit_gateway is not None
        tgw = self.topology.transit_gateway(connection.transit_gateway)
        attachment = tgw.vpn_attachment(connection.name)
        assert attachment is not None  # the loader attaches every VPN to its TGW
        return self.into_tgw_from_site(tgw, attachment, packet, source)

    def from_link(self, link: m.DirectConnectConnection, packet: Packet, source: Endpoint) -> Endpoint:
        """Over Direct Connect: a private VIF's DX gateway hands the packet to the VGW whose VPC
        holds the address; a transit VIF's to its TGW (the DX gateway's attachment)."""
        gateway = self.topology.hybrid.dx_gateway(link.gateway)
        at = f"dxgw {gateway.name}"
        if link.type == "private":
            for association in gateway.associations:
                if association.vpn_gateway is None:
                    continue
                vgw = self.topology.hybrid.vpn_gateway(association.vpn_gateway)
                if self.topology.vpc(vgw.vpc).contains(packet.dst):
                    self.hop("dxgw", at, True, association.origin, f"{gateway.name} hands it to {vgw.name}")
                    return self.into_vpc_from_vgw(vgw, packet, source)
            self.fail(
                "dxgw", at, gateway.origin, f"no VPC behind {gateway.name} holds {packet.dst}", "no-route"
            )
        for association in gateway.associations:
            if association.transit_gateway is None:
                continue
            tgw = self.topology.transit_gateway(association.transit_gateway)
            attachment = tgw.dx_attachment(gateway.name)
            assert attachment is not None  # the loader attaches every associated DX gateway
            self.hop(
                "dxgw", at, True, association.origin, f"{gateway.name} hands it to transit gateway {tgw.name}"
            )
            return self.into_tgw_from_site(tgw, attachment, packet, source)
        self.fail(
            "dxgw", at, gateway.origin, f"{gateway.name} is associated with no transit gateway", "no-route"
        )

    def into_vpc_from_vgw(self, vgw: m.VpnGateway, packet: Packet, source: Endpoint) -> Endpoint:
        """A VGW delivers into its VPC (its CIDRs only: it routes nothing onward)."""
        vpc = self.topology.vpc(vgw.vpc)
        at = f"vgw {vgw.name}"
        if not vpc.contains(packet.dst):
            self.fail(
                "vgw",
                at,
                vgw.origin,
                f"{packet.dst} is not in VPC {vpc.name}: {vgw.name} routes no further",
                "no-route",
            )
        self.hop("vgw", at, True, vgw.origin, f"{vgw.name} delivers it into VPC {vpc.name}")
        subnet = next((s for s in vpc.subnets if s.contains(packet.dst)), None)
        return self.deliver(vpc, packet, Arrival("vgw", None, subnet.az if subnet else ""), source)

    def into_tgw_from_site(
        self, tgw: m.TransitGateway, attachment: m.Attachment, packet: Packet, source
    ) -> Endpoint:
        """Into a TGW from a site: the route table associated with the attachment decides."""
        self.usable(tgw, attachment)
        tgw, exit_attachment, table, _ = self.tgw_next(tgw, attachment, packet)
        if exit_attachment.hybrid:
            return self.tgw_to_site(tgw, table, packet, source)
        self.usable(tgw, exit_attachment)
        peer = self.topology.vpc(exit_attachment.vpc)
        owner = next((s for s in peer.subnets if s.contains(packet.dst)), None)
        az = owner.az if owner else peer.subnet(exit_attachment.subnets[0]).az
        exit_subnet = self.topology.attachment_subnet(exit_attachment, az) or peer.subnet(
            exit_attachment.subnets[0]
        )
        if peer.contains(packet.dst):
            return self.deliver(peer, packet, Arrival("tgw", exit_subnet, exit_subnet.az), source)
        return self.onward_from_tgw(peer, exit_subnet, packet, source, MAX_TGW_TRAVERSALS)
