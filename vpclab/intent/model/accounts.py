"""vpclab's model: AWS accounts and Regions, and the quotas a design is held to."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ACCOUNT_NAME = "default"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
INTER_REGION_MTU = 8500  # inter-Region peering (and TGW peering) carries 8500 bytes


@dataclass(frozen=True)
class Account:
    origin: str
    name: str
    id: str  # the 12-digit account id (flow logs' account-id, imported designs' owner)


@dataclass(frozen=True)
class Region:
    origin: str
    name: str  # us-east-1: its AZs are us-east-1a, us-east-1b...

    def zone(self, az: str) -> str:
        """The AZ's full name: ``a`` in us-east-1 is us-east-1a; a full name stays as it is."""
        return az if az.startswith(self.name) else f"{self.name}{az}"


DEFAULT_ACCOUNTS = (Account("accounts", DEFAULT_ACCOUNT_NAME, DEFAULT_ACCOUNT_ID),)  # a file without them
DEFAULT_REGIONS = (Region("regions", DEFAULT_REGION),)


@dataclass(frozen=True)
class Quota:
    """An AWS quota a design can hit: its name in the Service Quotas console, the default an
    account starts with, and the most AWS raises it to (``quotas:`` in the YAML raises it)."""

    key: str  # the YAML key under ``quotas:``
    name: str
    default: int
    most: int

    def describe(self, value: int) -> str:
        raised = "" if value == self.default else f", raised from the default {self.default}"
        return f"AWS quota '{self.name}' is {value}{raised}"


QUOTAS = {
    quota.key: quota
    for quota in (
        Quota("peerings_per_vpc", "Active VPC peering connections per VPC", 50, 125),
        Quota("rules_per_security_group", "Inbound or outbound rules per security group", 60, 1000),
        Quota("routes_per_route_table", "Routes per route table", 50, 1000),
        Quota("rules_per_network_acl", "Rules per network ACL", 20, 40),
        Quota("security_groups_per_interface", "Security groups per network interface", 5, 16),
        Quota("attachments_per_transit_gateway", "Attachments per transit gateway", 5000, 5000),
    )
}
