"""Where a design's on-premises sites meet AWS, live: a namespace per site router and per AWS
end (a VPN connection's, a Direct Connect link's), and the BGP speakers in them (pure: the
plan, nothing built). A site's router is BIRD; AWS's ends are FRR.

Addresses: each tunnel's and link's /30 (``VpnConnection.inside_cidrs``,
``DirectConnectConnection.peering_cidr``) has AWS's end on its first address, the site's on
the second. The site's router prefers Direct Connect (local preference 200), then tunnel 1,
then tunnel 2, as the oracle's site policy says.

What AWS's end announces: a VGW's VPC CIDRs; a Direct Connect gateway's allowed prefixes (for
a VGW without them, its VPC's CIDRs). A VPN to a TGW announces its associated route table's
routes, which change as the TGW learns: Hyperplane sets those at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from vpclab.intent import model as m

from .bgp import BIRD, FRR, Neighbor, Speaker
from .names import Names

DX_PREFERENCE = 200  # the site's local preference for Direct Connect (AWS's advice)
FIRST_TUNNEL_PREFERENCE = 110  # tunnel 1; each next tunnel 10 less (100 is BGP's default)


@dataclass(frozen=True)
class Peering:
    """One BGP session: a VPN tunnel or a Direct Connect VIF, its /30 and both ends' ASNs."""

    name: str  # "dc1-vpn tunnel 1", "dx1"
    site: str
    cidr: IPv4Network
    aws_asn: int
    site_asn: int
    aws_end: str  # the AWS end's namespace key: the VPN connection's or the link's name
    preference: int  # the site's local preference for it

    @property
    def aws_address(self) -> str:
        return str(self.cidr.network_address + 1)

    @property
    def site_address(self) -> str:
        return str(self.cidr.network_address + 2)


def peerings(topology: m.Topology) -> list[Peering]:
    """Every BGP session of the design (a static VPN's tunnels carry none)."""
    hybrid = topology.hybrid
    found = []
    for connection in hybrid.vpn_connections:
        if not connection.bgp:
            continue
        site = hybrid.site(connection.customer_gateway)
        asn = _aws_asn(topology, connection)
        for n, cidr in enumerate(connection.inside_cidrs, 1):
            preference = FIRST_TUNNEL_PREFERENCE - 10 * (n - 1)
            found.append(
                Peering(
                    f"{connection.name} tunnel {n}",
                    site.name,
                    cidr,
                    asn,
                    site.asn,
                    connection.name,
                    preference,
                )
            )
    for link in hybrid.dx_connections:
        assert link.peering_cidr is not None  # the loader gives every link one
        gateway = hybrid.dx_gateway(link.gateway)
        site = hybrid.site(link.site)
        found.append(
            Peering(link.name, site.name, link.peering_cidr, gateway.asn, site.asn, link.name, DX_PREFERENCE)
        )
    return found


def _aws_asn(topology: m.Topology, connection: m.VpnConnection) -> int:
    if connection.vpn_gateway is not None:
        return topology.hybrid.vpn_gateway(connection.vpn_gateway).asn
    assert connection.transit_gateway is not None
    return topology.transit_gateway(connection.transit_gateway).asn


def site_speaker(topology: m.Topology, names: Names, site: m.OnPremises, hold_time: int) -> Speaker:
    """A site's router: BIRD, a neighbor per BGP session of the site, its prefixes announced."""
    mine = [p for p in peerings(topology) if p.site == site.name]
    router_id = mine[0].site_address if mine else str(site.public_ip)
    return Speaker(
        f"site-{site.name}",
        names.netns(f"site-{site.name}"),
        router_id,
        site.asn,
        tuple(Neighbor(p.aws_address, p.aws_asn, p.name, p.preference) for p in mine),
        tuple(str(c) for c in site.cidrs),
        BIRD,
        hold_time,
    )


def aws_announcements(topology: m.Topology, end: str) -> tuple[str, ...]:
    """What AWS's end ``end`` (a VPN connection's or Direct Connect link's name) announces,
    as far as the design fixes it (a VPN to a TGW: nothing yet, Hyperplane sets it)."""
    hybrid = topology.hybrid
    if any(c.name == end for c in hybrid.vpn_connections):
        connection = hybrid.connection(end)
        if connection.vpn_gateway is None:
            return ()
        return tuple(str(c) for c in topology.vpc(hybrid.vpn_gateway(connection.vpn_gateway).vpc).cidrs)
    link = hybrid.dx_connection(end)
    gateway = hybrid.dx_gateway(link.gateway)
    kind = "vpn_gateway" if link.type == "private" else "transit_gateway"
    prefixes: list[str] = []
    for association in gateway.associations:
        name = getattr(association, kind)
        if name is None:
            continue
        allowed = association.allowed_prefixes
        if not allowed and kind == "vpn_gateway":
            allowed = topology.vpc(hybrid.vpn_gateway(name).vpc).cidrs
        prefixes += [str(c) for c in allowed if str(c) not in prefixes]
    return tuple(prefixes)


def aws_speakers(topology: m.Topology, names: Names, hold_time: int) -> list[Speaker]:
    """AWS's ends: bgpd per VPN connection (a neighbor per tunnel) and per Direct Connect link."""
    by_end: dict[str, list[Peering]] = {}
    for peering in peerings(topology):
        by_end.setdefault(peering.aws_end, []).append(peering)
    return [
        Speaker(
            f"aws-{end}",
            names.netns(f"aws-{end}"),
            sessions[0].aws_address,
            sessions[0].aws_asn,
            tuple(Neighbor(p.site_address, p.site_asn, p.name) for p in sessions),
            aws_announcements(topology, end),
            FRR,
            hold_time,
        )
        for end, sessions in by_end.items()
    ]
