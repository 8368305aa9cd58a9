"""A plan's route tables and routes, security groups and their rules, network ACLs and their
entries, as describe-route-tables, describe-security-groups and describe-network-acls answer
them once the plan is applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

from .state import Skipped
from .terraform_names import name_tag
from .terraform_plan import ID_KINDS, PREFIXES, UNSAID, Resource, any_unknown

if TYPE_CHECKING:
    from .terraform_plan import Plan

# a route's target attribute in Terraform -> its key in describe-route-tables
ROUTE_TARGETS = {
    "gateway_id": "GatewayId",
    "nat_gateway_id": "NatGatewayId",
    "transit_gateway_id": "TransitGatewayId",
    "vpc_peering_connection_id": "VpcPeeringConnectionId",
    "network_interface_id": "NetworkInterfaceId",
    "instance_id": "InstanceId",
    "egress_only_gateway_id": "EgressOnlyInternetGatewayId",
    "vpc_endpoint_id": "VpcEndpointId",
    "carrier_gateway_id": "CarrierGatewayId",
    "local_gateway_id": "LocalGatewayId",
    "core_network_arn": "CoreNetworkArn",
}
TARGET_FIELDS = {  # an id's prefix -> the route key AWS files it under
    "igw": "GatewayId",
    "vgw": "GatewayId",
    "nat": "NatGatewayId",
    "tgw": "TransitGatewayId",
    "pcx": "VpcPeeringConnectionId",
    "eni": "NetworkInterfaceId",
    "i": "InstanceId",
    "eigw": "EgressOnlyInternetGatewayId",
    "vpce": "VpcEndpointId",
}
DESTINATIONS = {  # an inline route's keys, then aws_route's
    "cidr_block": "DestinationCidrBlock",
    "ipv6_cidr_block": "DestinationIpv6CidrBlock",
    "destination_prefix_list_id": "DestinationPrefixListId",
    "destination_cidr_block": "DestinationCidrBlock",
    "destination_ipv6_cidr_block": "DestinationIpv6CidrBlock",
}
PROTOCOLS = {"all": "-1", "-1": "-1", "tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}


class FilterResources:
    plan: Plan
    files: dict[str, list]
    by_id: dict[str, dict]
    sources: dict[str, Resource]
    skipped: list[Skipped]
    changed: list[Skipped]
    add: Callable[..., dict]
    skip: Callable[[Resource, str], None]
    owner: Callable[[Resource, str, str, str], Optional[dict]]

    def filter_readers(self) -> dict:
        return {
            "aws_route_table": self.route_table,
            "aws_default_route_table": self.route_table,
            "aws_route": None,
            "aws_route_table_association": None,
            "aws_main_route_table_association": None,
            "aws_security_group": self.security_group,
            "aws_default_security_group": self.security_group,
            "aws_security_group_rule": None,
            "aws_vpc_security_group_ingress_rule": None,
            "aws_vpc_security_group_egress_rule": None,
            "aws_network_acl": self.network_acl,
            "aws_default_network_acl": self.network_acl,
            "aws_network_acl_rule": None,
            "aws_network_acl_association": None,
        }

    def filters_done(self) -> None:
        self.routes()
        self.table_associations()
        self.group_rules()
        self.nacl_rules()

    def vpc_of(self, resource: Resource, default_key: str) -> str:
        """The VPC of a resource: its vpc_id, or (a default table, ACL or group) the VPC whose
        default it names (``aws_vpc.main.default_route_table_id``)."""
        if self.plan.known(resource, "vpc_id") or "vpc_id" in (resource.config.get("expressions") or {}):
            return self.plan.one(resource, "vpc_id") or ""
        named = self.plan.one(resource, default_key) or ""
        if named.startswith("vpc-"):  # the reference named the VPC (its default's id is unknown)
            return named
        return self.plan.one(resource, "vpc_id") or ""

    # -- route tables ----------------------------------------------------------------------------
    def route_table(self, resource: Resource) -> None:
        main = resource.type == "aws_default_route_table"
        vpc = self.vpc_of(resource, "default_route_table_id")
        entry = self.add(
            "RouteTables",
            "RouteTableId",
            resource,
            {"VpcId": vpc, "Associations": [{"Main": True}] if main else [], "Routes": []},
        )
        if not main and not vpc:
            self.files["RouteTables"].remove(entry)
            self.skip(resource, "it names no VPC")
            return
        blocks = (resource.config.get("expressions") or {}).get("route")
        unknown = resource.unknown.get("route")
        for n, route in enumerate(resource.values.get("route") or []):
            if not isinstance(route, dict):
                continue
            expression = blocks[n] if isinstance(blocks, list) and n < len(blocks) else blocks
            missing = unknown[n] if isinstance(unknown, list) and n < len(unknown) else {}
            made = self.route(resource, route, missing if isinstance(missing, dict) else {}, expression)
            if made is not None:
                entry["Routes"].append(made)

    def route(self, resource: Resource, values: dict, unknown: dict, expression) -> Optional[dict]:
        """One route (inline, or aws_route's) as describe-route-tables writes it."""
        made: dict = {"State": "active"}
        for key, field in DESTINATIONS.items():
            if isinstance(values.get(key), str) and values[key]:
                made[field] = values[key]
        for key, field in ROUTE_TARGETS.items():
            value = values.get(key)
            if isinstance(value, str) and value:
                made[field] = value
            elif unknown.get(key):
                target = self.route_target(resource, key, expression)
                if target is not None:  # AWS files a target by its kind (a NAT gateway's id
                    # given as gateway_id is a NatGatewayId)
                    made[TARGET_FIELDS.get(target.split("-")[0], field)] = target
        if not any(f in made for f in ROUTE_TARGETS.values()):
            where = made.get("DestinationCidrBlock") or made.get("DestinationIpv6CidrBlock", "?")
            self.skip(resource, f"a route to {where} whose target the plan does not say")
            return None
        return made

    def route_target(self, resource: Resource, key: str, expression) -> Optional[str]:
        """An unknown target: aws_route's own expression; an inline route's block, or the whole
        ``route`` attribute's references (the one of the target's kind); else the one of its
        kind in the module."""
        if resource.type == "aws_route":
            found = self.plan.ids(resource, key)
        elif isinstance(expression, dict) and isinstance(expression.get(key), dict):
            found = self.plan.ids(resource, key, expression[key])
        elif _references(expression):
            found = self.plan.ids(resource, key, expression)
        else:
            found = self.plan.guess(resource, key, UNSAID) if key in ID_KINDS and expression is None else []
        prefixes = tuple(f"{PREFIXES[t]}-" for t in ID_KINDS.get(key, ()))
        return next((f for f in found if f.startswith(prefixes)), found[0] if found else None)

    def routes(self) -> None:
        for resource in self.plan.of_type("aws_route"):
            table = self.owner(resource, "route_table_id", "RouteTableId", "route table")
            if table is None:
                continue
            made = self.route(resource, resource.values, resource.unknown, None)
            if made is not None:
                table["Routes"].append(made)

    def table_associations(self) -> None:
        for resource in self.plan.of_type("aws_route_table_association", "aws_main_route_table_association"):
            table = self.owner(resource, "route_table_id", "RouteTableId", "route table")
            if table is None:
                continue
            if resource.type == "aws_main_route_table_association":
                for other in self.files["RouteTables"]:
                    if other["VpcId"] == table["VpcId"]:
                        other["Associations"] = [a for a in other["Associations"] if not a.get("Main")]
                table["Associations"].append({"Main": True})
            elif (subnet := self.plan.one(resource, "subnet_id")) is not None:
                table["Associations"].append({"SubnetId": subnet})
            else:
                self.skip(resource, "an edge association (gateway route table), which is not emulated")
        for table in list(self.files["RouteTables"]):  # a default table that names no VPC
            if table["VpcId"]:
                continue
            if len(self.files["Vpcs"]) == 1:  # the plan's one VPC's
                table["VpcId"] = self.files["Vpcs"][0]["VpcId"]
            else:
                self.files["RouteTables"].remove(table)
                self.skip(self.sources[table["RouteTableId"]], "its VPC is not in the plan")

    # -- security groups -------------------------------------------------------------------------
    def security_group(self, resource: Resource) -> None:
        """A group: Terraform removes the egress rule AWS gives a new group, and a default
        group's rules, so it holds what the plan says (inline rules, then rule resources)."""
        default = resource.type == "aws_default_security_group"
        name = "default" if default else resource.values.get("name")
        if not isinstance(name, str) or not name:  # Terraform makes one on apply (name_prefix)
            name = resource.values.get("name_prefix") or name_tag(resource)[0]["Value"]
        vpc = self.plan.one(resource, "vpc_id") or ""
        entry = self.add(
            "SecurityGroups",
            "GroupId",
            resource,
            {"GroupName": name, "VpcId": vpc, "IpPermissions": [], "IpPermissionsEgress": []},
        )
        for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
            blocks = (resource.config.get("expressions") or {}).get(direction)
            for n, rule in enumerate(resource.values.get(direction) or []):
                if not isinstance(rule, dict):
                    continue
                expression = _block(blocks, n, rule)
                groups = list(rule.get("security_groups") or [])
                if not groups and any_unknown(resource.unknown.get(direction)) and expression:
                    groups = self.plan.ids(
                        resource, "security_groups", expression.get("security_groups") or {}
                    )
                if rule.get("self"):
                    groups.append(entry["GroupId"])
                entry[key].append(
                    _permission(
                        rule.get("protocol"),
                        rule.get("from_port"),
                        rule.get("to_port"),
                        rule.get("cidr_blocks") or [],
                        rule.get("ipv6_cidr_blocks") or [],
                        groups,
                        rule.get("prefix_list_ids") or [],
                    )
                )

    def group_rules(self) -> None:
        for resource in self.plan.of_type(
            "aws_security_group_rule",
            "aws_vpc_security_group_ingress_rule",
            "aws_vpc_security_group_egress_rule",
        ):
            group = self.owner(resource, "security_group_id", "GroupId", "security group")
            if group is None:
                continue
            values = resource.values
            if resource.type == "aws_security_group_rule":
                egress = values.get("type") == "egress"
                others = self.plan.ids(resource, "source_security_group_id")
                if values.get("self"):
                    others.append(group["GroupId"])
                permission = _permission(
                    values.get("protocol"),
                    values.get("from_port"),
                    values.get("to_port"),
                    self.plan.ids(resource, "cidr_blocks"),
                    self.plan.ids(resource, "ipv6_cidr_blocks"),
                    others,
                    self.plan.ids(resource, "prefix_list_ids"),
                )
            else:
                egress = resource.type.endswith("egress_rule")
                permission = _permission(
                    values.get("ip_protocol"),
                    values.get("from_port"),
                    values.get("to_port"),
                    self.plan.ids(resource, "cidr_ipv4"),
                    self.plan.ids(resource, "cidr_ipv6"),
                    self.plan.ids(resource, "referenced_security_group_id"),
                    self.plan.ids(resource, "prefix_list_id"),
                )
            group["IpPermissionsEgress" if egress else "IpPermissions"].append(permission)

    # -- network ACLs ----------------------------------------------------------------------------
    def network_acl(self, resource: Resource) -> None:
        default = resource.type == "aws_default_network_acl"
        vpc = self.vpc_of(resource, "default_network_acl_id")
        entry = self.add(
            "NetworkAcls",
            "NetworkAclId",
            resource,
            {"VpcId": vpc, "IsDefault": default, "Entries": [], "Associations": []},
        )
        for subnet in self.plan.ids(resource, "subnet_ids"):
            entry["Associations"].append({"SubnetId": subnet})
        for direction in ("ingress", "egress"):
            for rule in resource.values.get(direction) or []:
                if isinstance(rule, dict):
                    entry["Entries"].append(_entry(rule, direction == "egress", "rule_no", "action"))

    def nacl_rules(self) -> None:
        for resource in self.plan.of_type("aws_network_acl_rule"):
            acl = self.owner(resource, "network_acl_id", "NetworkAclId", "network ACL")
            if acl is None:
                continue
            values = resource.values
            acl["Entries"].append(_entry(values, bool(values.get("egress")), "rule_number", "rule_action"))
        for resource in self.plan.of_type("aws_network_acl_association"):
            acl = self.owner(resource, "network_acl_id", "NetworkAclId", "network ACL")
            subnet = self.plan.one(resource, "subnet_id")
            if acl is None or subnet is None:
                if acl is not None:
                    self.skip(resource, "it names no subnet")
                continue
            for other in self.files["NetworkAcls"]:  # a subnet has one NACL
                other["Associations"] = [a for a in other["Associations"] if a.get("SubnetId") != subnet]
            acl["Associations"].append({"SubnetId": subnet})


def _references(expression) -> bool:
    return isinstance(expression, dict) and bool(expression.get("references"))


def _block(blocks, n: int, rule: dict) -> Optional[dict]:
    """The configuration block of the n-th rule of a set (Terraform sorts sets): the one whose
    constant ports and protocol are the rule's, else the n-th."""
    if not isinstance(blocks, list):
        return blocks if isinstance(blocks, dict) and "references" not in blocks else None
    same = [
        b
        for b in blocks
        if isinstance(b, dict)
        and all(
            (b.get(k) or {}).get("constant_value", rule.get(k)) in (rule.get(k), str(rule.get(k)))
            for k in ("from_port", "to_port", "protocol")
        )
    ]
    if len(same) == 1:
        return same[0]
    return blocks[n] if n < len(blocks) and isinstance(blocks[n], dict) else None


def _protocol(protocol) -> str:
    text = str(protocol if protocol is not None else "-1").lower()
    return PROTOCOLS.get(text, text)


def _permission(protocol, low, high, cidrs, ipv6, groups, lists) -> dict:
    permission: dict = {"IpProtocol": _protocol(protocol)}
    if permission["IpProtocol"] != "-1":
        permission.update(FromPort=_number(low), ToPort=_number(high))
    permission["IpRanges"] = [{"CidrIp": c} for c in cidrs if c]
    permission["Ipv6Ranges"] = [{"CidrIpv6": c} for c in ipv6 if c]
    permission["UserIdGroupPairs"] = [{"GroupId": g} for g in groups if g]
    permission["PrefixListIds"] = [{"PrefixListId": p} for p in lists if p]
    return permission


def _number(value) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _entry(rule: dict, egress: bool, number_key: str, action_key: str) -> dict:
    """A NACL entry as describe-network-acls writes it."""
    entry: dict = {
        "RuleNumber": _number(rule.get(number_key)),
        "Egress": egress,
        "Protocol": _protocol(rule.get("protocol")),
        "RuleAction": str(rule.get(action_key) or "deny").lower(),
    }
    if rule.get("cidr_block"):
        entry["CidrBlock"] = rule["cidr_block"]
    if rule.get("ipv6_cidr_block"):
        entry["Ipv6CidrBlock"] = rule["ipv6_cidr_block"]
    if entry["Protocol"] in ("6", "17"):
        entry["PortRange"] = {"From": _number(rule.get("from_port")), "To": _number(rule.get("to_port"))}
    elif entry["Protocol"] in ("1", "58"):
        entry["IcmpTypeCode"] = {
            "Type": _number(rule.get("icmp_type")),
            "Code": _number(rule.get("icmp_code")),
        }
    return entry
