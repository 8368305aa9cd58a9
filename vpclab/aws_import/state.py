"""What one pass over a snapshot keeps: the names given, the ids mapped so far, what was
skipped or changed; and the constants of the mapping."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Optional

from vpclab.intent.model import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

from .ipv6 import Ipv6Space
from .snapshot import ORIGIN, SnapshotError

ALL_PORTS = (0, 65535)
PROTOCOL_NAMES = {
    "-1": "all",
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "tcp": "tcp",
    "udp": "udp",
    "icmp": "icmp",
    "58": "icmpv6",
    "icmpv6": "icmpv6",
}
IMPLICIT_NACL_RULE = 32767  # AWS's '*' rule: vpclab adds it to every NACL
UNSUPPORTED_TARGETS = {
    "VpcEndpointId": "a route to a gateway load balancer endpoint (not emulated)",
    "CarrierGatewayId": "a route to a carrier gateway (not emulated)",
    "LocalGatewayId": "a route to an Outposts local gateway (not emulated)",
}
GATEWAY_PREFIXES = {
    "vpce-": "a route to a gateway endpoint (not emulated)",
}
VPC_KEYS = (  # the order of a VPC's keys in the written YAML
    "name",
    "description",
    "account",
    "region",
    "cidr",
    "ipv6_cidr",
    "internet_gateway",
    "egress_only_internet_gateway",
    "subnets",
    "route_tables",
    "nacls",
    "security_groups",
    "nat_gateways",
    "instances",
)
TGW_KEYS = (  # the order of a TGW's keys in the written YAML
    "name",
    "description",
    "account",
    "region",
    "shared_with",
    "auto_accept_shared_attachments",
    "attachments",
    "route_tables",
)
PUBLIC_ON_APPLY = "_vpclab_public_on_apply"  # (a plan's instance) AWS gives it a public IP on launch
PUBLIC_RANGE = "203.0.113.0/24"  # where vpclab puts public and Elastic IPs (RFC 5737)
ATTACHMENT_STATES = {
    "available": "available",
    "pendingAcceptance": "pending-acceptance",
    "rejected": "rejected",
}
PEERING_ATTACHMENT_STATES = {  # a TGW peering attachment's State -> its peering's status
    "available": "active",
    "pendingAcceptance": "pending-acceptance",
    "rejected": "rejected",
    "deleted": "deleted",
}
OTHER_ATTACHMENTS = {  # a TGW attachment's ResourceType -> why it is not imported
    "peering": "TGW peering attachments are not emulated yet",
    "connect": "TGW Connect attachments are not emulated",
    "tgw-peering": "TGW peering attachments are not emulated yet",
}
# files vpclab reads no network from: (kind, id key, reason); every object is listed
OTHER_FILES = {
    "AvailabilityZones": ("availability zone", "ZoneName", "an AZ is named by its subnets"),
    "NetworkInterfaces": ("network interface", "NetworkInterfaceId", ""),  # see Mapper.map_interfaces
    "VpcEndpointServices": ("endpoint service", "ServiceId", "endpoint services are not imported yet"),
    "RdsInstances": (
        "RDS instance",
        "DBInstanceIdentifier",
        "RDS is not emulated (its interfaces are listed too)",
    ),
    "ElasticsearchDomains": (
        "Elasticsearch domain",
        "DomainId",
        "Elasticsearch is not emulated (its interfaces are listed too)",
    ),
}


@dataclass(frozen=True)
class Skipped:
    kind: str
    aws_id: str
    reason: str


@dataclass
class Imported:
    data: dict
    counts: Counter = field(default_factory=Counter)  # kind -> how many were imported
    skipped: list[Skipped] = field(default_factory=list)
    changed: list[Skipped] = field(default_factory=list)  # imported, but emulated differently


def object_id(resource: dict, key: str) -> str:
    """The AWS id of ``resource``: its ``key``, else its first id-like field."""
    if resource.get(key):
        return str(resource[key])
    for field_name, value in resource.items():
        if isinstance(value, str) and field_name.endswith(("Id", "Arn", "ARN", "Identifier", "Name")):
            return value
    return "?"


def tag_name(resource: dict) -> Optional[str]:
    return next((t["Value"] for t in resource.get("Tags") or [] if t.get("Key") == "Name"), None)


class Namer:
    """Valid, unique names (letters, digits, '-'), per scope."""

    def __init__(self):
        self.taken: dict[object, set[str]] = defaultdict(set)

    def name(self, resource: dict, aws_id: str, scope: object = None, wanted: Optional[str] = None) -> str:
        base = re.sub(r"[^A-Za-z0-9-]+", "-", wanted or tag_name(resource) or "").strip("-")[:56] or aws_id
        candidate, n = base, 2
        while candidate in self.taken[scope]:
            candidate, n = f"{base}-{n}", n + 1
        self.taken[scope].add(candidate)
        return candidate


class MapperState:
    """The mapping's state; the mapping itself is ``mapping.Mapper`` with ``filters``."""

    def __init__(self, snapshot: dict[str, list], name: str, servers_per_az: int = 1):
        self.snapshot, self.servers_per_az = snapshot, servers_per_az
        self.names = Namer()
        self.imported = Imported({"name": name})
        self.vpcs: dict[str, dict] = {}  # vpc id -> its vpclab data
        self.subnets: dict[str, tuple[str, str]] = {}  # subnet id -> (vpc id, name)
        self.peerings: dict[str, str] = {}  # pcx id -> name
        self.tgws: dict[str, str] = {}  # tgw id -> name
        self.attachments: dict[str, str] = {}  # tgw attachment id -> name
        self.peering_sides: dict[tuple[str, str], str] = {}  # (attachment id, TGW id) -> name
        self.tgw_peerings: dict[str, dict] = {}  # TGW peering attachment id -> its peering's data
        self.table_owners = {  # TGW route table id -> its TGW's id
            t["TransitGatewayRouteTableId"]: t.get("TransitGatewayId", "")
            for t in snapshot.get("TransitGatewayRouteTables", [])
        }
        self.groups: dict[str, tuple[str, str]] = {}  # sg id -> (vpc id, name)
        self.instances: dict[str, tuple[str, str]] = {}  # instance id -> (vpc id, name)
        self.interfaces: dict[str, str] = {}  # primary network interface id -> instance id
        self.internet_gateways: dict[str, str] = {}  # igw id -> vpc id
        self.nat_gateways: dict[str, tuple[str, str]] = {}  # nat id -> (vpc id, name)
        self.account_names: dict[str, str] = {}  # account id -> its name in the design
        self.regions: dict[str, None] = {}  # the Regions of the imported VPCs, in order
        self.used_lists: set[str] = set()  # the prefix lists a mapped route or rule names
        self.prefix_lists: dict[str, list[str]] = {
            p["PrefixListId"]: p.get("Cidrs", []) for p in snapshot.get("PrefixLists", [])
        }
        self.prefix_list_names: dict[str, str] = {
            p["PrefixListId"]: p.get("PrefixListName", "") for p in snapshot.get("PrefixLists", [])
        }
        self.table_names: dict[str, str] = {}  # route table id -> its name in the design
        self.endpoint_interfaces: set[str] = set()  # the network interfaces of imported endpoints
        self.routers: list = []  # on-premises routers' configurations (``routers.Router``)
        self.sites: dict[str, dict] = {}  # a customer gateway's id, or "router:<file>" -> its site
        self.used_gateways: set[str] = set()  # the customer gateways of imported VPN connections
        self.vgws: dict[str, str] = {}  # vgw id -> name
        self.tgw_vpns: dict[str, dict] = {}  # a VPN to a TGW that is imported: its id -> its entry
        self.dx_names: dict[str, str] = {}  # a DX gateway that is imported: its id -> its name
        self.ipv6 = Ipv6Space()  # the VPCs' IPv6 blocks, moved into 2001:db8::/32

    def account_of(self, resource: dict, owner_key: str = "OwnerId") -> str:
        """The name of the account that owns ``resource`` (its owner id, else its folder's)."""
        owner = resource.get(owner_key) or resource.get(ORIGIN, (None, None))[0] or DEFAULT_ACCOUNT_ID
        return self.account_names.setdefault(owner, f"account-{owner}")

    def region_of(self, resource: dict) -> str:
        return resource.get(ORIGIN, (None, None))[1] or DEFAULT_REGION

    def mapped_interfaces(self) -> set:
        """The network interfaces of imported instances (their primary) and NAT gateways."""
        return (
            set(self.interfaces)
            | self.endpoint_interfaces
            | {
                a.get("NetworkInterfaceId")
                for nat in self.snapshot["NatGateways"]
                if nat["NatGatewayId"] in self.nat_gateways
                for a in nat.get("NatGatewayAddresses", [])
            }
        )

    def skip(self, kind: str, aws_id: str, reason: str) -> None:
        self.imported.skipped.append(Skipped(kind, aws_id, reason))

    def count(self, kind: str) -> None:
        self.imported.counts[kind] += 1

    def inconsistent(self, file: str, aws_id: str, message: str):
        """Input that contradicts itself: the import stops, naming the file and the id."""
        return SnapshotError(f"{file}.json: {aws_id}: {message}")

    def change(self, kind: str, aws_id: str, how: str) -> None:
        self.imported.changed.append(Skipped(kind, aws_id, how))

    def subnet_data(self, subnet_id: str) -> Optional[dict]:
        if subnet_id not in self.subnets:
            return None
        vpc_id, name = self.subnets[subnet_id]
        return next(s for s in self.vpcs[vpc_id]["subnets"] if s["name"] == name)
