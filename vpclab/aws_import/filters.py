"""A VPC's route tables, network ACLs and security groups, as vpclab topology data."""

from __future__ import annotations

from typing import Optional

from .endpoints import EndpointMapping
from .hybrid import HybridMapping
from .state import (
    ALL_PORTS,
    GATEWAY_PREFIXES,
    IMPLICIT_NACL_RULE,
    PROTOCOL_NAMES,
    UNSUPPORTED_TARGETS,
    MapperState,
)


class FilterMapping(EndpointMapping, HybridMapping, MapperState):
    # -- route tables, NACLs, security groups ----------------------------------------------------
    def map_route_tables(self, vpc_id: str) -> None:
        vpc = self.vpcs[vpc_id]
        for table in (t for t in self.snapshot["RouteTables"] if t["VpcId"] == vpc_id):
            name = self.names.name(table, table["RouteTableId"], ("route-table", vpc_id))
            entry: dict = {"name": name, "description": table["RouteTableId"], "main": False, "routes": []}
            self.table_names[table["RouteTableId"]] = name
            for association in table.get("Associations", []):
                if association.get("Main"):
                    entry["main"] = True
                elif (subnet := self.subnet_data(association.get("SubnetId", ""))) is not None:
                    subnet["route_table"] = name
            for route in table.get("Routes", []):
                entry["routes"] += self.routes(vpc_id, table["RouteTableId"], route)
            if propagating := self.propagating(table):
                entry["propagating_vgws"] = propagating
            vpc.setdefault("route_tables", []).append(entry)
            self.count("route table")

    def routes(self, vpc_id: str, table_id: str, route: dict) -> list[dict]:
        """A route as vpclab routes: one, or one per CIDR of its destination prefix list."""
        destination = route.get("DestinationCidrBlock")
        if destination is None and route.get("DestinationIpv6CidrBlock"):
            if "ipv6_cidr" not in self.vpcs[vpc_id]:
                self.skip(
                    "route", f"{table_id} {route['DestinationIpv6CidrBlock']}", "its VPC has no IPv6 block"
                )
                return []
            destination = self.ipv6.network(route["DestinationIpv6CidrBlock"])
        listed = route.get("DestinationPrefixListId", "")
        where = f"{table_id} {destination or route.get('DestinationIpv6CidrBlock') or listed}"
        if route.get("GatewayId") == "local":
            return []  # vpclab's local route is implicit
        if self.gateway_endpoint(route.get("GatewayId", "")) is not None:
            self.used_lists.add(listed)
            return []  # the gateway endpoint's own route: vpclab adds it from its route tables
        if destination is None and (aws_name := self.aws_list(listed)) is not None:
            target = self.route_target(vpc_id, route, where)
            if target:
                self.used_lists.add(listed)
            return [{"destination_prefix_list": aws_name, **target}] if target else []
        if destination is None and listed in self.prefix_lists:
            destinations = self.prefix_lists[listed]
        elif destination is None:
            self.skip("route", where, f"its prefix list {listed} is not in the snapshot")
            return []
        else:
            destinations = [destination]
        target = self.route_target(vpc_id, route, where)
        if target and listed:
            self.used_lists.add(listed)
        return [{"destination": cidr, **target} for cidr in destinations] if target else []

    def eigw_name(self, vpc: dict, eigw_id: str) -> str:
        """The VPC's egress-only internet gateway, named from its id (a route names it)."""
        vpc.setdefault("egress_only_internet_gateway", eigw_id)
        return vpc["egress_only_internet_gateway"]

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
        elif (eigw := route.get("EgressOnlyInternetGatewayId")) is not None:  # the VPC's own
            vpc = self.vpcs[vpc_id]
            found = (
                {"egress_only_internet_gateway": self.eigw_name(vpc, eigw)} if "ipv6_cidr" in vpc else None
            )
            reason = "its VPC's IPv6 block is not imported"
        elif (nat := route.get("NatGatewayId")) is not None:
            found = {"nat_gateway": self.nat_gateways[nat][1]} if nat in self.nat_gateways else None
            reason = f"its NAT gateway {nat} was not imported"
        elif "InstanceId" in route or "NetworkInterfaceId" in route:
            return self.appliance(vpc_id, route, where)
        elif gateway.startswith("vgw-"):
            return self.vgw_route(route, where)
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
        cidr = rule.get("CidrBlock") or (
            rule.get("Ipv6CidrBlock") and self.ipv6.network(rule["Ipv6CidrBlock"])
        )
        if cidr is None:
            self.skip("NACL rule", where, "it has no CIDR")
            return None
        mapped: dict = {"rule": rule["RuleNumber"], **self.traffic(rule.get("Protocol", "-1"), rule)}
        return {**mapped, "cidr": cidr, "action": rule["RuleAction"]}

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
        elif name in ("icmp", "icmpv6"):
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
        traffic = self.traffic(permission.get("IpProtocol", "-1"), permission)
        family = {"icmp": 4, "icmpv6": 6}.get(str(traffic["protocol"]))  # an ICMP matches one family
        rules = []
        for key, ranges, version in (("CidrIp", "IpRanges", 4), ("CidrIpv6", "Ipv6Ranges", 6)):
            for listed in permission.get(ranges, []):
                if family in (None, version):
                    rules.append({**traffic, "cidr": self.ipv6.network(listed[key])})
                else:
                    self.skip(
                        "SG rule", where, f"{traffic['protocol']} with {listed[key]}: it matches no packet"
                    )
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
            if (name := self.aws_list(listed.get("PrefixListId", ""))) is not None:
                self.used_lists.add(listed["PrefixListId"])
                rules.append({**traffic, "prefix_list": name})
                continue
            cidrs = self.prefix_lists.get(listed.get("PrefixListId", ""))
            if cidrs is None:
                self.skip(
                    "SG rule", where, f"its prefix list {listed.get('PrefixListId')} is not in the snapshot"
                )
            if cidrs is not None:
                self.used_lists.add(listed["PrefixListId"])
            rules += [{**traffic, "cidr": cidr} for cidr in cidrs or []]
        return rules
