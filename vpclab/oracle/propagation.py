"""What BGP (and a VPN's static routes) puts where, as AWS documents it, worked out from the
design alone: the oracle's own answer, never the daemons' (the live emulation's BGP speakers
are checked against it).

- A virtual private gateway learns each site's prefixes over the VPN connections to it (per
  tunnel that is up: a BGP session, or the connection's static routes) and over Direct Connect
  (private virtual interfaces to a DX gateway associated with it). For one prefix it uses
  Direct Connect, then VPN static routes, then VPN BGP routes; among those of a kind, the
  shorter AS path, then the lower MED, then the first connection and tunnel (a VGW uses one
  tunnel at a time). A route table with ``propagating_vgws`` takes the VGW's best routes,
  except those within the VPC's CIDRs (the local route wins, however specific they are).
- A transit gateway route table takes, from the attachments it propagates: a VPC's CIDRs, a
  Direct Connect gateway's (transit virtual interfaces' prefixes), a BGP VPN's (per tunnel
  up). On an equal prefix: static, then VPC, then Direct Connect, then VPN; then the shorter AS
  path and the lower MED; equal VPN routes share the flows (ECMP, by flow hash) when the TGW
  has ``vpn_ecmp_support``, else the first carries them.
- A site's router learns the VPCs' CIDRs from a VGW; a TGW's associated route table's routes
  (but its own) over a VPN to the TGW; a DX gateway's allowed prefixes (for a VGW without
  them: its VPC's CIDRs) over Direct Connect. A static VPN's routes are configured on the
  site's router to the same prefixes. The site prefers Direct Connect (local preference 200,
  as AWS advises customers), then static routes, then the shorter AS path, then the first
  tunnel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from vpclab.intent import model as m

DX, VPN_STATIC, VPN_BGP, STATIC, VPC = "dx", "vpn-static", "vpn-bgp", "static", "vpc"
# what AWS makes of the communities a site tags its Direct Connect announcements with (7224:7300,
# 7224:7200 or none, 7224:7100): a local preference, compared before the AS path
DX_LOCAL_PREFERENCE = {"high": 300, "medium": 200, "low": 100}
VGW_RANK = {DX: 0, VPN_STATIC: 1, VPN_BGP: 2}  # AWS's priority among a VGW's propagated routes
TGW_RANK = {STATIC: 0, VPC: 1, DX: 2, VPN_BGP: 3}  # AWS's priority in a TGW route table
SITE_RANK = {DX: 0, VPN_STATIC: 1, VPN_BGP: 2}  # the site's policy (local preference, then distance)
KIND_WORDS = {
    DX: "Direct Connect",
    VPN_STATIC: "VPN static route",
    VPN_BGP: "VPN BGP",
    STATIC: "static",
    VPC: "VPC",
}


@dataclass(frozen=True)
class Learned:
    """One route a VGW, a TGW route table or a site's router holds: where it leads and how it
    was learned (``kind``), over which connection (a VPN's tunnel, or a Direct Connect link)."""

    destination: m.IPNetwork
    kind: str
    connection: str  # the VPN or Direct Connect connection (or the attachment, for a TGW's VPC route)
    origin: str  # the YAML object that put it there
    tunnel: Optional[int] = None  # a VPN's tunnel (1-based)
    as_path: tuple[int, ...] = ()
    med: int = 0
    attachment: Optional[str] = None  # on a TGW: the attachment it leads to
    site: Optional[str] = None  # towards AWS from a site: the site; towards a site: that site
    local_preference: int = 100  # a Direct Connect route's at AWS: the site's community's (AWS)

    def path(self) -> str:
        """The way it leads, as trace says it."""
        if self.kind == STATIC and self.attachment is None:
            return "blackhole"
        if self.kind == DX:
            return f"Direct Connect {self.connection}"
        if self.tunnel is not None:
            return f"VPN {self.connection} tunnel {self.tunnel}"
        return f"attachment {self.connection}"

    def describe(self) -> str:
        as_path = f", AS path {' '.join(map(str, self.as_path))}" if self.as_path else ""
        return f"{self.destination} via {self.path()} ({KIND_WORDS[self.kind]}{as_path})"


def _vpn_routes(connection: m.VpnConnection, prefixes, as_path: tuple[int, ...], origin: str, site: str):
    kind = VPN_BGP if connection.bgp else VPN_STATIC
    return [
        Learned(prefix, kind, connection.name, origin, tunnel, as_path if connection.bgp else (), site=site)
        for tunnel in connection.tunnels_up
        for prefix in prefixes
    ]


def _from_site(connection: m.VpnConnection, site: m.OnPremises, origin: str) -> list[Learned]:
    """What AWS's end of ``connection`` learns from ``site`` over each tunnel up: a BGP
    tunnel's session (what the run reported it holds, else the site's prefixes), a static
    VPN's configured routes."""
    if not connection.bgp:
        return _vpn_routes(connection, connection.static_routes, (), origin, site.name)
    return [
        Learned(prefix, VPN_BGP, connection.name, origin, tunnel, (site.asn,), site=site.name)
        for tunnel in connection.tunnels_up
        for prefix in connection.announced(tunnel, site.cidrs)
    ]


def _over_link(link: m.DirectConnectConnection, site: m.OnPremises) -> list[Learned]:
    """What AWS's end of Direct Connect ``link`` learns from ``site``: what the run reported it
    holds, else the site's prefixes; at the local preference the site's community asks for."""
    return [
        Learned(
            prefix,
            DX,
            link.name,
            link.origin,
            None,
            (site.asn,),
            site=site.name,
            local_preference=DX_LOCAL_PREFERENCE[link.preference],
        )
        for prefix in link.announced(site.cidrs)
    ]


def _dx_links(topology: m.Topology, gateway: str, vif: str) -> list[m.DirectConnectConnection]:
    return [c for c in topology.hybrid.dx_connections_to(gateway, vif) if not c.down]


def vgw_learned(topology: m.Topology, vgw: m.VpnGateway) -> list[Learned]:
    """Every route ``vgw`` learns from the sites (its VPN connections' and Direct Connect's)."""
    hybrid = topology.hybrid
    found: list[Learned] = []
    for connection in hybrid.connections_to("vpn_gateway", vgw.name):
        site = hybrid.site(connection.customer_gateway)
        origin = connection.origin if connection.bgp else f"{connection.origin}.static_routes"
        found += _from_site(connection, site, origin)
    for gateway in hybrid.dx_gateways_of("vpn_gateway", vgw.name):
        for link in _dx_links(topology, gateway.name, "private"):
            found += _over_link(link, hybrid.site(link.site))
    return found


def _vgw_key(route: Learned) -> tuple:
    return (VGW_RANK[route.kind], -route.local_preference, len(route.as_path), route.med)


def best_of(routes: list[Learned], key) -> list[Learned]:
    """The routes of the longest prefix that rank first by ``key`` (in their given order)."""
    if not routes:
        return []
    longest = max(r.destination.prefixlen for r in routes)
    candidates = [r for r in routes if r.destination.prefixlen == longest]
    top = min(key(r) for r in candidates)
    return [r for r in candidates if key(r) == top]


def vgw_route(topology: m.Topology, vgw: m.VpnGateway, address: m.IPAddress) -> Optional[Learned]:
    """The way ``vgw`` sends a packet for ``address`` towards the sites (None: it has none)."""
    matches = [r for r in vgw_learned(topology, vgw) if address in r.destination]
    chosen = best_of(matches, _vgw_key)
    return chosen[0] if chosen else None


def propagated_vgw_routes(topology: m.Topology, vpc: m.Vpc, table: m.RouteTable) -> list[m.Route]:
    """The routes ``table`` takes from its VPC's VGW (``propagating_vgws``): one per prefix
    the VGW learned, none within the VPC's CIDRs (the local route wins)."""
    vgw = topology.hybrid.vpn_gateway_of(vpc.name)
    if vgw is None or vgw.name not in table.propagating_vgws:
        return []
    at = table.propagating_vgws.index(vgw.name)
    prefixes = dict.fromkeys(r.destination for r in vgw_learned(topology, vgw))
    return [
        m.Route(f"{table.origin}.propagating_vgws[{at}]", prefix, vpn_gateway=vgw.name, propagated=True)
        for prefix in prefixes
        if not any(m.within(prefix, cidr) for cidr in vpc.cidrs)
    ]


def tgw_hybrid_learned(
    topology: m.Topology, tgw: m.TransitGateway, attachment: m.Attachment
) -> list[Learned]:
    """What a VPN or Direct Connect gateway attachment of ``tgw`` propagates (BGP only)."""
    hybrid = topology.hybrid
    if attachment.vpn is not None:
        connection = hybrid.connection(attachment.vpn)
        if not connection.bgp:
            return []  # a static VPN's routes are the TGW route table's own (static) routes
        site = hybrid.site(connection.customer_gateway)
        routes = _from_site(connection, site, connection.origin)
        return [replace(r, attachment=attachment.name) for r in routes]
    assert attachment.direct_connect_gateway is not None
    return [
        replace(route, attachment=attachment.name)
        for link in _dx_links(topology, attachment.direct_connect_gateway, "transit")
        for route in _over_link(link, hybrid.site(link.site))
    ]


def tgw_key(route: Learned) -> tuple:
    return (TGW_RANK[route.kind], -route.local_preference, len(route.as_path), route.med)


def tgw_candidates(topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable) -> list[Learned]:
    """Every route ``table`` holds: static, then what its propagations bring. A VPC's CIDR
    that a static route or an earlier propagation already has is not propagated again (AWS
    does not propagate an overlapping CIDR twice); a site's prefixes are all kept, ranked."""
    found = [
        Learned(r.destination, STATIC, r.attachment or "blackhole", r.origin, attachment=r.attachment)
        for r in table.static_routes
    ]
    taken: set[m.IPNetwork] = {r.destination for r in table.static_routes}
    for n, name in enumerate(table.propagations):
        attachment = tgw.attachment(name)
        origin = f"{table.origin}.propagations[{n}]"
        if attachment.hybrid:
            found += [replace(r, origin=origin) for r in tgw_hybrid_learned(topology, tgw, attachment)]
        elif attachment.peering is None:
            fresh = [c for c in topology.vpc(attachment.vpc).all_cidrs if c not in taken]
            taken.update(fresh)
            found += [Learned(c, VPC, name, origin, attachment=name) for c in fresh]
    return found


def tgw_choice(
    topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable, address: m.IPAddress
) -> list[Learned]:
    """The routes of ``table`` a packet for ``address`` may take: one, or equal VPN routes
    shared by flow hash (``vpn_ecmp_support``); none: no route."""
    chosen = best_of([r for r in tgw_candidates(topology, tgw, table) if address in r.destination], tgw_key)
    if len(chosen) > 1 and not (chosen[0].kind == VPN_BGP and tgw.vpn_ecmp_support):
        return chosen[:1]
    return chosen


def _associated_routes(
    topology: m.Topology, tgw: m.TransitGateway, attachment: m.Attachment
) -> list[Learned]:
    """What ``tgw`` tells a site over ``attachment``: its associated route table's best routes,
    but those that lead back over the attachment itself (and blackholes)."""
    table = tgw.association(attachment.name)
    if table is None:
        return []
    prefixes = dict.fromkeys(r.destination for r in tgw_candidates(topology, tgw, table))
    found = []
    for prefix in prefixes:
        chosen = tgw_choice(topology, tgw, table, prefix.network_address)
        best = [r for r in chosen if r.destination == prefix]
        if best and best[0].attachment not in (None, attachment.name):
            found.append(best[0])
    return found


def site_learned(topology: m.Topology, site: m.OnPremises) -> list[Learned]:
    """Every route ``site``'s router holds towards AWS."""
    hybrid = topology.hybrid
    found: list[Learned] = []
    for connection in hybrid.vpn_connections:
        if connection.customer_gateway != site.name:
            continue
        if connection.vpn_gateway is not None:
            vgw = hybrid.vpn_gateway(connection.vpn_gateway)
            prefixes = topology.vpc(vgw.vpc).cidrs
            found += _vpn_routes(connection, prefixes, (vgw.asn,), connection.origin, site.name)
            continue
        assert connection.transit_gateway is not None
        tgw = topology.transit_gateway(connection.transit_gateway)
        attachment = tgw.vpn_attachment(connection.name)
        if attachment is None:
            continue
        for route in _associated_routes(topology, tgw, attachment):
            found += _vpn_routes(
                connection, (route.destination,), (tgw.asn, *route.as_path), connection.origin, site.name
            )
    for link in hybrid.dx_connections:
        if link.site != site.name or link.down:
            continue
        gateway = hybrid.dx_gateway(link.gateway)
        kind = "vpn_gateway" if link.type == "private" else "transit_gateway"
        for association in gateway.associations:
            name = getattr(association, kind)
            if name is None:
                continue
            prefixes = association.allowed_prefixes
            if not prefixes and kind == "vpn_gateway":
                prefixes = topology.vpc(hybrid.vpn_gateway(name).vpc).cidrs
            found += [
                Learned(p, DX, link.name, association.origin, None, (gateway.asn,), site=site.name)
                for p in prefixes
            ]
    return found


def _site_key(route: Learned) -> tuple:
    return (SITE_RANK[route.kind], len(route.as_path), route.med)


def site_route(topology: m.Topology, site: m.OnPremises, address: m.IPAddress) -> Optional[Learned]:
    """The way ``site``'s router sends a packet for ``address`` to AWS (None: it has none)."""
    chosen = best_of([r for r in site_learned(topology, site) if address in r.destination], _site_key)
    return chosen[0] if chosen else None


def tgw_table_view(
    topology: m.Topology, tgw: m.TransitGateway, table: m.TgwRouteTable
) -> list[tuple[Learned, str]]:
    """Every route ``table`` holds, longest prefix first, each with why it carries traffic
    for its prefix or not (AWS's route priority: see the module)."""
    candidates = tgw_candidates(topology, tgw, table)
    view = []
    for prefix in sorted({c.destination for c in candidates}, key=lambda p: (-p.prefixlen, p)):
        same = [c for c in candidates if c.destination == prefix]
        chosen = best_of(same, tgw_key)
        if len(chosen) > 1 and not (chosen[0].kind == VPN_BGP and tgw.vpn_ecmp_support):
            chosen = chosen[:1]
        winner = chosen[0]
        for route in same:
            if route in chosen:
                view.append((route, "used" if len(chosen) == 1 else "used: ECMP by flow hash"))
            else:
                view.append((route, _why_not(route, winner, tgw)))
    return view


def _why_not(route: Learned, winner: Learned, tgw: m.TransitGateway) -> str:
    if TGW_RANK[route.kind] != TGW_RANK[winner.kind]:
        return f"not used: a {KIND_WORDS[winner.kind]} route comes first"
    if route.local_preference != winner.local_preference:
        return f"not used: a higher local preference ({winner.local_preference} > {route.local_preference})"
    if len(route.as_path) != len(winner.as_path):
        return f"not used: a shorter AS path ({len(winner.as_path)} < {len(route.as_path)})"
    if route.med != winner.med:
        return f"not used: a lower MED ({winner.med} < {route.med})"
    if route.kind == VPN_BGP and not tgw.vpn_ecmp_support:
        return "not used: vpn_ecmp_support is off, the first carries it"
    return "not used: the first of equal routes carries it"
