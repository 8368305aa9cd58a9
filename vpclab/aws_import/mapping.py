"""An account snapshot (``snapshot.read_snapshot``) as vpclab topology data, and what was left out.

Names come from the `Name` tag (made valid and unique), else the AWS id. What vpclab cannot
emulate yet (internet and NAT gateways, VPN, endpoints, IPv6, prefix lists, stopped instances,
extra network interfaces, peerings that are not active) is listed with its AWS id and the
reason, never dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Optional

ALL_PORTS = (0, 65535)
PROTOCOL_NAMES = {
    "-1": "all",
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "tcp": "tcp",
    "udp": "udp",
    "icmp": "icmp",
}
IPV6_PROTOCOLS = {"58", "icmpv6"}
IMPLICIT_NACL_RULE = 32767  # AWS's '*' rule: vpclab adds it to every NACL
UNSUPPORTED_TARGETS = {
    "NatGatewayId": "a route to a NAT gateway (not emulated yet)",
    "InstanceId": "a route to an instance (not emulated yet)",
    "NetworkInterfaceId": "a route to a network interface (not emulated yet)",
    "VpcEndpointId": "a route to a gateway load balancer endpoint (not emulated)",
    "EgressOnlyInternetGatewayId": "a route to an egress-only internet gateway (IPv6)",
    "CarrierGatewayId": "a route to a carrier gateway (not emulated)",
    "LocalGatewayId": "a route to an Outposts local gateway (not emulated)",
}
GATEWAY_PREFIXES = {
    "igw-": "a route to an internet gateway (not emulated yet)",
    "vgw-": "a route to a VPN gateway (not emulated)",
    "vpce-": "a route to a gateway endpoint (not emulated)",
}
NOT_EMULATED = {  # snapshot file -> (kind, id key, reason)
    "InternetGateways": ("internet gateway", "InternetGatewayId", "internet gateways are not emulated yet"),
    "NatGateways": ("NAT gateway", "NatGatewayId", "NAT gateways are not emulated yet"),
    "VpnGateways": ("VPN gateway", "VpnGatewayId", "VPN is not emulated"),
    "VpnConnections": ("VPN connection", "VpnConnectionId", "VPN is not emulated"),
    "VpcEndpoints": ("VPC endpoint", "VpcEndpointId", "VPC endpoints are not emulated yet"),
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


class Mapper:
    """One pass over a snapshot; ``imported`` holds the result."""

    def __init__(self, snapshot: dict[str, list], name: str, servers_per_az: int = 1):
        self.snapshot, self.servers_per_az = snapshot, servers_per_az
        self.names = Namer()
        self.imported = Imported({"name": name})
        self.vpcs: dict[str, dict] = {}  # vpc id -> its vpclab data
        self.subnets: dict[str, tuple[str, str]] = {}  # subnet id -> (vpc id, name)
        self.peerings: dict[str, str] = {}  # pcx id -> name
        self.tgws: dict[str, str] = {}  # tgw id -> name
        self.attachments: dict[str, str] = {}  # tgw attachment id -> name
        self.groups: dict[str, tuple[str, str]] = {}  # sg id -> (vpc id, name)

    def skip(self, kind: str, aws_id: str, reason: str) -> None:
        self.imported.skipped.append(Skipped(kind, aws_id, reason))

    def count(self, kind: str) -> None:
        self.imported.counts[kind] += 1

    def run(self) -> Imported:
        self.map_vpcs()
        self.map_peerings()
        self.map_transit_gateways()
        self.map_groups()
        for vpc in self.snapshot["Vpcs"]:
            if vpc["VpcId"] in self.vpcs:
                self.map_route_tables(vpc["VpcId"])
                self.map_nacls(vpc["VpcId"])
        self.map_instances()
        for file, (kind, key, reason) in NOT_EMULATED.items():
            for resource in self.snapshot[file]:
                self.skip(kind, resource.get(key, "?"), reason)
        connections = {key: self.imported.data.pop(key) for key in ("peerings", "transit_gateways")}
        self.imported.data.update(servers=self.servers(), vpcs=list(self.vpcs.values()))
        self.imported.data.update({key: value for key, value in connections.items() if value})
        return self.imported

    # -- VPCs and subnets ---------------------------------------------------------------------
    def map_vpcs(self) -> None:
        for vpc in self.snapshot["Vpcs"]:
            cidrs = [
                a["CidrBlock"]
                for a in vpc.get("CidrBlockAssociationSet") or [{"CidrBlock": vpc["CidrBlock"]}]
                if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
            ]
            if vpc.get("Ipv6CidrBlockAssociationSet"):
                self.skip("VPC IPv6 CIDR", vpc["VpcId"], "IPv6 is not emulated")
            name = self.names.name(vpc, vpc["VpcId"], "vpc")
            self.vpcs[vpc["VpcId"]] = {"name": name, "cidr": cidrs[0] if len(cidrs) == 1 else cidrs}
            self.count("VPC")
        for subnet in self.snapshot["Subnets"]:
            vpc = self.vpcs.get(subnet["VpcId"])
            if vpc is None:
                self.skip("subnet", subnet["SubnetId"], f"its VPC {subnet['VpcId']} is not in Vpcs.json")
                continue
            name = self.names.name(subnet, subnet["SubnetId"], ("subnet", subnet["VpcId"]))
            vpc.setdefault("subnets", []).append(
                {"name": name, "cidr": subnet["CidrBlock"], "az": subnet["AvailabilityZone"]}
            )
            self.subnets[subnet["SubnetId"]] = (subnet["VpcId"], name)
            self.count("subnet")

    def subnet_data(self, subnet_id: str) -> Optional[dict]:
        if subnet_id not in self.subnets:
            return None
        vpc_id, name = self.subnets[subnet_id]
        return next(s for s in self.vpcs[vpc_id]["subnets"] if s["name"] == name)

    def servers(self) -> list[dict]:
        """``servers_per_az`` servers for every AZ a subnet is in."""
        zones = sorted({s["az"] for vpc in self.vpcs.values() for s in vpc.get("subnets", [])})
        return [
            {"name": f"srv{n * self.servers_per_az + k + 1}", "az": az}
            for n, az in enumerate(zones)
            for k in range(self.servers_per_az)
        ] or [{"name": "srv1", "az": "a"}]

    # -- peerings and transit gateways ----------------------------------------------------------
    def map_peerings(self) -> None:
        peerings = self.imported.data.setdefault("peerings", [])
        for pcx in self.snapshot["VpcPeeringConnections"]:
            ends = pcx["RequesterVpcInfo"]["VpcId"], pcx["AccepterVpcInfo"]["VpcId"]
            state = pcx.get("Status", {}).get("Code")
            if state != "active":
                self.skip("peering", pcx["VpcPeeringConnectionId"], f"its state is {state}, not active")
            elif any(end not in self.vpcs for end in ends):
                self.skip("peering", pcx["VpcPeeringConnectionId"], "a VPC of another account or region")
            else:
                name = self.names.name(pcx, pcx["VpcPeeringConnectionId"])
                peerings.append(
                    {
                        "name": name,
                        "requester": self.vpcs[ends[0]]["name"],
                        "accepter": self.vpcs[ends[1]]["name"],
                    }
                )
                self.peerings[pcx["VpcPeeringConnectionId"]] = name
                self.count("peering")

    def map_transit_gateways(self) -> None:
        tgws = self.imported.data.setdefault("transit_gateways", [])
        by_id: dict[str, dict] = {}
        for tgw in self.snapshot["TransitGateways"]:
            name = self.names.name(tgw, tgw["TransitGatewayId"])
            by_id[tgw["TransitGatewayId"]] = {"name": name, "attachments": [], "route_tables": []}
            self.tgws[tgw["TransitGatewayId"]] = name
            self.count("transit gateway")
        for attachment in self.snapshot["TransitGatewayVpcAttachments"]:
            aws_id, tgw = attachment["TransitGatewayAttachmentId"], by_id.get(attachment["TransitGatewayId"])
            subnets = [self.subnets.get(s) for s in attachment.get("SubnetIds", [])]
            if attachment.get("State") != "available" or tgw is None or attachment["VpcId"] not in self.vpcs:
                self.skip("TGW attachment", aws_id, "not available, or its TGW or VPC is not in the snapshot")
                continue
            if None in subnets or not subnets:
                self.skip("TGW attachment", aws_id, "a subnet of it is not in Subnets.json")
                continue
            name = self.names.name(attachment, aws_id)
            vpc = self.vpcs[attachment["VpcId"]]["name"]
            tgw["attachments"].append({"name": name, "vpc": vpc, "subnets": [s[1] for s in subnets if s]})
            self.attachments[aws_id] = name
            self.count("TGW attachment")
        self.map_tgw_route_tables(by_id)
        tgws += [tgw for tgw in by_id.values() if tgw["attachments"]]

    def map_tgw_route_tables(self, by_id: dict[str, dict]) -> None:
        associated: dict[str, list[str]] = defaultdict(list)
        for attachment in self.snapshot["TransitGatewayAttachments"]:
            association = attachment.get("Association") or {}
            name = self.attachments.get(attachment["TransitGatewayAttachmentId"])
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
            entry: dict = {"name": self.names.name(table, aws_id, ("tgw-table", tgw["name"]))}
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
        targets = [
            self.attachments.get(a.get("TransitGatewayAttachmentId"))
            for a in route.get("TransitGatewayAttachments", [])
        ]
        if len(targets) == 1 and targets[0]:
            static[table].append({"destination": destination, "attachment": targets[0]})
        else:
            self.skip(
                "TGW static route", f"{table} {destination}", "its attachment is not a VPC attachment here"
            )

    # -- route tables, NACLs, security groups ----------------------------------------------------
    def map_route_tables(self, vpc_id: str) -> None:
        vpc = self.vpcs[vpc_id]
        for table in (t for t in self.snapshot["RouteTables"] if t["VpcId"] == vpc_id):
            name = self.names.name(table, table["RouteTableId"], ("route-table", vpc_id))
            entry: dict = {"name": name, "main": False, "routes": []}
            for association in table.get("Associations", []):
                if association.get("Main"):
                    entry["main"] = True
                elif (subnet := self.subnet_data(association.get("SubnetId", ""))) is not None:
                    subnet["route_table"] = name
            for route in table.get("Routes", []):
                mapped = self.route(table["RouteTableId"], route)
                if mapped is not None:
                    entry["routes"].append(mapped)
            vpc.setdefault("route_tables", []).append(entry)
            self.count("route table")

    def route(self, table_id: str, route: dict) -> Optional[dict]:
        destination = route.get("DestinationCidrBlock")
        shown = destination or route.get("DestinationIpv6CidrBlock") or route.get("DestinationPrefixListId")
        where = f"{table_id} {shown}"
        if route.get("GatewayId") == "local":
            return None  # vpclab's local route is implicit
        if destination is None:
            kind = (
                "IPv6 is not emulated"
                if route.get("DestinationIpv6CidrBlock")
                else "prefix-list routes are not imported yet"
            )
            self.skip("route", where, kind)
            return None
        if route.get("State") == "blackhole":
            return {"destination": destination, "blackhole": True}
        if (pcx := route.get("VpcPeeringConnectionId")) is not None:
            if pcx in self.peerings:
                return {"destination": destination, "peering": self.peerings[pcx]}
            self.skip("route", where, f"its peering {pcx} was not imported")
            return None
        if (tgw := route.get("TransitGatewayId")) is not None:
            if tgw in self.tgws:
                return {"destination": destination, "transit_gateway": self.tgws[tgw]}
            self.skip("route", where, f"its transit gateway {tgw} is not in the snapshot")
            return None
        gateway = route.get("GatewayId", "")
        reason = next((text for prefix, text in GATEWAY_PREFIXES.items() if gateway.startswith(prefix)), None)
        reason = reason or next(
            (text for key, text in UNSUPPORTED_TARGETS.items() if key in route), "an unknown target"
        )
        self.skip("route", where, reason)
        return None

    def map_nacls(self, vpc_id: str) -> None:
        vpc = self.vpcs[vpc_id]
        for acl in (a for a in self.snapshot["NetworkAcls"] if a["VpcId"] == vpc_id):
            wanted = "default" if acl.get("IsDefault") else None
            name = self.names.name(acl, acl["NetworkAclId"], ("nacl", vpc_id), wanted)
            entry: dict = {"name": name, "ingress": [], "egress": []}
            for rule in sorted(acl.get("Entries", []), key=lambda e: e["RuleNumber"]):
                mapped = self.nacl_rule(acl["NetworkAclId"], rule)
                if mapped is not None:
                    entry["egress" if rule.get("Egress") else "ingress"].append(mapped)
            for association in acl.get("Associations", []):
                subnet = self.subnet_data(association.get("SubnetId", ""))
                if subnet is not None and name != "default":
                    subnet["nacl"] = name
            vpc.setdefault("nacls", []).append(entry)
            self.count("NACL")

    def nacl_rule(self, acl_id: str, rule: dict) -> Optional[dict]:
        if rule["RuleNumber"] == IMPLICIT_NACL_RULE:
            return None
        where = f"{acl_id} {'egress' if rule.get('Egress') else 'ingress'} rule {rule['RuleNumber']}"
        if "CidrBlock" not in rule or rule.get("Protocol") in IPV6_PROTOCOLS:
            self.skip("NACL rule", where, "IPv6 is not emulated")
            return None
        mapped: dict = {"rule": rule["RuleNumber"], **self.traffic(rule.get("Protocol", "-1"), rule)}
        return {**mapped, "cidr": rule["CidrBlock"], "action": rule["RuleAction"]}

    def traffic(self, protocol: str, rule: dict) -> dict:
        """protocol and ports (or ICMP type/code) of an SG permission or a NACL entry."""
        name = PROTOCOL_NAMES.get(str(protocol).lower())
        result: dict = {"protocol": name or int(protocol)}
        if name in ("tcp", "udp"):
            low, high = rule.get("FromPort"), rule.get("ToPort")
            if "PortRange" in rule:
                low, high = rule["PortRange"].get("From"), rule["PortRange"].get("To")
            if low is not None and (low, high) != ALL_PORTS:
                result["ports"] = low if low == high else f"{low}-{high}"
        elif name == "icmp":
            kind, code = rule.get("FromPort", -1), rule.get("ToPort", -1)
            if "IcmpTypeCode" in rule:
                kind, code = rule["IcmpTypeCode"].get("Type", -1), rule["IcmpTypeCode"].get("Code", -1)
            if kind not in (None, -1):
                result["icmp_type"] = kind
                if code not in (None, -1):
                    result["icmp_code"] = code
        return result

    def map_groups(self) -> None:
        for group in self.snapshot["SecurityGroups"]:
            if group.get("VpcId") not in self.vpcs:
                self.skip(
                    "security group",
                    group["GroupId"],
                    "not in an imported VPC (EC2-Classic or another account)",
                )
                continue
            wanted = "default" if group["GroupName"] == "default" else group["GroupName"]
            scope = ("sg-default", group["VpcId"]) if wanted == "default" else "sg"
            self.groups[group["GroupId"]] = (
                group["VpcId"],
                self.names.name(group, group["GroupId"], scope, wanted),
            )
        for group in self.snapshot["SecurityGroups"]:
            if group["GroupId"] not in self.groups:
                continue
            vpc_id, name = self.groups[group["GroupId"]]
            entry: dict = {"name": name, "ingress": [], "egress": []}
            for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
                for permission in group.get(key, []):
                    entry[direction] += self.sg_rules(group["GroupId"], vpc_id, direction, permission)
            self.vpcs[vpc_id].setdefault("security_groups", []).append(entry)
            self.count("security group")

    def sg_rules(self, group_id: str, vpc_id: str, direction: str, permission: dict) -> list[dict]:
        where = f"{group_id} {direction}"
        if str(permission.get("IpProtocol")) in IPV6_PROTOCOLS:
            self.skip("SG rule", where, "ICMPv6 is not emulated")
            return []
        traffic = self.traffic(permission.get("IpProtocol", "-1"), permission)
        rules = [{**traffic, "cidr": r["CidrIp"]} for r in permission.get("IpRanges", [])]
        for pair in permission.get("UserIdGroupPairs", []):
            other = self.groups.get(pair.get("GroupId", ""))
            if other is None:
                self.skip("SG rule", where, f"it names {pair.get('GroupId')}, which is not in the snapshot")
                continue
            other_vpc, other_name = other
            if other_name == "default":
                other_name = "default" if other_vpc == vpc_id else f"{self.vpcs[other_vpc]['name']}/default"
            rules.append({**traffic, "security_group": other_name})
        for kind, reason in (
            ("Ipv6Ranges", "IPv6 is not emulated"),
            ("PrefixListIds", "prefix lists are not imported yet"),
        ):
            if permission.get(kind):
                self.skip("SG rule", where, reason)
        return rules

    # -- instances ------------------------------------------------------------------------------
    def map_instances(self) -> None:
        for reservation in self.snapshot["Reservations"]:
            for instance in reservation.get("Instances", []):
                aws_id, state = instance["InstanceId"], instance.get("State", {}).get("Name")
                if state != "running":
                    self.skip("instance", aws_id, f"it is {state}, not running")
                    continue
                if instance.get("SubnetId") not in self.subnets:
                    self.skip("instance", aws_id, "its subnet is not in Subnets.json (EC2-Classic?)")
                    continue
                vpc_id, subnet = self.subnets[instance["SubnetId"]]
                groups = [
                    self.groups[g["GroupId"]][1]
                    for g in instance.get("SecurityGroups", [])
                    if g["GroupId"] in self.groups
                ]
                entry = {
                    "name": self.names.name(instance, aws_id, "instance"),
                    "subnet": subnet,
                    "ip": instance["PrivateIpAddress"],
                    "security_groups": groups or ["default"],
                }
                self.vpcs[vpc_id].setdefault("instances", []).append(entry)
                self.count("instance")
                for extra in instance.get("NetworkInterfaces", [])[1:]:
                    self.skip(
                        "network interface",
                        extra.get("NetworkInterfaceId", "?"),
                        "vpclab instances have one interface",
                    )
