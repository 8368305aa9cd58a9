"""An account snapshot (``snapshot.read_snapshot``) as vpclab topology data, and what was left out.

Names come from the `Name` tag (made valid and unique), else the AWS id. What vpclab cannot
emulate (VPN, endpoints, IPv6, private NAT gateways, stopped instances, extra network
interfaces, peerings that are not active) is listed with its AWS id and the reason, never
dropped silently; what it emulates differently (public and Elastic IPs, which become addresses
of 203.0.113.0/24 so that nothing leaves the machine) is listed as changed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Optional

from .snapshot import SnapshotError

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
    "VpcEndpointId": "a route to a gateway load balancer endpoint (not emulated)",
    "EgressOnlyInternetGatewayId": "a route to an egress-only internet gateway (IPv6)",
    "CarrierGatewayId": "a route to a carrier gateway (not emulated)",
    "LocalGatewayId": "a route to an Outposts local gateway (not emulated)",
}
GATEWAY_PREFIXES = {
    "vgw-": "a route to a VPN gateway (not emulated)",
    "vpce-": "a route to a gateway endpoint (not emulated)",
}
VPC_KEYS = (  # the order of a VPC's keys in the written YAML
    "name",
    "description",
    "cidr",
    "internet_gateway",
    "subnets",
    "route_tables",
    "nacls",
    "security_groups",
    "nat_gateways",
    "instances",
)
PUBLIC_RANGE = "203.0.113.0/24"  # where vpclab puts public and Elastic IPs (RFC 5737)
NOT_EMULATED = {  # snapshot file -> (kind, id key, reason)
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
    changed: list[Skipped] = field(default_factory=list)  # imported, but emulated differently


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
        self.instances: dict[str, tuple[str, str]] = {}  # instance id -> (vpc id, name)
        self.interfaces: dict[str, str] = {}  # primary network interface id -> instance id
        self.internet_gateways: dict[str, str] = {}  # igw id -> vpc id
        self.nat_gateways: dict[str, tuple[str, str]] = {}  # nat id -> (vpc id, name)
        self.prefix_lists: dict[str, list[str]] = {
            p["PrefixListId"]: p.get("Cidrs", []) for p in snapshot.get("PrefixLists", [])
        }

    def skip(self, kind: str, aws_id: str, reason: str) -> None:
        self.imported.skipped.append(Skipped(kind, aws_id, reason))

    def count(self, kind: str) -> None:
        self.imported.counts[kind] += 1

    def inconsistent(self, file: str, aws_id: str, message: str):
        """Input that contradicts itself: the import stops, naming the file and the id."""
        return SnapshotError(f"{file}.json: {aws_id}: {message}")

    def change(self, kind: str, aws_id: str, how: str) -> None:
        self.imported.changed.append(Skipped(kind, aws_id, how))

    def run(self) -> Imported:
        self.map_vpcs()
        self.map_peerings()
        self.map_transit_gateways()
        self.map_groups()
        self.map_instances()  # before the routes, which may name an instance
        self.map_internet_edge()
        for vpc in self.snapshot["Vpcs"]:
            if vpc["VpcId"] in self.vpcs:
                self.map_route_tables(vpc["VpcId"])
                self.map_nacls(vpc["VpcId"])
        for file, (kind, key, reason) in NOT_EMULATED.items():
            for resource in self.snapshot[file]:
                self.skip(kind, resource.get(key, "?"), reason)
        connections = {key: self.imported.data.pop(key) for key in ("peerings", "transit_gateways")}
        vpcs = [{key: vpc[key] for key in VPC_KEYS if key in vpc} for vpc in self.vpcs.values()]
        self.imported.data.update(servers=self.servers(), vpcs=vpcs)
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
            cidr = cidrs[0] if len(cidrs) == 1 else cidrs
            self.vpcs[vpc["VpcId"]] = {"name": name, "description": vpc["VpcId"], "cidr": cidr}
            self.count("VPC")
        for subnet in self.snapshot["Subnets"]:
            vpc = self.vpcs.get(subnet["VpcId"])
            if vpc is None:
                self.skip("subnet", subnet["SubnetId"], f"its VPC {subnet['VpcId']} is not in Vpcs.json")
                continue
            cidr, owned = IPv4Network(subnet["CidrBlock"], strict=False), vpc["cidr"]
            if not any(
                cidr.subnet_of(IPv4Network(c)) for c in (owned if isinstance(owned, list) else [owned])
            ):
                raise self.inconsistent(
                    "Subnets",
                    subnet["SubnetId"],
                    f"{cidr} is outside its VPC {subnet['VpcId']} ({vpc['cidr']})",
                )
            name = self.names.name(subnet, subnet["SubnetId"], ("subnet", subnet["VpcId"]))
            vpc.setdefault("subnets", []).append(
                {
                    "name": name,
                    "description": subnet["SubnetId"],
                    "cidr": subnet["CidrBlock"],
                    "az": subnet["AvailabilityZone"],
                }
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
                        "description": pcx["VpcPeeringConnectionId"],
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
            by_id[tgw["TransitGatewayId"]] = {
                "name": name,
                "description": tgw["TransitGatewayId"],
                "attachments": [],
                "route_tables": [],
            }
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
            subnet_names = [s[1] for s in subnets if s]
            tgw["attachments"].append(
                {"name": name, "description": aws_id, "vpc": vpc, "subnets": subnet_names}
            )
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
            entry: dict = {"name": name, "description": table["RouteTableId"], "main": False, "routes": []}
            for association in table.get("Associations", []):
                if association.get("Main"):
                    entry["main"] = True
                elif (subnet := self.subnet_data(association.get("SubnetId", ""))) is not None:
                    subnet["route_table"] = name
            for route in table.get("Routes", []):
                entry["routes"] += self.routes(vpc_id, table["RouteTableId"], route)
            vpc.setdefault("route_tables", []).append(entry)
            self.count("route table")

    def routes(self, vpc_id: str, table_id: str, route: dict) -> list[dict]:
        """A route as vpclab routes: one, or one per CIDR of its destination prefix list."""
        destination = route.get("DestinationCidrBlock")
        listed = route.get("DestinationPrefixListId")
        where = f"{table_id} {destination or route.get('DestinationIpv6CidrBlock') or listed}"
        if route.get("GatewayId") == "local":
            return []  # vpclab's local route is implicit
        if destination is None and listed in self.prefix_lists:
            destinations = self.prefix_lists[listed]
        elif destination is None:
            reason = "IPv6 is not emulated" if route.get("DestinationIpv6CidrBlock") else None
            self.skip("route", where, reason or f"its prefix list {listed} is not in the snapshot")
            return []
        else:
            destinations = [destination]
        target = self.route_target(vpc_id, route, where)
        return [{"destination": cidr, **target} for cidr in destinations] if target else []

    def route_target(self, vpc_id: str, route: dict, where: str) -> Optional[dict]:
        """The route's target as vpclab's key, or None (listed as skipped, with the reason)."""
        if route.get("State") == "blackhole":
            return {"blackhole": True}
        gateway = route.get("GatewayId", "")
        found: Optional[dict] = None
        reason = ""
        if (pcx := route.get("VpcPeeringConnectionId")) is not None:
            if not any(p["VpcPeeringConnectionId"] == pcx for p in self.snapshot["VpcPeeringConnections"]):
                raise self.inconsistent(
                    "RouteTables", where, f"a route to peering {pcx}, which is not in the snapshot"
                )
            found = {"peering": self.peerings[pcx]} if pcx in self.peerings else None
            reason = f"its peering {pcx} was not imported"
        elif (tgw := route.get("TransitGatewayId")) is not None:
            found = {"transit_gateway": self.tgws[tgw]} if tgw in self.tgws else None
            reason = f"its transit gateway {tgw} is not in the snapshot"
        elif gateway.startswith("igw-"):
            attached = self.internet_gateways.get(gateway) == vpc_id
            found = {"internet_gateway": self.vpcs[vpc_id]["internet_gateway"]} if attached else None
            reason = f"its internet gateway {gateway} is not attached to this VPC in the snapshot"
        elif (nat := route.get("NatGatewayId")) is not None:
            found = {"nat_gateway": self.nat_gateways[nat][1]} if nat in self.nat_gateways else None
            reason = f"its NAT gateway {nat} was not imported"
        elif "InstanceId" in route or "NetworkInterfaceId" in route:
            return self.appliance(vpc_id, route, where)
        else:
            reason = next(
                (text for prefix, text in GATEWAY_PREFIXES.items() if gateway.startswith(prefix)), ""
            )
            reason = reason or next(
                (text for key, text in UNSUPPORTED_TARGETS.items() if key in route), "an unknown target"
            )
        if found is None:
            self.skip("route", where, reason)
        return found

    def appliance(self, vpc_id: str, route: dict, where: str) -> Optional[dict]:
        """A route to an instance, or to its primary network interface."""
        instance_id = route.get("InstanceId") or self.interfaces.get(route.get("NetworkInterfaceId", ""))
        target = self.instances.get(instance_id or "")
        if target is None or target[0] != vpc_id:
            named = route.get("InstanceId") or route.get("NetworkInterfaceId")
            self.skip(
                "route",
                where,
                f"its target {named} is no imported instance of this VPC (or not its primary interface)",
            )
            return None
        entry = next(i for i in self.vpcs[vpc_id]["instances"] if i["name"] == target[1])
        groups = {g["name"]: g for g in self.vpcs[vpc_id].get("security_groups", [])}
        if any(
            "security_group" in rule
            for name in entry["security_groups"]
            for rule in groups.get(name, {}).get("ingress", [])
        ):
            self.skip(
                "route",
                where,
                f"its instance {instance_id} has inbound SG rules that name security groups, "
                "which vpclab does not carry to an appliance yet",
            )
            return None
        return {"instance": target[1]}

    def map_nacls(self, vpc_id: str) -> None:
        vpc = self.vpcs[vpc_id]
        for acl in (a for a in self.snapshot["NetworkAcls"] if a["VpcId"] == vpc_id):
            wanted = "default" if acl.get("IsDefault") else None
            name = self.names.name(acl, acl["NetworkAclId"], ("nacl", vpc_id), wanted)
            entry: dict = {"name": name, "description": acl["NetworkAclId"], "ingress": [], "egress": []}
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
            entry: dict = {"name": name, "description": group["GroupId"], "ingress": [], "egress": []}
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
        for listed in permission.get("PrefixListIds", []):
            cidrs = self.prefix_lists.get(listed.get("PrefixListId", ""))
            if cidrs is None:
                self.skip(
                    "SG rule", where, f"its prefix list {listed.get('PrefixListId')} is not in the snapshot"
                )
            rules += [{**traffic, "cidr": cidr} for cidr in cidrs or []]
        if permission.get("Ipv6Ranges"):
            self.skip("SG rule", where, "IPv6 is not emulated")
        return rules

    # -- the internet edge ------------------------------------------------------------------------
    def map_internet_edge(self) -> None:
        """Internet gateways attached to an imported VPC, public NAT gateways, Elastic IPs."""
        for igw in self.snapshot["InternetGateways"]:
            aws_id = igw["InternetGatewayId"]
            attached = [
                a["VpcId"]
                for a in igw.get("Attachments", [])
                if a.get("State") in ("available", "attached") and a.get("VpcId") in self.vpcs
            ]
            if not attached:
                self.skip("internet gateway", aws_id, "attached to no VPC of the snapshot")
                continue
            self.vpcs[attached[0]]["internet_gateway"] = self.names.name(igw, aws_id)
            self.internet_gateways[aws_id] = attached[0]
            self.count("internet gateway")
        for nat in self.snapshot["NatGateways"]:
            aws_id = nat["NatGatewayId"]
            if nat.get("State") != "available":
                self.skip("NAT gateway", aws_id, f"it is {nat.get('State')}, not available")
                continue
            if nat.get("ConnectivityType") == "private":
                self.skip("NAT gateway", aws_id, "private NAT gateways are not emulated")
                continue
            if nat.get("SubnetId") not in self.subnets:
                self.skip("NAT gateway", aws_id, "its subnet is not in Subnets.json")
                continue
            vpc_id, subnet = self.subnets[nat["SubnetId"]]
            name = self.names.name(nat, aws_id, "instance")
            self.vpcs[vpc_id].setdefault("nat_gateways", []).append(
                {"name": name, "description": aws_id, "subnet": subnet}
            )
            self.nat_gateways[aws_id] = (vpc_id, name)
            self.count("NAT gateway")
            for address in nat.get("NatGatewayAddresses", []):
                if address.get("PublicIp"):
                    self.change(
                        "Elastic IP", f"{address['PublicIp']} ({aws_id})", f"an address of {PUBLIC_RANGE}"
                    )
        mapped = set(self.interfaces) | {
            a.get("NetworkInterfaceId")
            for nat in self.snapshot["NatGateways"]
            if nat["NatGatewayId"] in self.nat_gateways
            for a in nat.get("NatGatewayAddresses", [])
        }
        for address in self.snapshot["Addresses"]:
            if address.get("NetworkInterfaceId") not in mapped:
                where = address.get("AllocationId") or address.get("PublicIp", "?")
                self.skip("Elastic IP", where, "associated with no imported instance or NAT gateway")

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
                entry: dict = {
                    "name": self.names.name(instance, aws_id, "instance"),
                    "description": aws_id,
                    "subnet": subnet,
                    "ip": instance["PrivateIpAddress"],
                    "security_groups": groups or ["default"],
                }
                if instance.get("PublicIpAddress"):
                    entry["public_ip"] = True
                    self.change(
                        "public IP",
                        f"{instance['PublicIpAddress']} ({aws_id})",
                        f"an address of {PUBLIC_RANGE}",
                    )
                if instance.get("SourceDestCheck") is False:
                    entry["source_dest_check"] = False
                self.vpcs[vpc_id].setdefault("instances", []).append(entry)
                self.instances[aws_id] = (vpc_id, entry["name"])
                interfaces = instance.get("NetworkInterfaces", [])
                primary = next(
                    (i for i in interfaces if i.get("Attachment", {}).get("DeviceIndex") == 0), None
                )
                if primary or interfaces:
                    self.interfaces[(primary or interfaces[0]).get("NetworkInterfaceId", "")] = aws_id
                self.count("instance")
                for extra in [i for i in interfaces if i is not (primary or interfaces[0])]:
                    self.skip(
                        "network interface",
                        extra.get("NetworkInterfaceId", "?"),
                        "vpclab instances have one interface",
                    )
