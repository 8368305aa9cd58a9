"""Transit gateways of a snapshot: VPC attachments (another account's with its status, and the
TGW shared with that account), TGW peering attachments (one id, a side in each TGW), route
tables with their associations, propagations and static routes."""

from __future__ import annotations

from collections import defaultdict
from typing import Optional

from .state import ATTACHMENT_STATES, OTHER_ATTACHMENTS, PEERING_ATTACHMENT_STATES, MapperState


class TransitMapping(MapperState):
    def map_transit_gateways(self) -> None:
        tgws = self.imported.data.setdefault("transit_gateways", [])
        by_id: dict[str, dict] = {}
        if self.snapshot["TransitGateways"]:
            self.imported.counts["transit gateway"] = 0  # its place in the summary: counted below
        for tgw in self.snapshot["TransitGateways"]:
            name = self.names.name(tgw, tgw["TransitGatewayId"])
            by_id[tgw["TransitGatewayId"]] = {
                "name": name,
                "description": tgw["TransitGatewayId"],
                "_account": self.account_of(tgw),
                "_region": self.region_of(tgw),
                "attachments": [],
                "route_tables": [],
            }
            if (tgw.get("Options") or {}).get("AutoAcceptSharedAttachments") == "enable":
                by_id[tgw["TransitGatewayId"]]["auto_accept_shared_attachments"] = True
            self.tgws[tgw["TransitGatewayId"]] = name
        for attachment in self.snapshot["TransitGatewayVpcAttachments"]:
            aws_id, tgw = attachment["TransitGatewayAttachmentId"], by_id.get(attachment["TransitGatewayId"])
            subnets = [self.subnets.get(s) for s in attachment.get("SubnetIds", [])]
            state = ATTACHMENT_STATES.get(attachment.get("State", ""))
            if state is None or tgw is None or attachment["VpcId"] not in self.vpcs:
                self.skip(
                    "TGW attachment",
                    aws_id,
                    f"it is {attachment.get('State')}"
                    if state is None
                    else f"its TGW {attachment['TransitGatewayId']} is in no folder of the snapshot"
                    if tgw is None
                    else f"its VPC {attachment['VpcId']} is in no folder of the snapshot",
                )
                continue
            if None in subnets or not subnets:
                self.skip("TGW attachment", aws_id, "a subnet of it is not in Subnets.json")
                continue
            name = self.names.name(attachment, aws_id)
            vpc = self.vpcs[attachment["VpcId"]]
            subnet_names = [s[1] for s in subnets if s]
            entry = {"name": name, "description": aws_id, "vpc": vpc["name"], "subnets": subnet_names}
            if vpc["_account"] != tgw["_account"]:  # shared with the VPC's account (AWS RAM)
                shared = tgw.setdefault("shared_with", [])
                if vpc["_account"] not in shared:
                    shared.append(vpc["_account"])
                entry["status"] = state
            elif state != "available":
                entry["status"] = state
            tgw["attachments"].append(entry)
            self.attachments[aws_id] = name
            self.count("TGW attachment")
        for attachment in self.snapshot["TransitGatewayAttachments"]:
            kind = attachment.get("ResourceType")
            if kind == "peering":
                self.map_tgw_peering_side(attachment, by_id)
            elif kind in ("vpn", "direct-connect-gateway"):
                self.map_tgw_hybrid_attachment(attachment)
            elif kind != "vpc":
                reason = OTHER_ATTACHMENTS.get(kind, f"a {kind} attachment is not emulated")
                self.skip(f"TGW {kind} attachment", attachment["TransitGatewayAttachmentId"], reason)
        self.keep_two_sided_peerings(by_id)
        self.map_tgw_route_tables(by_id)
        tgws += [tgw for tgw in by_id.values() if tgw["attachments"]]
        for tgw in by_id.values():
            if tgw["attachments"]:
                self.count("transit gateway")
                continue
            self.skip("transit gateway", tgw["description"], "no VPC of the snapshot is attached to it")
            for table in tgw["route_tables"]:
                self.imported.counts["TGW route table"] -= 1
                self.skip("TGW route table", table["description"], "its TGW is not imported")
        if "transit gateway" in self.imported.counts and not self.imported.counts["transit gateway"]:
            del self.imported.counts["transit gateway"]

    def map_tgw_peering_side(self, attachment: dict, by_id: dict[str, dict]) -> None:
        """One TGW's side of a TGW peering attachment (both sides share its id): an attachment
        naming the peering, which is written once, in the state AWS gives it."""
        aws_id, tgw_id, peer_id = (
            attachment["TransitGatewayAttachmentId"],
            attachment["TransitGatewayId"],
            attachment.get("ResourceId", ""),
        )
        status = PEERING_ATTACHMENT_STATES.get(attachment.get("State", ""))
        missing = next((t for t in (tgw_id, peer_id) if t not in by_id), None)
        if status is None or missing is not None:
            why = (
                f"it is {attachment.get('State')}"
                if status is None
                else f"its TGW {missing} is in no folder of the snapshot"
            )
            self.skip("TGW peering attachment", f"{aws_id} ({tgw_id})", why)
            return
        peering = self.tgw_peerings.get(aws_id)
        if peering is None:
            peering = {
                "name": self.names.name(attachment, aws_id, "tgw-peering"),
                "description": aws_id,
                "requester": by_id[tgw_id]["name"],
                "accepter": by_id[peer_id]["name"],
                **({} if status == "active" else {"status": status}),
            }
            self.tgw_peerings[aws_id] = peering
        side = self.names.name(attachment, aws_id)
        by_id[tgw_id]["attachments"].append({"name": side, "description": aws_id, "peering": peering["name"]})
        self.peering_sides[(aws_id, tgw_id)] = side

    def keep_two_sided_peerings(self, by_id: dict[str, dict]) -> None:
        """A TGW peering needs its attachment in both TGWs: a snapshot with one side (one
        account's folder) keeps neither, and lists it."""
        sides: dict[str, list] = defaultdict(list)
        for aws_id, tgw_id in self.peering_sides:
            sides[aws_id].append(tgw_id)
        for aws_id, tgws in sides.items():
            if len(tgws) == 2:
                self.count("TGW peering")
                continue
            name = self.tgw_peerings.pop(aws_id)["name"]
            for tgw_id in tgws:
                tgw = by_id[tgw_id]
                tgw["attachments"] = [a for a in tgw["attachments"] if a.get("peering") != name]
                del self.peering_sides[(aws_id, tgw_id)]
            self.skip(
                "TGW peering attachment", aws_id, "the snapshot holds one side of it (import every account)"
            )
        if self.tgw_peerings:
            self.imported.data["transit_gateway_peerings"] = list(self.tgw_peerings.values())

    def map_tgw_hybrid_attachment(self, attachment: dict) -> None:
        """A VPN's or DX gateway's attachment: AWS makes it, vpclab too (named after the
        connection or the gateway); its route tables name it."""
        aws_id, resource = attachment["TransitGatewayAttachmentId"], attachment.get("ResourceId", "")
        if attachment["ResourceType"] == "vpn":
            name = self.tgw_vpns[resource]["name"] if resource in self.tgw_vpns else None
        else:
            name = self.dx_names.get(resource)
        if name is None:
            kind = "VPN connection" if attachment["ResourceType"] == "vpn" else "Direct Connect gateway"
            self.skip(
                f"TGW {attachment['ResourceType']} attachment",
                aws_id,
                f"its {kind} {resource} was not imported",
            )
            return
        self.attachments[aws_id] = name
        self.change(
            f"TGW {attachment['ResourceType']} attachment",
            aws_id,
            f"AWS's own: vpclab makes it too, named {name}",
        )

    def attachment_name(self, aws_id: str, tgw_id: str) -> Optional[str]:
        """The name of a VPC attachment, or of a TGW's side of a peering attachment."""
        return self.attachments.get(aws_id) or self.peering_sides.get((aws_id, tgw_id))

    def map_tgw_route_tables(self, by_id: dict[str, dict]) -> None:
        associated: dict[str, list[str]] = defaultdict(list)
        for attachment in self.snapshot["TransitGatewayAttachments"]:
            association = attachment.get("Association") or {}
            name = self.attachment_name(
                attachment["TransitGatewayAttachmentId"], attachment["TransitGatewayId"]
            )
            if name and association.get("State") == "associated":
                associated[association["TransitGatewayRouteTableId"]].append(name)
        propagated: dict[str, list[str]] = defaultdict(list)
        for table in self.snapshot["TransitGatewayPropagations"]:
            for propagation in table.get("TransitGatewayRouteTablePropagations", []):
                name = self.attachments.get(propagation["TransitGatewayAttachmentId"])
                if name and propagation.get("State") == "enabled":
                    propagated[table["TransitGatewayRouteTableId"]].append(name)
        static: dict[str, list[dict]] = defaultdict(list)
        for table in self.snapshot["TransitGatewayStaticRoutes"]:
            for route in table.get("Routes", []):
                self.map_tgw_static_route(table["TransitGatewayRouteTableId"], route, static)
        for table in self.snapshot["TransitGatewayRouteTables"]:
            tgw, aws_id = by_id.get(table["TransitGatewayId"]), table["TransitGatewayRouteTableId"]
            if tgw is None:
                self.skip("TGW route table", aws_id, "its TGW is not in TransitGateways.json")
                continue
            entry: dict = {
                "name": self.names.name(table, aws_id, ("tgw-table", tgw["name"])),
                "description": aws_id,
            }
            for key, values in (
                ("associations", associated),
                ("propagations", propagated),
                ("routes", static),
            ):
                if values.get(aws_id):
                    entry[key] = values[aws_id]
            tgw["route_tables"].append(entry)
            self.count("TGW route table")

    def map_tgw_static_route(self, table: str, route: dict, static: dict) -> None:
        destination = route.get("DestinationCidrBlock")
        if route.get("Type") != "static" or destination is None:
            return  # propagated routes come from the propagations
        if route.get("State") == "blackhole":
            static[table].append({"destination": destination, "blackhole": True})
            return
        tgw_id = self.table_owners.get(table, "")
        targets = [
            self.attachment_name(a.get("TransitGatewayAttachmentId", ""), tgw_id)
            for a in route.get("TransitGatewayAttachments", [])
        ]
        if len(targets) == 1 and targets[0]:
            static[table].append({"destination": destination, "attachment": targets[0]})
        else:
            self.skip("TGW static route", f"{table} {destination}", "its attachment was not imported")
