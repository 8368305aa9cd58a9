"""vpclab's model: vpcs."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Optional

from .accounts import DEFAULT_ACCOUNT_NAME, DEFAULT_REGION
from .constants import RESERVED_HOST_OFFSETS
from .instances import Instance
from .internet import EgressOnlyInternetGateway, InternetGateway, NatGateway
from .nacls import Nacl
from .routes import RouteTable
from .security_groups import SecurityGroup


@dataclass(frozen=True)
class Subnet:
    origin: str
    vpc: str
    name: str
    cidr: Optional[IPv4Network]  # None: an IPv6-only subnet (ipv6_native)
    az: str
    route_table: str
    nacl: str
    ipv6_cidr: Optional[IPv6Network] = None  # its /64 of the VPC's /56 (dual stack)

    @property
    def ipv6_native(self) -> bool:
        """An IPv6-only subnet: no IPv4 CIDR, its instances have IPv6 addresses only."""
        return self.cidr is None

    @property
    def ipv4(self) -> IPv4Network:
        """Its IPv4 CIDR, where only a subnet with one can be (IPv4's stages, the cards)."""
        assert self.cidr is not None, f"{self.name} is IPv6-only"
        return self.cidr

    @property
    def router_address(self) -> IPv4Address:
        """The VPC router's address here (network + 1), the instances' default gateway."""
        return self.ipv4.network_address + 1

    @property
    def router_addresses(self) -> tuple:
        """The VPC router's addresses here, of each family the subnet has."""
        found = (self.router_address,) if self.cidr is not None else ()
        return found + ((self.router_address_v6,) if self.ipv6_cidr is not None else ())

    def contains(self, address) -> bool:
        """Is ``address`` (either family) in this subnet's CIDR or its /64?"""
        return any(address in block for block in (self.cidr, self.ipv6_cidr) if block is not None)

    @property
    def router_address_v6(self) -> Optional[IPv6Address]:
        """The VPC router's IPv6 address here (the /64's base + 1), if the subnet has IPv6."""
        return None if self.ipv6_cidr is None else self.ipv6_cidr.network_address + 1

    @property
    def reserved_addresses_v6(self) -> frozenset[IPv6Address]:
        """The IPv6 addresses AWS reserves: the /64's first four and its last."""
        if self.ipv6_cidr is None:
            return frozenset()
        base = self.ipv6_cidr.network_address
        return frozenset(
            {base + offset for offset in RESERVED_HOST_OFFSETS} | {self.ipv6_cidr.broadcast_address}
        )

    @property
    def reserved_addresses(self) -> frozenset[IPv4Address]:
        """The five addresses AWS reserves: .0, .1 router, .2 DNS, .3, and the broadcast."""
        if self.cidr is None:
            return frozenset()
        base = self.cidr.network_address
        return frozenset({base + offset for offset in RESERVED_HOST_OFFSETS} | {self.cidr.broadcast_address})


@dataclass(frozen=True)
class Vpc:
    origin: str
    name: str
    number: int  # 1-based position in the file; the VXLAN VNI derives from it
    cidrs: tuple[IPv4Network, ...]
    subnets: tuple[Subnet, ...]
    route_tables: tuple[RouteTable, ...]
    security_groups: tuple[SecurityGroup, ...]
    nacls: tuple[Nacl, ...]
    instances: tuple[Instance, ...]
    internet_gateway: Optional[InternetGateway] = None
    nat_gateways: tuple[NatGateway, ...] = ()
    dns_support: bool = True  # enable_dns_support: the resolver answers at base + 2
    account: str = DEFAULT_ACCOUNT_NAME  # the owner's name in ``accounts:``
    region: str = DEFAULT_REGION
    ipv6_cidr: Optional[IPv6Network] = None  # its /56 (dual stack), from 2001:db8::/32
    egress_only_internet_gateway: Optional[EgressOnlyInternetGateway] = None

    @property
    def resolver_address(self) -> IPv4Address:
        """AmazonProvidedDNS: the VPC's first CIDR's base address + 2."""
        return self.cidrs[0].network_address + 2

    @property
    def all_cidrs(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Its IPv4 CIDRs, then its IPv6 one: what its local routes cover."""
        return self.cidrs + ((self.ipv6_cidr,) if self.ipv6_cidr is not None else ())

    def contains(self, address) -> bool:
        return any(address in cidr for cidr in self.all_cidrs)

    def subnet(self, name: str) -> Subnet:
        return _by_name(self.subnets, name)

    def route_table(self, name: str) -> RouteTable:
        return _by_name(self.route_tables, name)

    def nacl(self, name: str) -> Nacl:
        return _by_name(self.nacls, name)

    def nat_gateway(self, name: str) -> NatGateway:
        return _by_name(self.nat_gateways, name)

    @property
    def main_route_table(self) -> RouteTable:
        return next(table for table in self.route_tables if table.main)


def _by_name(items, name):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)
