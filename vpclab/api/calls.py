"""EC2 API calls as vpclab's runtime changes (pure): which calls the running emulation follows,
the changes each makes (the same operations the shell's verbs send), and AWS-style refusals for
the rest.

A call's parameters are the Query API's flat form (``IpPermissions.1.IpRanges.1.CidrIp``), as
the AWS CLI, boto3 and Terraform send them. Ids are the API's (``sg-...``, ``rtb-...``): ``Ids``
says which design object each stands for. A call that reads (Describe..., Get...) changes
nothing here; a call that changes what the emulation cannot follow at run time is refused
before anything changes.
"""

from __future__ import annotations

from ipaddress import ip_network

from vpclab.intent.model.traffic import protocol_label
from vpclab.intent.values import parse_ports, parse_protocol

from . import endpoints, lifecycle, resources, transit_gateways
from .params import NEW, ApiRefusal, Change, Ids, members, tagged_name


# -- security group rules ----------------------------------------------------------------------
def _rule_base(permission: dict) -> dict:
    """vpclab's protocol and ports (or ICMP type and code) of one IpPermission."""
    number = parse_protocol(str(permission.get("IpProtocol", "-1")).lower())
    base: dict = {"protocol": protocol_label(number)}
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if number in (6, 17) and low not in (None, "") and not (str(low) == "0" and str(high) == "65535"):
        base["ports"] = str(low) if str(low) == str(high) else f"{low}-{high}"
    if number in (1, 58):  # icmp, icmpv6: FromPort and ToPort are its type and code
        if low not in (None, "", "-1"):
            base["icmp_type"] = int(low)
            if high not in (None, "", "-1"):
                base["icmp_code"] = int(high)
    return base


def sg_rules(params: dict, ids: Ids, vpc: str = "") -> list[dict]:
    """The vpclab rules (one per CIDR, group or prefix list) an Authorize/Revoke call names,
    in its IpPermissions or in the older flat form (IpProtocol, FromPort, ToPort, CidrIp), for
    a group of ``vpc`` (another VPC's default group is ``VPC/default`` there)."""
    permissions = [_flattened(p) for p in members(params, "IpPermissions")]
    if not permissions:
        flat = {k: params[k] for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp") if k in params}
        if "SourceSecurityGroupId" in params:
            flat["groups"] = [params["SourceSecurityGroupId"]]
        permissions = [dict(flat, cidrs=[flat["CidrIp"]] if "CidrIp" in flat else [])]
    rules = []
    for permission in permissions:
        base = _rule_base(permission)
        for cidr in [*permission.get("cidrs", []), *permission.get("ipv6", [])]:
            rules.append({**base, "cidr": str(ip_network(cidr, strict=False))})
        for group in permission.get("groups", []):
            owner, name = ids.key(group, "security_group", "Group")
            named = f"{owner}/{name}" if name == "default" and owner != vpc else name
            rules.append({**base, "security_group": named})
        for listed in permission.get("prefix_lists", []):
            rules.append({**base, "prefix_list": ids.key(listed, "prefix_list", "PrefixListId")})
    if not rules:
        raise ApiRefusal("MissingParameter", "The request must contain the parameter ipPermissions")
    return rules


def _flattened(permission: dict) -> dict:
    """One ``IpPermissions.N`` entry: its fields, and its ranges, groups and lists as lists."""
    out = {key: value for key, value in permission.items() if "." not in key}
    out["cidrs"] = [m["CidrIp"] for m in members(permission, "IpRanges") if "CidrIp" in m]
    out["groups"] = [
        m["GroupId"] for m in members(permission, "Groups") + members(permission, "UserIdGroupPairs")
    ]
    out["prefix_lists"] = [m["PrefixListId"] for m in members(permission, "PrefixListIds")]
    out["ipv6"] = [m["CidrIpv6"] for m in members(permission, "Ipv6Ranges") if "CidrIpv6" in m]
    return out


def same_rule(one: dict, other: dict) -> bool:
    """Whether two vpclab rule mappings say the same (as a revoke must name a rule)."""
    return _canonical(one) == _canonical(other)


def _canonical(rule: dict) -> tuple:
    protocol = parse_protocol(rule.get("protocol", "all"))
    ports = parse_ports(rule.get("ports"), protocol) if rule.get("ports") is not None else None
    if ports == (0, 65535):
        ports = None
    cidr = str(ip_network(rule["cidr"], strict=False)) if rule.get("cidr") else None
    icmp = (rule.get("icmp_type", -1), rule.get("icmp_code", -1))
    return (
        protocol,
        ports,
        tuple(int(n) for n in icmp),
        cidr,
        rule.get("security_group"),
        rule.get("prefix_list"),
    )


def security_group_changes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """Authorize/RevokeSecurityGroupIngress/Egress: one change per rule; a revoke names the
    design's own rule that says the same (the running design's text of it)."""
    group_id = params.get("GroupId")
    if not group_id:
        raise ApiRefusal("MissingParameter", "vpclab needs the GroupId of the security group")
    vpc, name = ids.key(group_id, "security_group", "Group")
    direction = "ingress" if action.endswith("Ingress") else "egress"
    rules = sg_rules(params, ids, vpc)
    group = f"{vpc}/default" if name == "default" else name  # as the shell names a VPC's default SG
    if action.startswith("Authorize"):
        return [("add-sg-rule", {"security_group": group, "direction": direction, "rule": r}) for r in rules]
    written = _group_rules(running, vpc, name, direction)
    changes = []
    for rule in rules:
        found = next((w for w in written if same_rule(w, rule)), None)
        if found is None:
            raise ApiRefusal(
                "InvalidPermission.NotFound", "The specified rule does not exist in this security group."
            )
        changes.append(("remove-sg-rule", {"security_group": group, "direction": direction, "rule": found}))
    return changes


def _group_rules(running: dict, vpc: str, name: str, direction: str) -> list[dict]:
    """The rules of ``vpc``'s group ``name`` as the running design writes them (a group's
    default egress, and the implicit default group's, as AWS makes them)."""
    everything = [{"protocol": "all", "cidr": "0.0.0.0/0"}] if direction == "egress" else []
    for entry in running.get("vpcs", []):
        if entry.get("name") != vpc:
            continue
        for group in entry.get("security_groups", []):
            if group.get("name") == name:
                return list(group.get(direction, everything))
    if name == "default" and direction == "ingress":
        return [{"protocol": "all", "security_group": "default"}]
    return everything


# -- routes ------------------------------------------------------------------------------------
ROUTE_TARGETS = {  # the API's target parameter -> vpclab's route key, the kind its id is
    "GatewayId": ("internet_gateway", "internet_gateway"),
    "NatGatewayId": ("nat_gateway", "nat_gateway"),
    "TransitGatewayId": ("transit_gateway", "transit_gateway"),
    "VpcPeeringConnectionId": ("peering", "peering"),
    "InstanceId": ("instance", "instance"),
}


def route_changes(action: str, params: dict, ids: Ids) -> list[Change]:
    """CreateRoute, DeleteRoute, ReplaceRoute in a VPC route table (IPv4 destinations)."""
    vpc, table = ids.key(params.get("RouteTableId", ""), "route_table", "RouteTableID")
    destination = params.get("DestinationCidrBlock")
    if not destination:
        other = "DestinationIpv6CidrBlock" if "DestinationIpv6CidrBlock" in params else "a prefix list"
        raise ApiRefusal("UnsupportedOperation", f"vpclab routes IPv4 CIDRs only, not {other}")
    destination = str(ip_network(destination, strict=False))
    where = {"vpc": vpc, "table": table, "destination": destination}
    if action == "DeleteRoute":
        return [("remove-route", where)]
    given = [key for key in params if key in ROUTE_TARGETS]
    if len(given) != 1:
        known = ", ".join(ROUTE_TARGETS)
        raise ApiRefusal("UnsupportedOperation", f"vpclab takes a route to exactly one of {known}")
    target, kind = ROUTE_TARGETS[given[0]]
    name = ids.key(params[given[0]], kind, given[0][: -len("Id")])
    added = ("add-route", {**where, "target": target, "name": name})
    return [("remove-route", where), added] if action == "ReplaceRoute" else [added]


# -- network ACL entries -----------------------------------------------------------------------
def nacl_changes(action: str, params: dict, ids: Ids) -> list[Change]:
    """CreateNetworkAclEntry, DeleteNetworkAclEntry, ReplaceNetworkAclEntry."""
    vpc, nacl = ids.key(params.get("NetworkAclId", ""), "network_acl", "NetworkAclID")
    direction = "egress" if str(params.get("Egress", "false")).lower() == "true" else "ingress"
    number = int(params.get("RuleNumber", 0))
    where = {"vpc": vpc, "nacl": nacl, "direction": direction}
    if action == "DeleteNetworkAclEntry":
        return [("remove-nacl-rule", {**where, "number": number})]
    cidr = params.get("CidrBlock") or params.get("Ipv6CidrBlock")
    if not cidr:
        raise ApiRefusal("MissingParameter", "a NACL entry needs a CidrBlock or an Ipv6CidrBlock")
    permission = {
        "IpProtocol": params.get("Protocol", "-1"),
        "FromPort": params.get("PortRange.From", params.get("IcmpTypeCode.Type")),
        "ToPort": params.get("PortRange.To", params.get("IcmpTypeCode.Code")),
    }
    rule = {
        "rule": number,
        **_rule_base(permission),
        "cidr": str(ip_network(cidr, strict=False)),
        "action": str(params.get("RuleAction", "allow")).lower(),
    }
    added = ("add-nacl-rule", {**where, "rule": rule})
    if action == "ReplaceNetworkAclEntry":
        return [("remove-nacl-rule", {**where, "number": number}), added]
    return [added]


# -- peerings and transit gateways -------------------------------------------------------------
# a create call's new object: its kind in Ids, the answer's id element, and its Ids key
CREATED = {
    "CreateVpcPeeringConnection": ("peering", "vpcPeeringConnectionId", lambda a: a["peering"]),
    "CreateVpc": ("vpc", "vpcId", lambda a: a["name"]),
    "CreateNatGateway": ("nat_gateway", "natGatewayId", lambda a: a["name"]),
    **resources.CREATED,
    **transit_gateways.CREATED,
    **endpoints.CREATED,
}


def peering_changes(action: str, params: dict, ids: Ids) -> list[Change]:
    """Create/Accept/Reject/DeleteVpcPeeringConnection: the peering's lifecycle (a request is
    pending-acceptance until the accepter accepts it, as AWS does between two VPCs)."""
    if action == "CreateVpcPeeringConnection":
        requester = ids.key(params.get("VpcId", ""), "vpc", "Vpc")
        accepter = ids.key(params.get("PeerVpcId", ""), "vpc", "Vpc")
        name = tagged_name(params) or NEW
        return [("request-peering", {"peering": name, "requester": requester, "accepter": accepter})]
    peering = ids.key(params.get("VpcPeeringConnectionId", ""), "peering", "VpcPeeringConnectionID")
    operation = {
        "AcceptVpcPeeringConnection": "accept-peering",
        "RejectVpcPeeringConnection": "reject-peering",
        "DeleteVpcPeeringConnection": "delete-peering",
    }[action]
    return [(operation, {"peering": peering})]


def tgw_changes(action: str, params: dict, ids: Ids) -> list[Change]:
    """A TGW route table's static routes, associations and propagations; an attachment's
    acceptance."""
    if action in ("AcceptTransitGatewayVpcAttachment", "RejectTransitGatewayVpcAttachment"):
        tgw, attachment = ids.key(
            params.get("TransitGatewayAttachmentId", ""), "tgw_attachment", "TransitGatewayAttachmentID"
        )
        operation = "accept-attachment" if action.startswith("Accept") else "reject-attachment"
        return [(operation, {"tgw": tgw, "attachment": attachment})]
    tgw, table = ids.key(params.get("TransitGatewayRouteTableId", ""), "tgw_route_table", "RouteTableID")
    where = {"tgw": tgw, "table": table}
    if action.endswith("TransitGatewayRoute"):
        cidr = str(ip_network(params.get("DestinationCidrBlock", ""), strict=False))
        if action == "DeleteTransitGatewayRoute":
            return [("remove-tgw-route", {**where, "cidr": cidr})]
        if str(params.get("Blackhole", "false")).lower() == "true":
            return [("blackhole", {**where, "cidr": cidr})]
        _, attachment = ids.key(
            params.get("TransitGatewayAttachmentId", ""), "tgw_attachment", "TransitGatewayAttachmentID"
        )
        return [("tgw-route", {**where, "cidr": cidr, "attachment": attachment})]
    _, attachment = ids.key(
        params.get("TransitGatewayAttachmentId", ""), "tgw_attachment", "TransitGatewayAttachmentID"
    )
    operation = {
        "EnableTransitGatewayRouteTablePropagation": "add-propagation",
        "DisableTransitGatewayRouteTablePropagation": "remove-propagation",
        "AssociateTransitGatewayRouteTable": "add-association",
        "DisassociateTransitGatewayRouteTable": "remove-association",
    }[action]
    return [(operation, {**where, "attachment": attachment})]


FOLLOWED = {  # the changing calls the running emulation follows
    **dict.fromkeys(
        (
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
        ),
        "security_group",
    ),
    **dict.fromkeys(("CreateRoute", "DeleteRoute", "ReplaceRoute"), "route"),
    **dict.fromkeys(
        ("CreateNetworkAclEntry", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry"), "network_acl"
    ),
    **dict.fromkeys(
        (
            "CreateVpcPeeringConnection",
            "AcceptVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
        ),
        "peering",
    ),
    **dict.fromkeys(
        (
            "CreateTransitGatewayRoute",
            "DeleteTransitGatewayRoute",
            "ReplaceTransitGatewayRoute",
            "EnableTransitGatewayRouteTablePropagation",
            "DisableTransitGatewayRouteTablePropagation",
            "AssociateTransitGatewayRouteTable",
            "DisassociateTransitGatewayRouteTable",
            "AcceptTransitGatewayVpcAttachment",
            "RejectTransitGatewayVpcAttachment",
        ),
        "transit_gateway",
    ),
}


def changes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """The runtime changes of a changing call, or ApiRefusal (UnsupportedOperation for a call
    the emulation does not follow: nothing changes)."""
    kind = FOLLOWED.get(action)
    if kind == "security_group":
        return security_group_changes(action, params, ids, running)
    if kind == "route":
        return route_changes(action, params, ids)
    if kind == "network_acl":
        return nacl_changes(action, params, ids)
    if kind == "peering":
        return peering_changes(action, params, ids)
    if kind == "transit_gateway":
        return tgw_changes(action, params, ids)
    if action in transit_gateways.CALLS:
        return transit_gateways.changes(action, params, ids, running)
    if action in lifecycle.LIFECYCLE:
        return lifecycle.changes(action, params, ids, running)
    if action in endpoints.CALLS:
        return endpoints.changes(action, params, ids, running)
    if action in resources.OBJECTS:
        return resources.OBJECTS[action](action, params, ids)
    if action in resources.ATTRIBUTES:
        return resources.instance_attributes(action, params, ids, running)
    if action in resources.GATEWAYS:
        return resources.gateway_objects(action, params, ids, running)
    if action in resources.ELASTIC_IPS:
        return resources.elastic_ip_objects(action, params, ids, running)
    raise ApiRefusal(
        "UnsupportedOperation",
        f"vpclab's running emulation cannot follow {action} yet; it follows "
        + ", ".join(
            sorted(
                [
                    *FOLLOWED,
                    *lifecycle.LIFECYCLE,
                    *endpoints.CALLS,
                    *transit_gateways.CALLS,
                    *resources.OBJECTS,
                    *resources.ATTRIBUTES,
                    *resources.GATEWAYS,
                    *resources.ELASTIC_IPS,
                ]
            )
        )
        + " (and answers every Describe call)",
    )
