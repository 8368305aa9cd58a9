"""Read a snapshot: one JSON file per `aws ec2 describe-*` call, as Batfish reads them, in every
layout Batfish snapshots and AWS exports use, merged into one organisation:

- ``DIR/*.json`` or ``DIR/aws_configs/*.json`` — one account, one Region;
- ``aws_configs/<region>/*.json`` — one account, a folder per Region;
- ``aws_configs/accounts/<id>/<region>/*.json`` — a folder per account and Region;
- ``Vpcs-<region>.json``, ``Subnets-<region>.json``... — the Region in each file's name.

Each resource keeps where it came from (``ORIGIN``: account id or None, Region or None); an
object that two folders both describe (a peering, a shared TGW's attachment) is kept once.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

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
    "CustomerGateways": "CustomerGateways",
    "VpcEndpoints": "VpcEndpoints",
}
# the id of each file's resources: what makes two folders' copies one object
ID_KEYS: dict[str, str | tuple[str, ...]] = {
    "Vpcs": "VpcId",
    "Subnets": "SubnetId",
    "RouteTables": "RouteTableId",
    "SecurityGroups": "GroupId",
    "NetworkAcls": "NetworkAclId",
    "Reservations": "ReservationId",
    "VpcPeeringConnections": "VpcPeeringConnectionId",
    "TransitGateways": "TransitGatewayId",
    "TransitGatewayAttachments": ("TransitGatewayAttachmentId", "TransitGatewayId"),  # a TGW peering
    # attachment has one id and a side in each TGW's account
    "TransitGatewayVpcAttachments": "TransitGatewayAttachmentId",
    "TransitGatewayRouteTables": "TransitGatewayRouteTableId",
    "TransitGatewayPropagations": "TransitGatewayRouteTableId",
    "TransitGatewayStaticRoutes": "TransitGatewayRouteTableId",
    "InternetGateways": "InternetGatewayId",
    "NatGateways": "NatGatewayId",
    "Addresses": "AllocationId",
    "PrefixLists": "PrefixListId",
    "VpnGateways": "VpnGatewayId",
    "VpnConnections": "VpnConnectionId",
    "VpcEndpoints": "VpcEndpointId",
    # files vpclab maps nothing from (each object is listed): a global object once
    "DirectConnectGateways": "DirectConnectGatewayId",
    "DirectConnectGatewayAssociations": "AssociationId",
    "VirtualInterfaces": "VirtualInterfaceId",
    "CustomerGateways": "CustomerGatewayId",
    "NetworkInterfaces": "NetworkInterfaceId",
    "LoadBalancers": "LoadBalancerArn",
    "TargetGroups": "TargetGroupArn",
}
ORIGIN = "_vpclab_origin"  # (account id or None, Region or None) of the folder it came from
OTHERS = "_others"  # files vpclab does not map: name -> their resources (each listed as skipped)
LAYOUTS = (
    "DIR/*.json or DIR/aws_configs/*.json (one account, one Region)",
    "aws_configs/<region>/*.json (a folder per Region)",
    "aws_configs/accounts/<account id>/<region>/*.json (a folder per account and Region)",
    "Vpcs-<region>.json, Subnets-<region>.json, ... (the Region in each file's name)",
)
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
SUFFIXED = re.compile(r"^(?P<file>[A-Za-z]+)-(?P<region>[a-z]{2}(-[a-z]+)+-\d+)\.json$")


class SnapshotError(InvalidInput):
    """The snapshot cannot be read: a missing required file, or a file that is not the JSON of
    its describe-* call. The message names the file."""


@dataclass(frozen=True)
class Folder:
    """One account's view of one Region: its files (name without .json -> path)."""

    account: Optional[str]
    region: Optional[str]
    files: dict[str, str]


def folders(directory: str) -> list[Folder]:
    """The snapshot's folders, in the first layout ``directory`` matches."""
    if not os.path.isdir(directory):
        raise SnapshotError(f"{directory}: not a directory")
    root = directory
    if os.path.isdir(os.path.join(directory, "aws_configs")):
        root = os.path.join(directory, "aws_configs")
    accounts = os.path.join(root, "accounts")
    if os.path.isdir(accounts):
        found = [
            Folder(account, region, _json_files(os.path.join(accounts, account, region)))
            for account in sorted(os.listdir(accounts))
            if os.path.isdir(os.path.join(accounts, account))
            for region in sorted(os.listdir(os.path.join(accounts, account)))
            if os.path.isdir(os.path.join(accounts, account, region))
        ]
    else:
        here = _json_files(root)
        suffixed = _by_region_suffix(root)
        regions = [name for name in sorted(os.listdir(root)) if REGION.match(name)]
        if set(here) & set(FILES):
            found = [Folder(None, None, here)]
        elif suffixed:
            found = [Folder(None, region, files) for region, files in sorted(suffixed.items())]
        else:
            found = [Folder(None, r, _json_files(os.path.join(root, r))) for r in regions]
    found = [folder for folder in found if folder.files]
    if not any(set(folder.files) & set(FILES) for folder in found):
        raise SnapshotError(
            f"{directory}: no describe-* file (Vpcs.json, ...) in any layout vpclab reads: "
            + "; ".join(LAYOUTS)
        )
    return found


def _json_files(directory: str) -> dict[str, str]:
    if not os.path.isdir(directory):
        return {}
    return {
        name[: -len(".json")]: os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if name.endswith(".json") and os.path.isfile(os.path.join(directory, name))
    }


def _by_region_suffix(directory: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for name in sorted(os.listdir(directory)):
        match = SUFFIXED.match(name)
        if match:
            found[match["region"]][match["file"]] = os.path.join(directory, name)
    return found


def read_snapshot(directory: str) -> dict[str, list]:
    """Every known file of every folder as one list of resources per file (absent: empty),
    each resource marked with its folder (``ORIGIN``); unknown files under ``OTHERS``."""
    parts = []
    for folder in folders(directory):
        part = _read_folder(folder)
        parts.append((folder.account, folder.region or infer_region(part), part))
    return merge(parts)


def infer_region(part: dict[str, list]) -> Optional[str]:
    """A folder's Region when its layout does not say: its AZs' (us-east-2a is in us-east-2)."""
    for zone in part.get("AvailabilityZones", []):
        if isinstance(zone, dict) and zone.get("RegionName"):
            return zone["RegionName"]
    for subnet in part.get("Subnets", []):
        match = re.match(r"^([a-z]{2}(-[a-z]+)+-\d+)[a-z]+$", subnet.get("AvailabilityZone", ""))
        if match:
            return match[1]
    return None


def merge(parts: Sequence[tuple[Optional[str], Optional[str], dict[str, list]]]) -> dict[str, list]:
    """One snapshot of several folders' (or API calls'): resources in order, each kept once."""
    snapshot: dict = {name: [] for name in FILES}
    snapshot[OTHERS] = defaultdict(list)
    seen: set = set()
    for account, region, part in parts:
        for name, resources in part.items():
            target = snapshot[name] if name in FILES else snapshot[OTHERS][name]
            for resource in resources:
                if not isinstance(resource, dict):
                    continue
                key = identity(name, resource)
                if key is not None and key in seen:
                    continue
                if key is not None:
                    seen.add(key)
                target.append({**resource, ORIGIN: (account, region)})
    return snapshot


def identity(file: str, resource: dict) -> Optional[tuple]:
    """What makes two folders' copies of a resource one object (None: it has no id)."""
    keys = ID_KEYS.get(file)
    keys = (keys,) if isinstance(keys, str) else keys or ()
    values = tuple(resource.get(key) for key in keys)
    return (file, *values) if values and all(values) else None


def _read_folder(folder: Folder) -> dict[str, list]:
    part: dict[str, list] = {}
    for name, path in folder.files.items():
        try:
            with open(path, encoding="utf-8") as handle:
                answer = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise SnapshotError(f"{path}: not readable as JSON ({error})") from None
        key = FILES.get(name)
        if key is not None:
            if not isinstance(answer, dict) or not isinstance(answer.get(key, []), list):
                raise SnapshotError(f'{path}: expected {{"{key}": [...]}}, as `aws ec2 describe-*` writes it')
            part[name] = answer.get(key, [])
        else:
            part[name] = _resources(answer)
    return part


def _resources(answer) -> list:
    """The objects of a file vpclab does not map: its answer's one list, whatever its key."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict):  # e.g. {"ServiceDetails": [{...}], "ServiceNames": ["..."]}
        lists = [v for v in answer.values() if isinstance(v, list) and all(isinstance(x, dict) for x in v)]
        if lists:
            return lists[0]
        return [answer] if answer else []
    return []
