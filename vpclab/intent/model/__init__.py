"""The typed VPC intent model: what a topology YAML means once validated and defaulted.

Every object carries ``origin``: the path of the YAML object that produced it, e.g.
``vpcs[0].nacls[1].ingress[2]``. Objects that AWS creates implicitly (the default SG, the default
NACL, the main route table, the local route, the ``*`` NACL rule) get a path with a name in the
brackets instead of an index: ``vpcs[0].security_groups[default]``, ``...ingress[*]``.
Trace reports these paths as the deciding object; the controller uses them for flow cookies.

One module per AWS concept; everything is importable from here (``model.Instance``)."""

from .accounts import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_ACCOUNT_NAME,
    DEFAULT_ACCOUNTS,
    DEFAULT_REGION,
    DEFAULT_REGIONS,
    INTER_REGION_MTU,
    QUOTAS,
    Account,
    Quota,
    Region,
)
from .constants import (
    DEFAULT_DNS_DOMAIN,
    DOCUMENTATION_RANGES,
    EC2_INTERNAL,
    EPHEMERAL_PORTS,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    INSTANCE_MTU,
    INTERNET_CARD,
    INTERNET_MTU,
    INTERNET_ORIGIN,
    MAX_ATTACHMENT_SUBNETS,
    MAX_VPCS,
    METADATA_ADDRESS,
    MIN_INSTANCE_MTU,
    PROTOCOL_NAMES,
    PROTOCOL_NUMBERS,
    PUBLIC_IP_POOL,
    RESERVED_HOST_OFFSETS,
    RESOLVER_ADDRESS,
    TGW_MSS,
    TGW_MTU,
)
from .dns import DnsRecord, HostedZone
from .flow_logs import DEFAULT_AGGREGATION_INTERVAL, TRAFFIC_TYPES, FlowLog
from .instances import Instance, MetadataOptions
from .internet import InternetGateway, InternetHost, NatGateway
from .nacls import Nacl, NaclRule
from .peering import PEERING_STATES, Peering
from .prefix_lists import (
    AWS_MANAGED_PREFIX,
    AWS_SERVICE_BLOCK,
    AWS_SERVICE_RANGE,
    GATEWAY_SERVICES,
    MAX_PREFIX_LIST_ENTRIES,
    AwsService,
    GatewayEndpoint,
    PrefixList,
    aws_list_name,
)
from .privatelink import (
    EndpointInterface,
    EndpointService,
    Listener,
    LoadBalancer,
    LoadBalancerNode,
    TargetHealthCheck,
    VpcEndpoint,
)
from .routes import HealthCheck, Route, RoutePath, RouteTable
from .security_groups import SecurityGroup, SGRef, SGRule
from .topology import Server, Topology
from .traffic import Traffic, protocol_label
from .transit_gateways import (
    ATTACHMENT_STATES,
    Attachment,
    TgwRoute,
    TgwRouteTable,
    TransitGateway,
    TransitGatewayPeering,
)
from .vpcs import Subnet, Vpc

__all__ = [
    "ATTACHMENT_STATES",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_REGIONS",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_ACCOUNT_NAME",
    "DEFAULT_REGION",
    "INTER_REGION_MTU",
    "QUOTAS",
    "PEERING_STATES",
    "Account",
    "Quota",
    "Region",
    "DEFAULT_DNS_DOMAIN",
    "DOCUMENTATION_RANGES",
    "EC2_INTERNAL",
    "EPHEMERAL_PORTS",
    "ICMP_ECHO_REPLY",
    "ICMP_ECHO_REQUEST",
    "INSTANCE_MTU",
    "INTERNET_CARD",
    "INTERNET_MTU",
    "INTERNET_ORIGIN",
    "MAX_ATTACHMENT_SUBNETS",
    "MAX_VPCS",
    "METADATA_ADDRESS",
    "MIN_INSTANCE_MTU",
    "PROTOCOL_NAMES",
    "PROTOCOL_NUMBERS",
    "PUBLIC_IP_POOL",
    "RESERVED_HOST_OFFSETS",
    "RESOLVER_ADDRESS",
    "TGW_MSS",
    "TGW_MTU",
    "AWS_MANAGED_PREFIX",
    "AWS_SERVICE_BLOCK",
    "AWS_SERVICE_RANGE",
    "GATEWAY_SERVICES",
    "MAX_PREFIX_LIST_ENTRIES",
    "AwsService",
    "GatewayEndpoint",
    "PrefixList",
    "aws_list_name",
    "protocol_label",
    "Traffic",
    "SGRef",
    "SGRule",
    "SecurityGroup",
    "NaclRule",
    "Nacl",
    "RoutePath",
    "HealthCheck",
    "Route",
    "RouteTable",
    "MetadataOptions",
    "Instance",
    "InternetGateway",
    "NatGateway",
    "InternetHost",
    "TRAFFIC_TYPES",
    "DEFAULT_AGGREGATION_INTERVAL",
    "FlowLog",
    "Subnet",
    "Vpc",
    "DnsRecord",
    "HostedZone",
    "Listener",
    "TargetHealthCheck",
    "LoadBalancerNode",
    "LoadBalancer",
    "EndpointService",
    "EndpointInterface",
    "VpcEndpoint",
    "Peering",
    "Attachment",
    "TgwRoute",
    "TgwRouteTable",
    "TransitGateway",
    "TransitGatewayPeering",
    "Server",
    "Topology",
]
