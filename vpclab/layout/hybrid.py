"""Where a design's on-premises sites meet AWS, live: a namespace per site router and per AWS
end (a VPN connection's, a Direct Connect link's), and the BGP speakers in them (pure: the
plan, nothing built). A site's router is BIRD; AWS's ends are FRR.

Addresses: each tunnel's and link's /30 (``VpnConnection.inside_cidrs``,
``DirectConnectConnection.peering_cidr``) has AWS's end on its first address, the site's on
the second. The site's router prefers Direct Connect (local preference 200), then tunnel 1,
then tunnel 2, as the oracle's site policy says.

What AWS's end announces: a VGW's VPC CIDRs; a Direct Connect gateway's allowed prefixes (for
a VGW without them, its VPC's CIDRs); a VPN to a TGW, its attachment's associated route table's
prefixes but those that lead back over the attachment and blackholes, as the design has them
(the run's watch gives AWS's end the new ones when the running design changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

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
        return aws_side(self.cidr)

    @property
    def site_address(self) -> str:
        return site_side(self.cidr)


def aws_side(cidr: IPv4Network) -> str:
    """AWS's end of a tunnel's or link's /30: its first address."""
    return str(cidr.network_address + 1)


def site_side(cidr: IPv4Network) -> str:
    """The site's end of a tunnel's or link's /30: its second address."""
    return str(cidr.network_address + 2)


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
    as the design has it."""
    hybrid = topology.hybrid
    if any(c.name == end for c in hybrid.vpn_connections):
        connection = hybrid.connection(end)
        if connection.vpn_gateway is None:
            return _tgw_announcements(topology, connection)
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


def _tgw_announcements(topology: m.Topology, connection: m.VpnConnection) -> tuple[str, ...]:
    """A TGW's announcements over a VPN: its attachment's associated table's static routes and
    propagated prefixes (VPCs' CIDRs, other BGP VPNs' and Direct Connect's sites' prefixes),
    but what leads back over the attachment itself and blackholes."""
    assert connection.transit_gateway is not None
    tgw = topology.transit_gateway(connection.transit_gateway)
    attachment = tgw.vpn_attachment(connection.name)
    table = tgw.association(attachment.name) if attachment is not None else None
    if attachment is None or table is None:
        return ()
    back = {r.destination for r in table.static_routes if r.attachment == attachment.name}
    found = [r.destination for r in table.static_routes if r.attachment and not r.blackhole]
    hybrid = topology.hybrid
    for name in table.propagations:
        other = tgw.attachment(name)
        if name == attachment.name or not other.available:
            continue
        if other.vpn is not None:
            peer = hybrid.connection(other.vpn)
            if peer.bgp and peer.tunnels_up:
                found += hybrid.site(peer.customer_gateway).cidrs
        elif other.direct_connect_gateway is not None:
            for link in hybrid.dx_connections_to(other.direct_connect_gateway, "transit"):
                if not link.down:
                    found += hybrid.site(link.site).cidrs
        elif other.peering is None:
            found += topology.vpc(other.vpc).cidrs
    return tuple(dict.fromkeys(str(p) for p in found if p not in back))


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


# -- the live wiring: who plugs into the internet's card, with which addresses ----------------
SITE_GATEWAY = IPv4Address("169.254.0.1")  # a site host's router, on-link (as an internet host's)
FIRST_TUNNEL_VNI = 1000  # connection k's tunnel n: VNI 1000 + 2k + n (their own UDP port)
OUTSIDE, INNER, DX = "outside", "inner", "dx"
DX_MTU = 1500  # a virtual interface's MTU (AWS's default)
DX_LINK = "link"  # a Direct Connect link's device in its AWS end's namespace


@dataclass(frozen=True)
class EdgePort:
    """A port of the internet's card that is no internet host's: a site router's outside
    interface, a VPN connection's AWS end's outside interface (both tunnels' addresses), one
    of its tunnels' inner side (what leaves the tunnel for AWS, and what AWS sends into it), or
    a Direct Connect link's AWS side (what the link brings, and what AWS sends over it)."""

    kind: str  # OUTSIDE, INNER or DX
    namespace: str  # the owner's namespace key ("site-dc1", "aws-dc2-vpn")
    interface: str  # its name on the card
    inside: str  # its name in the owner's namespace
    port: int
    mac: str  # the owner's end's
    addresses: tuple[IPv4Address, ...]  # what the internet routes to it (an outside port)
    origin: str
    connection: str = ""  # an inner port: the VPN connection (a DX port: the link)
    tunnel: int = 0  # and its tunnel

    def describe(self) -> str:
        """The way to a site it stands for: "VPN dc1-vpn tunnel 1", "Direct Connect dx1"."""
        if self.kind == DX:
            return f"Direct Connect {self.connection}"
        return f"VPN {self.connection} tunnel {self.tunnel}" if self.kind == INNER else self.namespace

    @property
    def path(self) -> str:
        """The way to a site as a flow log's ``vpclab-path`` names it (one word): a tunnel
        "dc1-vpn:tunnel1", a Direct Connect link its connection's name ("dx1")."""
        return path_label(self.connection, self.tunnel)

    @property
    def path_origin(self) -> str:
        """What a flow log sample of a packet taking this way names (its observation point):
        a tunnel's own, within its connection; a Direct Connect link's origin."""
        return tunnel_origin(self.origin, self.tunnel) if self.kind == INNER else self.origin


def path_label(connection: str, tunnel: int = 0) -> str:
    """A flow log's ``vpclab-path`` of a VPN connection's tunnel (1-based), or of a Direct
    Connect link (tunnel 0)."""
    return f"{connection}:tunnel{tunnel}" if tunnel else connection


def tunnel_origin(connection: str, tunnel: int) -> str:
    """A VPN tunnel (1-based) within its connection's origin ``connection``, as its flow log
    samples' observation point names it (the file has no object per tunnel: its flows carry
    the connection's cookie)."""
    return f"{connection}.tunnels[{tunnel}]"


def path_origins(topology: m.Topology) -> dict[str, str]:
    """The origin of every way to a site (each VPN tunnel, each Direct Connect link) -> its
    flow log ``vpclab-path``."""
    found = {
        tunnel_origin(c.origin, n): path_label(c.name, n)
        for c in topology.hybrid.vpn_connections
        for n in range(1, c.tunnels + 1)
    }
    found.update({link.origin: path_label(link.name) for link in topology.hybrid.dx_connections})
    return found


def connection_index(topology: m.Topology, connection: str) -> int:
    """A VPN connection's place in the file (0-based): its tunnels' addresses, VNIs and names."""
    return [c.name for c in topology.hybrid.vpn_connections].index(connection)


def tunnel_outside(topology: m.Topology, connection: str, tunnel: int) -> IPv4Address:
    """AWS's outside address of a VPN connection's tunnel (1-based)."""
    return m.AWS_VPN_ENDPOINTS.network_address + 1 + 2 * connection_index(topology, connection) + tunnel - 1


def tunnel_vni(topology: m.Topology, connection: str, tunnel: int) -> int:
    return FIRST_TUNNEL_VNI + 2 * connection_index(topology, connection) + tunnel


def edge_ports(topology: m.Topology, first_port: int) -> list[EdgePort]:
    """The internet card's ports for the sites and AWS's VPN ends, numbered from ``first_port``."""
    ports: list[EdgePort] = []

    def add(kind, namespace, interface, inside, addresses, origin, connection="", tunnel=0):
        port = first_port + len(ports)
        mac = f"02:00:fd:00:{port >> 8 & 0xFF:02x}:{port & 0xFF:02x}"
        ports.append(
            EdgePort(kind, namespace, interface, inside, port, mac, addresses, origin, connection, tunnel)
        )

    for k, site in enumerate(topology.hybrid.sites):
        add(OUTSIDE, f"site-{site.name}", f"site{k}", "outside", (site.public_ip,), site.origin)
    for k, connection in enumerate(topology.hybrid.vpn_connections):
        namespace = f"aws-{connection.name}"
        outside = tuple(
            tunnel_outside(topology, connection.name, n) for n in range(1, connection.tunnels + 1)
        )
        add(OUTSIDE, namespace, f"vpn{k}", "outside", outside, connection.origin)
        for n in range(1, connection.tunnels + 1):
            add(INNER, namespace, f"vpn{k}t{n}", f"inner{n}", (), connection.origin, connection.name, n)
    for k, link in enumerate(topology.hybrid.dx_connections):
        add(DX, f"aws-{link.name}", f"dx{k}", "inner", (), link.origin, link.name)
    return ports


def dx_device(topology: m.Topology, link: str) -> str:
    """A Direct Connect link's device at the site's router."""
    return f"dx{[c.name for c in topology.hybrid.dx_connections].index(link)}"


def tunnel_device(topology: m.Topology, connection: str, tunnel: int) -> str:
    """A VPN connection's tunnel's device at the site's router."""
    return f"vpn{connection_index(topology, connection)}t{tunnel}"


def site_devices(topology: m.Topology, site: str) -> dict[str, tuple[str, int]]:
    """The devices of ``site``'s router that lead to AWS: each to its (connection, tunnel), a
    Direct Connect link's to (link, 0), as the internet card's edge ports are keyed."""
    hybrid = topology.hybrid
    found = {
        tunnel_device(topology, c.name, n): (c.name, n)
        for c in hybrid.vpn_connections
        if c.customer_gateway == site
        for n in range(1, c.tunnels + 1)
    }
    found.update(
        {
            dx_device(topology, link.name): (link.name, 0)
            for link in hybrid.dx_connections
            if link.site == site
        }
    )
    return found


def tunnel_cidr(connection: m.VpnConnection, tunnel: int) -> IPv4Network:
    return connection.inside_cidrs[tunnel - 1]
