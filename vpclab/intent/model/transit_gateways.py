"""vpclab's model: transit gateways."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Optional

from .accounts import DEFAULT_ACCOUNT_NAME, DEFAULT_REGION
from .vpcs import _by_name

ATTACHMENT_STATES = ("pending-acceptance", "available", "rejected")  # `status:`; default available,
# or pending-acceptance for another account's attachment to a TGW that does not accept them itself


@dataclass(frozen=True)
class Attachment:
    origin: str
    transit_gateway: str
    name: str
    vpc: str
    subnets: tuple[str, ...]
    security_group_referencing_support: bool = True  # AWS: on for an attachment, off for a TGW
    status: str = "available"  # pending-acceptance: a shared TGW's owner has not accepted it yet
    peering: Optional[str] = None  # a TGW peering attachment: its `transit_gateway_peerings` name
    vpn: Optional[str] = None  # a VPN attachment: its `vpn_connections` name
    direct_connect_gateway: Optional[str] = None  # a Direct Connect gateway attachment

    @property
    def hybrid(self) -> bool:
        """Does it lead to on-premises sites (a VPN or a Direct Connect gateway)?"""
        return self.vpn is not None or self.direct_connect_gateway is not None

    @property
    def available(self) -> bool:
        """Does it carry packets? Only an available attachment does."""
        return self.status == "available"


@dataclass(frozen=True)
class TgwRoute:
    """A TGW route: static (to an attachment or blackhole) or propagated from an attachment."""

    origin: str
    destination: IPv4Network | IPv6Network
    attachment: Optional[str] = None
    blackhole: bool = False
    propagated: bool = False

    def describe(self) -> str:
        target = "blackhole" if self.blackhole else f"attachment {self.attachment}"
        kind = "propagated" if self.propagated else "static"
        return f"{self.destination} -> {target} ({kind})"


@dataclass(frozen=True)
class TgwRouteTable:
    origin: str
    name: str
    associations: tuple[str, ...]
    propagations: tuple[str, ...]
    static_routes: tuple[TgwRoute, ...]


@dataclass(frozen=True)
class TransitGateway:
    origin: str
    name: str
    attachments: tuple[Attachment, ...]
    route_tables: tuple[TgwRouteTable, ...]
    security_group_referencing_support: bool = False
    account: str = DEFAULT_ACCOUNT_NAME
    region: str = DEFAULT_REGION
    shared_with: tuple[str, ...] = ()  # accounts it is shared with (AWS RAM)
    auto_accept_shared_attachments: bool = False
    vpn_ecmp_support: bool = True  # AWS's default: equal VPN routes share the flows
    asn: int = 64512  # its Amazon-side BGP ASN (AWS's default)

    def attachment(self, name: str) -> Attachment:
        return _by_name(self.attachments, name)

    def attachment_of(self, vpc: str) -> Optional[Attachment]:
        """The attachment of ``vpc`` (a VPC is attached at most once)."""
        return next((a for a in self.vpc_attachments if a.vpc == vpc), None)

    @property
    def vpc_attachments(self) -> tuple[Attachment, ...]:
        """Its attachments of VPCs (not its peering, VPN or Direct Connect attachments)."""
        return tuple(a for a in self.attachments if a.peering is None and not a.hybrid)

    def vpn_attachment(self, connection: str) -> Optional[Attachment]:
        return next((a for a in self.attachments if a.vpn == connection), None)

    def dx_attachment(self, gateway: str) -> Optional[Attachment]:
        return next((a for a in self.attachments if a.direct_connect_gateway == gateway), None)

    def peering_attachment(self, peering: str) -> Optional[Attachment]:
        return next((a for a in self.attachments if a.peering == peering), None)

    def association(self, attachment: str) -> Optional[TgwRouteTable]:
        """The route table ``attachment`` is associated with, if any."""
        return next((t for t in self.route_tables if attachment in t.associations), None)


@dataclass(frozen=True)
class TransitGatewayPeering:
    """Two TGWs peered (of one Region or two, of one account or two): each has a peering
    attachment naming it; only static routes lead into it (AWS), and only an active one
    carries packets."""

    origin: str
    name: str
    requester: str
    accepter: str
    status: str = "active"

    @property
    def active(self) -> bool:
        return self.status == "active"

    def other(self, tgw: str) -> str:
        return self.accepter if tgw == self.requester else self.requester
