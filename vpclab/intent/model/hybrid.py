"""vpclab's model: on-premises sites and how they reach AWS (Site-to-Site VPN, Direct Connect).

A site is a customer's data centre: its router (the customer gateway, with a BGP ASN and an
outside address on the internet), the prefixes it announces and its hosts. It reaches a VPC's
virtual private gateway (VGW) or a transit gateway over a VPN connection (two tunnels over the
internet, each its own BGP session, or static routes), or over Direct Connect (a dedicated link,
one BGP session per virtual interface) through a Direct Connect gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Optional

AMAZON_SIDE_ASN = 64512  # AWS's default ASN for a VGW, a TGW and a Direct Connect gateway
# AWS's Amazon-side ASNs: a private 16-bit or 32-bit one
AMAZON_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
CUSTOMER_ASN_RANGE = (1, 2147483647)  # a customer gateway's BGP ASN (AWS)
VPN_TUNNELS = 2  # AWS gives every VPN connection two tunnels
ROUTING = ("bgp", "static")
VIF_TYPES = ("private", "transit")
DX_PREFERENCES = ("high", "medium", "low")  # AWS's Direct Connect local preference communities, first first
VPN_TUNNEL_MTU = 1446  # AWS: the largest packet inside a VPN tunnel
VPN_TUNNEL_MSS = 1406  # AWS: the MSS it clamps TCP to inside a tunnel
INSIDE_RANGE = IPv4Network("169.254.0.0/16")  # AWS: a tunnel's inside /30 is taken from it
RESERVED_INSIDE = tuple(  # AWS refuses these as a tunnel's inside CIDR
    IPv4Network(c)
    for c in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)
FIRST_INSIDE = IPv4Network("169.254.10.0/30")  # vpclab's first: tunnels, then links, /30 by /30


@dataclass(frozen=True)
class SiteHost:
    origin: str
    name: str
    ip: IPv4Address
    site: str


@dataclass(frozen=True)
class OnPremises:
    """A site: its customer gateway (ASN, outside address), what it announces, its hosts."""

    origin: str
    name: str
    asn: int
    public_ip: IPv4Address
    cidrs: tuple[IPv4Network, ...]
    hosts: tuple[SiteHost, ...] = ()

    def owns(self, address: IPv4Address | IPv6Address) -> bool:
        return any(address in cidr for cidr in self.cidrs)


@dataclass(frozen=True)
class VpnGateway:
    """A virtual private gateway, attached to one VPC."""

    origin: str
    name: str
    vpc: str
    asn: int = AMAZON_SIDE_ASN


@dataclass(frozen=True)
class VpnConnection:
    """A Site-to-Site VPN connection from a site's customer gateway to a VGW or a TGW: its
    tunnels each carry a BGP session (routing bgp) or the connection's static routes."""

    origin: str
    name: str
    customer_gateway: str  # the site
    vpn_gateway: Optional[str] = None
    transit_gateway: Optional[str] = None
    routing: str = "bgp"
    static_routes: tuple[IPv4Network, ...] = ()
    tunnels: int = VPN_TUNNELS
    tunnels_down: tuple[int, ...] = ()  # runtime state: the tunnels (1-based) that are down
    inside_cidrs: tuple[IPv4Network, ...] = ()  # each tunnel's /30: AWS's end the first address
    # runtime state: per BGP tunnel, the prefixes AWS's end learned over its session, as the
    # live run's BGP daemon reported them (a tunnel not listed: what the site is designed to
    # announce, its cidrs)
    learned: tuple[tuple[int, tuple[IPv4Network, ...]], ...] = ()

    @property
    def bgp(self) -> bool:
        return self.routing == "bgp"

    def announced(self, tunnel: int, cidrs: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        """What the site announces over BGP tunnel ``tunnel``: what AWS's end learned there if
        the run reported it, else ``cidrs`` (the site's, as designed)."""
        return dict(self.learned).get(tunnel, cidrs)

    @property
    def tunnels_up(self) -> tuple[int, ...]:
        return tuple(n for n in range(1, self.tunnels + 1) if n not in self.tunnels_down)

    def describe(self) -> str:
        gateway = f"VGW {self.vpn_gateway}" if self.vpn_gateway else f"TGW {self.transit_gateway}"
        return f"VPN {self.name} ({self.routing}, {self.customer_gateway} -> {gateway})"


@dataclass(frozen=True)
class DxAssociation:
    """A Direct Connect gateway's association with a VGW or a TGW, and the prefixes it
    announces to the sites (for a VGW without them: the VPC's CIDRs)."""

    origin: str
    vpn_gateway: Optional[str] = None
    transit_gateway: Optional[str] = None
    allowed_prefixes: tuple[IPv4Network, ...] = ()


@dataclass(frozen=True)
class DirectConnectGateway:
    origin: str
    name: str
    asn: int = AMAZON_SIDE_ASN
    associations: tuple[DxAssociation, ...] = ()

    def association_with(self, kind: str, name: str) -> Optional[DxAssociation]:
        """Its association with the VGW (kind ``vpn_gateway``) or TGW ``name``, if any."""
        return next((a for a in self.associations if getattr(a, kind) == name), None)


@dataclass(frozen=True)
class DirectConnectConnection:
    """A dedicated link from a site to a Direct Connect location, with one virtual interface
    to a Direct Connect gateway: private (to its VGWs) or transit (to its TGWs)."""

    origin: str
    name: str
    site: str
    gateway: str
    type: str = "private"
    down: bool = False  # runtime state: the link has failed
    peering_cidr: Optional[IPv4Network] = None  # the VIF's /30: Amazon's address, then the site's
    learned: Optional[tuple[IPv4Network, ...]] = None  # runtime state: what AWS's end learned over it
    # what the site's announcements ask of AWS among its Direct Connect paths (AWS: the local
    # preference communities 7224:7300 high, 7224:7200 medium, the default, 7224:7100 low)
    preference: str = "medium"

    def announced(self, cidrs: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        """What the site announces over the link: what AWS's end learned if the run reported
        it, else ``cidrs`` (the site's, as designed)."""
        return cidrs if self.learned is None else self.learned

    def describe(self) -> str:
        return f"Direct Connect {self.name} ({self.type} VIF, {self.site} -> DX gateway {self.gateway})"


@dataclass(frozen=True)
class Hybrid:
    """Everything on-premises and between it and AWS, with its look-ups."""

    sites: tuple[OnPremises, ...] = ()
    vpn_gateways: tuple[VpnGateway, ...] = ()
    vpn_connections: tuple[VpnConnection, ...] = ()
    dx_gateways: tuple[DirectConnectGateway, ...] = ()
    dx_connections: tuple[DirectConnectConnection, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sites)

    def site(self, name: str) -> OnPremises:
        return _named(self.sites, name)

    @property
    def hosts(self) -> tuple[SiteHost, ...]:
        return tuple(host for site in self.sites for host in site.hosts)

    def host(self, name: str) -> SiteHost:
        return _named(self.hosts, name)

    def site_owning(self, address: IPv4Address | IPv6Address) -> Optional[OnPremises]:
        """The site whose prefixes hold ``address`` (the most specific), if any."""
        owners = [(c.prefixlen, s) for s in self.sites for c in s.cidrs if address in c]
        return max(owners, key=lambda pair: pair[0])[1] if owners else None

    def vpn_gateway(self, name: str) -> VpnGateway:
        return _named(self.vpn_gateways, name)

    def vpn_gateway_of(self, vpc: str) -> Optional[VpnGateway]:
        """The VGW attached to ``vpc`` (a VPC has at most one)."""
        return next((g for g in self.vpn_gateways if g.vpc == vpc), None)

    def connection(self, name: str) -> VpnConnection:
        return _named(self.vpn_connections, name)

    def connections_to(self, kind: str, name: str) -> tuple[VpnConnection, ...]:
        """The VPN connections to VGW (``kind`` vpn_gateway) or TGW (transit_gateway) ``name``."""
        return tuple(c for c in self.vpn_connections if getattr(c, kind) == name)

    def dx_gateway(self, name: str) -> DirectConnectGateway:
        return _named(self.dx_gateways, name)

    def dx_connection(self, name: str) -> DirectConnectConnection:
        return _named(self.dx_connections, name)

    def dx_gateways_of(self, kind: str, name: str) -> tuple[DirectConnectGateway, ...]:
        """The Direct Connect gateways associated with VGW or TGW ``name``."""
        return tuple(g for g in self.dx_gateways if g.association_with(kind, name) is not None)

    def dx_connections_to(self, gateway: str, vif: str) -> tuple[DirectConnectConnection, ...]:
        """The links whose virtual interface of type ``vif`` reaches DX gateway ``gateway``."""
        return tuple(c for c in self.dx_connections if c.gateway == gateway and c.type == vif)


def _named(items, name: str):
    found = next((item for item in items if item.name == name), None)
    if found is None:
        raise KeyError(name)
    return found
