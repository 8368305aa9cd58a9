"""vpclab's model: prefix lists and gateway endpoints.

A prefix list is a named set of CIDRs that routes and SG rules may name (AWS: "managed prefix
lists"). A customer-managed list is the design's own; an AWS-managed list is AWS's, one per
service and Region (``com.amazonaws.us-east-1.s3``). vpclab gives each AWS-managed list one
block of the documentation range 192.0.2.0/24, where the emulated service answers on every
address; an imported design keeps the real CIDRs beside them (``aws_cidrs``), so an address
of the real service is understood as the emulated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Optional

# the services a gateway endpoint reaches, in the order their blocks are numbered
GATEWAY_SERVICES = ("s3", "dynamodb")
AWS_SERVICE_RANGE = IPv4Network("192.0.2.0/24")  # the emulated AWS services' addresses (RFC 5737)
AWS_SERVICE_BLOCK = 28  # one /28 per service and Region: 6 Regions of two services, below
AWS_VPN_ENDPOINTS = IPv4Network("192.0.2.192/26")  # AWS's VPN tunnel outside addresses (vpclab's)
MAX_PREFIX_LIST_ENTRIES = 1000  # AWS's quota: entries per customer-managed prefix list
AWS_MANAGED_PREFIX = "com.amazonaws."


def aws_list_name(region: str, service: str) -> str:
    """AWS's name of a service's managed prefix list (and of its endpoint service)."""
    return f"{AWS_MANAGED_PREFIX}{region}.{service}"


@dataclass(frozen=True)
class PrefixList:
    """A managed prefix list. ``max_entries`` is what AWS counts against the quotas of each
    SG and route table that names the list (rules per SG, routes per table)."""

    origin: str
    name: str
    cidrs: tuple[IPv4Network, ...]
    max_entries: int
    service: Optional[str] = None  # an AWS-managed list: the service ("s3")
    region: Optional[str] = None  # ... and its Region

    @property
    def aws_managed(self) -> bool:
        return self.service is not None

    def describe(self) -> str:
        return f"prefix list {self.name} ({', '.join(str(c) for c in self.cidrs)})"


@dataclass(frozen=True)
class GatewayEndpoint:
    """A gateway endpoint (S3, DynamoDB): routes to its service's AWS-managed prefix list in
    each associated route table; only traffic that starts in its VPC may use it; the service
    sees the instance's private address."""

    origin: str
    name: str
    vpc: str
    service: str  # "s3" or "dynamodb"
    region: str
    prefix_list: str  # the AWS-managed list its routes name
    route_tables: tuple[str, ...]
    aws_cidrs: tuple[IPv4Network, ...] = ()  # an imported one: the service's real CIDRs

    @property
    def service_name(self) -> str:
        return aws_list_name(self.region, self.service)


@dataclass(frozen=True)
class AwsService:
    """An AWS service's emulated public endpoint: one host on the emulated internet that
    answers on every address of ``network`` (its AWS-managed prefix list's block), reached
    through the internet or a gateway endpoint."""

    name: str  # com.amazonaws.REGION.SERVICE
    service: str
    region: str
    network: IPv4Network
    aws_cidrs: tuple[IPv4Network, ...] = ()  # an imported design: the service's real CIDRs

    @property
    def ip(self) -> IPv4Address:
        return self.network[1]
