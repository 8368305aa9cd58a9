"""Read an account snapshot from a live EC2 API with boto3: the same describe-* answers that the
files of a snapshot directory hold (``snapshot.FILES``), so one mapping serves both. The API
may be AWS itself (the user's credentials) or a local emulator such as moto's server."""

from __future__ import annotations

from typing import Optional

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .snapshot import FILES, SnapshotError

# snapshot name -> the describe call that answers it (its answer's key: ``snapshot.FILES``)
DESCRIBE = {
    "Vpcs": "describe_vpcs",
    "Subnets": "describe_subnets",
    "RouteTables": "describe_route_tables",
    "SecurityGroups": "describe_security_groups",
    "NetworkAcls": "describe_network_acls",
    "Reservations": "describe_instances",
    "VpcPeeringConnections": "describe_vpc_peering_connections",
    "TransitGateways": "describe_transit_gateways",
    "TransitGatewayAttachments": "describe_transit_gateway_attachments",
    "TransitGatewayVpcAttachments": "describe_transit_gateway_vpc_attachments",
    "TransitGatewayRouteTables": "describe_transit_gateway_route_tables",
    "InternetGateways": "describe_internet_gateways",
    "NatGateways": "describe_nat_gateways",
    "Addresses": "describe_addresses",
    "VpnGateways": "describe_vpn_gateways",
    "VpnConnections": "describe_vpn_connections",
    "CustomerGateways": "describe_customer_gateways",
    "VpcEndpoints": "describe_vpc_endpoints",
}


def fetch_snapshot(
    region: str, endpoint: Optional[str] = None, profile: Optional[str] = None
) -> dict[str, list]:
    """Every snapshot file's resources, asked of the EC2 API at ``endpoint`` (AWS's own if None)."""
    where = endpoint or f"EC2 in {region}"
    try:
        ec2 = boto3.Session(profile_name=profile, region_name=region).client("ec2", endpoint_url=endpoint)
        snapshot = {name: _all(ec2, call, FILES[name]) for name, call in DESCRIBE.items()}
        tables = [t["TransitGatewayRouteTableId"] for t in snapshot["TransitGatewayRouteTables"]]
        propagations = "TransitGatewayRouteTablePropagations"
        snapshot["TransitGatewayPropagations"] = [
            {
                "TransitGatewayRouteTableId": table,
                propagations: _all(
                    ec2,
                    "get_transit_gateway_route_table_propagations",
                    propagations,
                    TransitGatewayRouteTableId=table,
                ),
            }
            for table in tables
        ]
        static = [{"Name": "type", "Values": ["static"]}]
        snapshot["TransitGatewayStaticRoutes"] = [
            {
                "TransitGatewayRouteTableId": table,
                "Routes": _all(
                    ec2,
                    "search_transit_gateway_routes",
                    "Routes",
                    TransitGatewayRouteTableId=table,
                    Filters=static,
                ),
            }
            for table in tables
        ]
        snapshot["PrefixLists"] = _prefix_lists(ec2)
    except (BotoCoreError, ClientError) as error:
        raise SnapshotError(f"{where}: {error}") from None
    assert set(snapshot) == set(FILES), set(FILES) ^ set(snapshot)
    return snapshot


def _all(ec2, call: str, key: str, **arguments) -> list:
    """Every item of a describe call's answer, through all its pages."""
    if not ec2.can_paginate(call):
        return getattr(ec2, call)(**arguments).get(key, [])
    return [item for page in ec2.get_paginator(call).paginate(**arguments) for item in page.get(key, [])]


def _prefix_lists(ec2) -> list[dict]:
    """AWS's own prefix lists (with their CIDRs) and the account's managed ones (their entries)."""
    lists = {
        p["PrefixListId"]: list(p.get("Cidrs", [])) for p in _all(ec2, "describe_prefix_lists", "PrefixLists")
    }
    for managed in _all(ec2, "describe_managed_prefix_lists", "PrefixLists"):
        if managed.get("AddressFamily", "IPv4") != "IPv4" or lists.get(managed["PrefixListId"]):
            continue
        entries = _all(
            ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=managed["PrefixListId"]
        )
        lists[managed["PrefixListId"]] = [entry["Cidr"] for entry in entries]
    return [{"PrefixListId": aws_id, "Cidrs": cidrs} for aws_id, cidrs in lists.items()]
