"""vpclab's model: vpcs."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Optional

from .accounts import DEFAULT_ACCOUNT_NAME, DEFAULT_REGION
from .constants import RESERVED_HOST_OFFSETS
from .instances import Instance
from .internet import InternetGateway, NatGateway
from .nacls import Nacl
from .routes import RouteTable
from .security_groups import SecurityGroup


@dataclass(frozen=True)
class Subnet:
    origin: str
    vpc: str
    name: str
    cidr: IPv4Network
    az: str
    route_table: str
    nacl: str

    @property
    def router_address(self) -> IPv4Address:
        """The VPC router's address here (network + 1), the instances' default gateway."""
        return self.cidr.network_address + 1

    @property
    def reserved_addresses(self) -> frozenset[IPv4Address]:
        """The five addresses AWS reserves: .0, .1 router, .2 DNS, .3, and the broadcast."""
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

    @property
    def resolver_address(self) -> IPv4Address:
        """AmazonProvidedDNS: the VPC's first CIDR's base address + 2."""
        return self.cidrs[0].network_address + 2

    def contains(self, address: IPv4Address) -> bool:
        return any(address in cidr for cidr in self.cidrs)

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
