"""Read an account snapshot: one JSON file per `aws ec2 describe-*` call, as Batfish reads them."""

from __future__ import annotations

import json
import os

from vpclab.errors import InvalidInput

# file (without .json) -> the key its resources sit under (the describe-* answer's own key)
FILES = {
    "Vpcs": "Vpcs",
    "Subnets": "Subnets",
    "RouteTables": "RouteTables",
    "SecurityGroups": "SecurityGroups",
    "NetworkAcls": "NetworkAcls",
    "Reservations": "Reservations",
    "VpcPeeringConnections": "VpcPeeringConnections",
    "TransitGateways": "TransitGateways",
    "TransitGatewayAttachments": "TransitGatewayAttachments",
    "TransitGatewayVpcAttachments": "TransitGatewayVpcAttachments",
    "TransitGatewayRouteTables": "TransitGatewayRouteTables",
    "TransitGatewayPropagations": "TransitGatewayPropagations",
    "TransitGatewayStaticRoutes": "TransitGatewayStaticRoutes",
    "InternetGateways": "InternetGateways",
    "NatGateways": "NatGateways",
    "Addresses": "Addresses",
    "PrefixLists": "PrefixLists",
    "VpnGateways": "VpnGateways",
    "VpnConnections": "VpnConnections",
    "VpcEndpoints": "VpcEndpoints",
}
REQUIRED = ("Vpcs", "Subnets")


class SnapshotError(InvalidInput):
    """The snapshot cannot be read: a missing required file, or a file that is not the JSON of
    its describe-* call. The message names the file."""


def read_snapshot(directory: str) -> dict[str, list]:
    """Every known file of ``directory`` as its list of resources (absent files: empty)."""
    if not os.path.isdir(directory):
        raise SnapshotError(f"{directory}: not a directory")
    snapshot: dict[str, list] = {}
    for name, key in FILES.items():
        path = os.path.join(directory, f"{name}.json")
        if not os.path.exists(path):
            if name in REQUIRED:
                raise SnapshotError(f"{path}: missing (every snapshot has {' and '.join(REQUIRED)})")
            snapshot[name] = []
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                answer = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise SnapshotError(f"{path}: not readable as JSON ({error})") from None
        if not isinstance(answer, dict) or not isinstance(answer.get(key, []), list):
            raise SnapshotError(f'{path}: expected {{"{key}": [...]}}, as `aws ec2 describe-*` writes it')
        snapshot[name] = answer.get(key, [])
    return snapshot
