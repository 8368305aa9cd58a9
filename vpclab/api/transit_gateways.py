"""EC2 API calls that create and delete transit gateways, their VPC attachments and route
tables, as vpclab's runtime changes (pure, as ``calls``).

CreateTransitGateway takes AWS's default options unless the call says otherwise: a default
route table (moto's, known by its id) that new attachments are associated with and propagate
into. CreateTransitGatewayVpcAttachment names its subnets (one per AZ, in the VPC); each
object is named by its Name tag, else by its id."""

from __future__ import annotations

import re
from typing import Optional

from .params import NEW, ApiRefusal, Change, Ids, numbered, tagged_name

DEFAULT_TABLE = "tgw-rtb-new"  # the default route table's name in the trial, before moto answers
CALLS = (
    "CreateTransitGateway",
    "DeleteTransitGateway",
    "CreateTransitGatewayVpcAttachment",
    "DeleteTransitGatewayVpcAttachment",
    "CreateTransitGatewayRouteTable",
    "DeleteTransitGatewayRouteTable",
)
CREATED = {  # the generic naming (calls.CREATED): the id element of moto's answer, the key
    "CreateTransitGatewayVpcAttachment": (
        "tgw_attachment",
        "transitGatewayAttachmentId",
        lambda a: (a["tgw"], a["name"]),
    ),
    "CreateTransitGatewayRouteTable": (
        "tgw_route_table",
        "transitGatewayRouteTableId",
        lambda a: (a["tgw"], a["name"]),
    ),
}


def _enabled(params: dict, option: str) -> bool:
    return str(params.get(f"Options.{option}", "enable")).lower() == "enable"


def changes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    if action == "CreateTransitGateway":
        associate, propagate = (
            _enabled(params, o) for o in ("DefaultRouteTableAssociation", "DefaultRouteTablePropagation")
        )
        arguments: dict = {
            "name": _free_name(params, running),
            "associate": associate,
            "propagate": propagate,
        }
        if associate or propagate:
            arguments["default_table"] = DEFAULT_TABLE
        if params.get("Options.AmazonSideAsn"):
            arguments["asn"] = int(params["Options.AmazonSideAsn"])
        return [("create-transit-gateway", arguments)]
    if action == "DeleteTransitGateway":
        return [
            (
                "delete-transit-gateway",
                {"name": ids.key(params.get("TransitGatewayId", ""), "transit_gateway", "TransitGatewayID")},
            )
        ]
    if action == "CreateTransitGatewayVpcAttachment":
        tgw = ids.key(params.get("TransitGatewayId", ""), "transit_gateway", "TransitGatewayID")
        vpc = ids.key(params.get("VpcId", ""), "vpc", "VpcID")
        subnets = []
        for subnet_id in numbered(params, "SubnetIds"):
            owner, subnet = ids.key(subnet_id, "subnet", "SubnetID")
            if owner != vpc:
                raise ApiRefusal(
                    "InvalidParameterValue", f"subnet {subnet_id} is not in VPC {params['VpcId']}"
                )
            subnets.append(subnet)
        if not subnets:
            raise ApiRefusal("MissingParameter", "The request must contain the parameter SubnetIds")
        name = tagged_name(params) or NEW
        return [("create-tgw-attachment", {"tgw": tgw, "name": name, "vpc": vpc, "subnets": subnets})]
    if action == "DeleteTransitGatewayVpcAttachment":
        tgw, attachment = ids.key(
            params.get("TransitGatewayAttachmentId", ""), "tgw_attachment", "TransitGatewayAttachmentID"
        )
        return [("delete-tgw-attachment", {"tgw": tgw, "name": attachment})]
    if action == "CreateTransitGatewayRouteTable":
        tgw = ids.key(params.get("TransitGatewayId", ""), "transit_gateway", "TransitGatewayID")
        return [("create-tgw-route-table", {"tgw": tgw, "name": tagged_name(params) or NEW})]
    tgw, table = ids.key(
        params.get("TransitGatewayRouteTableId", ""), "tgw_route_table", "TransitGatewayRouteTableID"
    )
    return [("delete-tgw-route-table", {"tgw": tgw, "name": table})]


def _free_name(params: dict, running: dict) -> str:
    """Its Name tag, unless a transit gateway has that name (then its id, as NEW stands for)."""
    name = tagged_name(params)
    taken = {t.get("name") for t in running.get("transit_gateways", [])}
    return name if name and name not in taken else NEW


def created(planned: list[Change], answer: bytes, ids: Ids) -> tuple[list[Change], Optional[str]]:
    """CreateTransitGateway's change named as moto answered (the gateway by its Name tag or
    id, its default route table by its id), the ids recorded; and the id of the route table
    moto made although the call asked for none (AWS makes none then: it goes)."""
    operation, arguments = planned[0]
    tgw_id = _element(answer, "transitGatewayId")
    table_id = _element(answer, "associationDefaultRouteTableId")
    name = tgw_id if arguments["name"] == NEW else arguments["name"]
    named = {**arguments, "name": name}
    ids.add("transit_gateway", name, tgw_id)
    if "default_table" in arguments:
        named["default_table"] = table_id
        ids.add("tgw_route_table", (name, table_id), table_id)
        return [(operation, named)], None
    return [(operation, named)], table_id or None


def _element(answer: bytes, tag: str) -> str:
    found = re.search(rf"<{tag}>([^<]+)</{tag}>".encode(), answer)
    return found.group(1).decode() if found else ""
