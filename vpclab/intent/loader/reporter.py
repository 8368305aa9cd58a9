"""The loader's shared state: a reporter of problems and a typed index of what is built so far.

Each resource family (network, connections, rules, routes, instances) is built by its own
module, in order; later families look up earlier ones in ``Known`` and report through
``Reporter``, so every problem keeps its file, line and path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import NamedTuple, Optional, TypeVar

from .. import model as m
from ..document import Document
from ..errors import DocPath, Problem, format_path

T = TypeVar("T")


class Reporter:
    """Collects every problem of one document (never stops at the first)."""

    def __init__(self, document: Document):
        self.document = document
        self.problems: list[Problem] = []

    def report(self, path: DocPath, message: str) -> None:
        self.problems.append(self.document.problem(path, message))

    def parsed(self, path: DocPath, parser: Callable[..., T], *args) -> Optional[T]:
        """``parser(*args)``, or None after reporting its ValueError at ``path``."""
        try:
            return parser(*args)
        except ValueError as error:
            self.report(path, str(error))
            return None

    def unique_names(self, items: list, path: DocPath, what: str) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if item["name"] in seen:
                self.report(
                    path + (index, "name"),
                    f"{what} '{item['name']}' is already defined at "
                    f"{format_path(path + (seen[item['name']],))}",
                )
            else:
                seen[item["name"]] = index


class SubnetDraft(NamedTuple):
    """A subnet before its VPC is built: its CIDR (None if invalid), AZ and list position."""

    cidr: Optional[IPv4Network]
    az: str
    position: int
    ipv6_cidr: Optional[IPv6Network] = None
    ipv6_native: bool = False  # IPv6-only: no IPv4 CIDR by design (cidr None is then no error)

    @property
    def built(self) -> bool:
        """Are its CIDRs valid (so the subnet is built)?"""
        return self.ipv6_cidr is not None if self.ipv6_native else self.cidr is not None


@dataclass
class Known:
    """What earlier steps built, for the references of later ones."""

    servers: tuple[m.Server, ...] = ()
    accounts: tuple[m.Account, ...] = ()
    regions: tuple[m.Region, ...] = ()
    quotas: dict[str, int] = field(default_factory=dict)  # quota key -> its value here
    places: dict[str, tuple[str, str]] = field(default_factory=dict)  # VPC -> (account, Region)
    vpc_cidrs: dict[str, tuple[IPv4Network, ...]] = field(default_factory=dict)
    vpc_ipv6: dict[str, Optional[IPv6Network]] = field(default_factory=dict)  # VPC -> its /56
    eigws: dict[str, m.EgressOnlyInternetGateway] = field(default_factory=dict)  # VPC ->
    subnets: dict[str, dict[str, SubnetDraft]] = field(default_factory=dict)  # VPC -> name ->
    peerings: tuple[m.Peering, ...] = ()
    transit_gateways: tuple[m.TransitGateway, ...] = ()
    tgw_peerings: list = field(default_factory=list)  # the file's transit_gateway_peerings entries
    vpn_connection_items: list = field(default_factory=list)  # the file's vpn_connections entries
    dx_gateway_items: list = field(default_factory=list)  # the file's direct_connect_gateways entries
    vpn_gateways: dict[str, m.VpnGateway] = field(default_factory=dict)  # VGW name ->
    sg_owners: dict[str, str] = field(default_factory=dict)  # SG name -> VPC (not 'default')
    sg_places: dict = field(default_factory=dict)  # (name or ('default', v)) -> defining path
    server_load: Counter = field(default_factory=Counter)  # instances placed per server
    internet_gateways: dict[str, m.InternetGateway] = field(default_factory=dict)  # VPC ->
    outside_addresses: dict = field(default_factory=dict)  # internet address -> its key's path
    prefix_lists: dict[str, m.PrefixList] = field(default_factory=dict)  # name -> (both kinds)
    used_services: set[str] = field(default_factory=set)  # the AWS-managed lists named
    gateway_endpoints: list[m.GatewayEndpoint] = field(default_factory=list)
    gateway_routes: dict = field(default_factory=dict)  # (VPC, table) -> its gateway endpoints
    public_ips: dict = field(default_factory=dict)  # (VPC index, instance index) -> address
    nat_gateways: dict[str, set] = field(default_factory=dict)  # VPC -> its NAT gateways' names
    nat_public_ips: dict = field(default_factory=dict)  # (VPC index, NAT index) -> Elastic IP

    def peered(self, vpc_a: str, vpc_b: str) -> bool:
        return any(p.joins(vpc_a, vpc_b) for p in self.peerings)

    def tgw_referencing(self, vpc_a: str, vpc_b: str) -> bool:
        """Are both VPCs attached to one TGW whose SG referencing support is on?"""
        return any(
            tgw.security_group_referencing_support and tgw.attachment_of(vpc_a) and tgw.attachment_of(vpc_b)
            for tgw in self.transit_gateways
        )
