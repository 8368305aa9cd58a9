"""A plan's transit gateways, VPC attachments, route tables, associations, propagations and
static routes, as the describe-transit-gateway-* calls answer them once the plan is applied.

AWS's defaults are applied as AWS applies them: a TGW whose default route table association
or propagation is enabled (the default) gets a default route table, with which every VPC
attachment that does not opt out (``transit_gateway_default_route_table_association`` and
``..._propagation``) is associated and into which it propagates."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

from .state import Skipped
from .terraform_plan import Resource

if TYPE_CHECKING:
    from .terraform_plan import Plan


class TransitResources:
    plan: Plan
    files: dict[str, list]
    by_id: dict[str, dict]
    changed: list[Skipped]
    add: Callable[..., dict]
    skip: Callable[[Resource, str], None]
    owner: Callable[[Resource, str, str, str], Optional[dict]]

    def transit_readers(self) -> dict:
        return {
            "aws_ec2_transit_gateway": self.transit_gateway,
            "aws_ec2_transit_gateway_vpc_attachment": self.tgw_attachment,
            "aws_ec2_transit_gateway_route_table": self.tgw_route_table,
            "aws_ec2_transit_gateway_route_table_association": None,
            "aws_ec2_transit_gateway_route_table_propagation": None,
            "aws_ec2_transit_gateway_route": None,
        }

    def transit_gateway(self, resource: Resource) -> None:
        values = resource.values
        options = {
            "AutoAcceptSharedAttachments": values.get("auto_accept_shared_attachments") or "disable",
            "DefaultRouteTableAssociation": values.get("default_route_table_association") or "enable",
            "DefaultRouteTablePropagation": values.get("default_route_table_propagation") or "enable",
        }
        tgw = self.add("TransitGateways", "TransitGatewayId", resource, {"Options": options})
        if "enable" in (options["DefaultRouteTableAssociation"], options["DefaultRouteTablePropagation"]):
            table_id = f"tgw-rtb-{tgw['TransitGatewayId']}.default"
            table = {
                "TransitGatewayRouteTableId": table_id,
                "TransitGatewayId": tgw["TransitGatewayId"],
                "DefaultAssociationRouteTable": options["DefaultRouteTableAssociation"] == "enable",
                "DefaultPropagationRouteTable": options["DefaultRouteTablePropagation"] == "enable",
                "Tags": [{"Key": "Name", "Value": "default"}],
            }
            self.files["TransitGatewayRouteTables"].append(table)
            self.by_id[table_id] = table
            options["AssociationDefaultRouteTableId"] = options["PropagationDefaultRouteTableId"] = table_id
            self.changed.append(
                Skipped(
                    "TGW route table",
                    f"{resource.address} default",
                    "AWS's default route table of the TGW, made on apply: named default",
                )
            )

    def tgw_attachment(self, resource: Resource) -> None:
        tgw_id = self.plan.one(resource, "transit_gateway_id") or ""
        vpc = self.plan.one(resource, "vpc_id") or ""
        entry = self.add(
            "TransitGatewayVpcAttachments",
            "TransitGatewayAttachmentId",
            resource,
            {
                "TransitGatewayId": tgw_id,
                "VpcId": vpc,
                "SubnetIds": self.plan.ids(resource, "subnet_ids"),
                "State": "available",
            },
        )
        generic = {
            "TransitGatewayAttachmentId": entry["TransitGatewayAttachmentId"],
            "TransitGatewayId": tgw_id,
            "ResourceType": "vpc",
            "ResourceId": vpc,
            "State": "available",
        }
        self.files["TransitGatewayAttachments"].append(generic)
        options = (self.by_id.get(tgw_id) or {}).get("Options") or {}
        default = options.get("AssociationDefaultRouteTableId")
        if (
            default
            and options.get("DefaultRouteTableAssociation") == "enable"
            and resource.values.get("transit_gateway_default_route_table_association") is not False
        ):
            generic["Association"] = {"TransitGatewayRouteTableId": default, "State": "associated"}
        if (
            default
            and options.get("DefaultRouteTablePropagation") == "enable"
            and resource.values.get("transit_gateway_default_route_table_propagation") is not False
        ):
            self.propagate(default, entry["TransitGatewayAttachmentId"])

    def tgw_route_table(self, resource: Resource) -> None:
        tgw_id = self.plan.one(resource, "transit_gateway_id") or ""
        self.add(
            "TransitGatewayRouteTables",
            "TransitGatewayRouteTableId",
            resource,
            {"TransitGatewayId": tgw_id},
        )

    def propagate(self, table_id: str, attachment: str) -> None:
        tables = self.files["TransitGatewayPropagations"]
        table = next((t for t in tables if t["TransitGatewayRouteTableId"] == table_id), None)
        if table is None:
            table = {"TransitGatewayRouteTableId": table_id, "TransitGatewayRouteTablePropagations": []}
            tables.append(table)
        table["TransitGatewayRouteTablePropagations"].append(
            {"TransitGatewayAttachmentId": attachment, "State": "enabled"}
        )

    def transit_done(self) -> None:
        generic = {a["TransitGatewayAttachmentId"]: a for a in self.files["TransitGatewayAttachments"]}
        for resource in self.plan.of_type(
            "aws_ec2_transit_gateway_route_table_association",
            "aws_ec2_transit_gateway_route_table_propagation",
        ):
            named = self.plan.one(resource, "transit_gateway_attachment_id") or "(none given)"
            attachment = generic.get(named)
            table = self.owner(
                resource, "transit_gateway_route_table_id", "TransitGatewayRouteTableId", "TGW route table"
            )
            if attachment is None and table is not None:
                self.skip(resource, f"its TGW attachment {named} is not in the plan")
            if attachment is None or table is None:
                continue
            table = table["TransitGatewayRouteTableId"]
            if resource.type.endswith("association"):
                attachment["Association"] = {"TransitGatewayRouteTableId": table, "State": "associated"}
            else:
                self.propagate(table, attachment["TransitGatewayAttachmentId"])
        static: dict[str, list] = {}
        for resource in self.plan.of_type("aws_ec2_transit_gateway_route"):
            found = self.owner(
                resource, "transit_gateway_route_table_id", "TransitGatewayRouteTableId", "TGW route table"
            )
            destination = resource.values.get("destination_cidr_block")
            if found is None or not isinstance(destination, str):
                if found is not None:
                    self.skip(resource, "its destination is unknown until apply")
                continue
            table = found["TransitGatewayRouteTableId"]
            route: dict = {"DestinationCidrBlock": destination, "Type": "static", "State": "active"}
            if resource.values.get("blackhole"):
                route["State"] = "blackhole"
            else:
                attachment = self.plan.one(resource, "transit_gateway_attachment_id") or ""
                route["TransitGatewayAttachments"] = [{"TransitGatewayAttachmentId": attachment}]
            static.setdefault(table, []).append(route)
        self.files["TransitGatewayStaticRoutes"] = [
            {"TransitGatewayRouteTableId": table, "Routes": routes} for table, routes in static.items()
        ]
