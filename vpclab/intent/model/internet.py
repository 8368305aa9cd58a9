"""vpclab's model: internet."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Optional


@dataclass(frozen=True)
class InternetGateway:
    origin: str  # the VPC's `internet_gateway` key
    name: str
    vpc: str


@dataclass(frozen=True)
class EgressOnlyInternetGateway:
    """IPv6's one-way gateway: instances' IPv6 packets go out to the internet, and only the
    replies of those connections come back in (stateful, as a NAT gateway is, without NAT)."""

    origin: str  # the VPC's `egress_only_internet_gateway` key
    name: str
    vpc: str


@dataclass(frozen=True)
class NatGateway:
    """A public NAT gateway: an interface in a public subnet that translates many private
    sources to its own address (ports too), then its Elastic IP at the internet gateway."""

    origin: str
    name: str
    vpc: str
    subnet: str
    ip: IPv4Address  # its private address in the subnet (AWS assigns one; so does vpclab)
    public_ip: IPv4Address  # its Elastic IP
    server: str  # the server whose Nitro card carries its translations (placement)
    public_ip_named: bool = False  # the file names its Elastic IP (else the pool gave one)
    aws_public_ip: Optional[IPv4Address] = None  # an imported one's real Elastic IP

    @property
    def public_ip_origin(self) -> str:
        """The YAML path of its Elastic IP: the key if the file names it, else the gateway."""
        return f"{self.origin}.public_ip" if self.public_ip_named else self.origin


@dataclass(frozen=True)
class InternetHost:
    """A host of the emulated internet, outside every VPC (an address of RFC 5737). An AWS
    service's endpoint (``service``: com.amazonaws.REGION.SERVICE) answers on every address
    of its ``network``."""

    origin: str
    name: str
    ip: IPv4Address | IPv6Address  # IPv6 only for an address outside the emulation, as trace meets one
    network: Optional[IPv4Network] = None
    service: Optional[str] = None
    ipv6: Optional[IPv6Address] = None  # its IPv6 address (2001:db8::/32), if it has one

    def has(self, address) -> bool:
        return address in (self.ip, self.ipv6) or (self.network is not None and address in self.network)
