"""EC2 API calls that create, delete and attach a VPC's objects, as vpclab's runtime changes
(pure, as ``calls``): security groups, route tables, network ACLs, a subnet's associations, an
instance's (or its network interface's) security groups and source/destination check.

A create call's object is named by its Name tag (a security group by its GroupName), else by
the id moto answers with (``NEW`` until then); an association is known by its id, which the
seed and these calls record (AWS answers a new one on every association)."""

from __future__ import annotations

from typing import Optional

from .params import NEW, ApiRefusal, Change, Ids, tagged_name


def _vpc_of(params: dict, ids: Ids) -> str:
    return ids.key(params.get("VpcId", ""), "vpc", "Vpc")


def _association(params: dict, ids: Ids, kind: str) -> tuple[str, str]:
    """The (VPC, subnet) an association id stands for."""
    return ids.key(params.get("AssociationId", ""), kind, "AssociationID")


def security_group_objects(action: str, params: dict, ids: Ids) -> list[Change]:
    """CreateSecurityGroup (its GroupName, in VpcId), DeleteSecurityGroup (by GroupId)."""
    if action == "CreateSecurityGroup":
        name = params.get("GroupName", "")
        if not name or not params.get("VpcId"):
            raise ApiRefusal(
                "MissingParameter", "vpclab creates a security group from a GroupName and a VpcId"
            )
        return [("create-security-group", {"vpc": _vpc_of(params, ids), "name": name})]
    vpc, name = ids.key(params.get("GroupId", ""), "security_group", "Group")
    return [("delete-security-group", {"vpc": vpc, "name": name})]


def instance_attributes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """ModifyInstanceAttribute and ModifyNetworkInterfaceAttribute: the security groups (a
    whole new set, of the instance's own VPC) and the source/destination check."""
    if action == "ModifyInstanceAttribute":
        instance = ids.key(params.get("InstanceId", ""), "instance", "InstanceID")
        groups = [v for k, v in sorted(params.items(), key=_numbered) if k.startswith("GroupId.")]
    else:
        instance = ids.key(params.get("NetworkInterfaceId", ""), "network_interface", "NetworkInterfaceID")
        groups = [v for k, v in sorted(params.items(), key=_numbered) if k.startswith("SecurityGroupId.")]
    changes: list[Change] = []
    check = params.get("SourceDestCheck.Value")
    if check is not None:
        changes.append(
            ("set-source-dest-check", {"instance": instance, "enabled": str(check).lower() == "true"})
        )
    if groups:
        vpc = _instance_vpc(running, instance)
        names = []
        for group in groups:
            owner, name = ids.key(group, "security_group", "Group")
            if owner != vpc:
                raise ApiRefusal(
                    "InvalidParameterValue",
                    f"security group {group} belongs to VPC '{owner}', not to instance {instance}'s '{vpc}'",
                )
            names.append(name)
        changes.append(("set-instance-groups", {"instance": instance, "groups": names}))
    if not changes:
        raise ApiRefusal(
            "UnsupportedOperation",
            f"vpclab follows {action} for the security groups and SourceDestCheck only",
        )
    return changes


def _numbered(item: tuple[str, str]) -> tuple[int, str]:
    key = item[0]
    tail = key.rpartition(".")[2]
    return (int(tail), key) if tail.isdigit() else (0, key)


def _instance_vpc(running: dict, instance: str) -> str:
    for vpc in running.get("vpcs", []):
        if any(i.get("name") == instance for i in vpc.get("instances", [])):
            return vpc["name"]
    raise ApiRefusal("InvalidInstanceID.NotFound", f"The instance ID '{instance}' does not exist")


def route_table_objects(action: str, params: dict, ids: Ids) -> list[Change]:
    """CreateRouteTable, DeleteRouteTable, AssociateRouteTable (a subnet's), DisassociateRouteTable
    (back to the main table), ReplaceRouteTableAssociation (a subnet's)."""
    if action == "CreateRouteTable":
        return [("create-route-table", {"vpc": _vpc_of(params, ids), "name": tagged_name(params) or NEW})]
    if action == "DeleteRouteTable":
        owner, name = ids.key(params.get("RouteTableId", ""), "route_table", "RouteTableID")
        return [("delete-route-table", {"vpc": owner, "name": name})]
    if action == "AssociateRouteTable":
        if "SubnetId" not in params:
            raise ApiRefusal("UnsupportedOperation", "vpclab associates route tables with subnets only")
        vpc, subnet = ids.key(params["SubnetId"], "subnet", "SubnetID")
    else:
        vpc, subnet = _association(params, ids, "route_table_association")
    table: Optional[str] = None  # DisassociateRouteTable: back to the VPC's main table
    if action != "DisassociateRouteTable":
        owner, table = ids.key(params.get("RouteTableId", ""), "route_table", "RouteTableID")
        if owner != vpc:
            raise ApiRefusal(
                "InvalidParameterValue", f"route table {params['RouteTableId']} is not in VPC '{vpc}'"
            )
    return [("associate-route-table", {"vpc": vpc, "subnet": subnet, "name": table})]


def nacl_objects(action: str, params: dict, ids: Ids) -> list[Change]:
    """CreateNetworkAcl, DeleteNetworkAcl, ReplaceNetworkAclAssociation (a subnet's NACL)."""
    if action == "CreateNetworkAcl":
        return [("create-nacl", {"vpc": _vpc_of(params, ids), "name": tagged_name(params) or NEW})]
    vpc_of_acl, nacl = ids.key(params.get("NetworkAclId", ""), "network_acl", "NetworkAclID")
    if action == "DeleteNetworkAcl":
        return [("delete-nacl", {"vpc": vpc_of_acl, "name": nacl})]
    vpc, subnet = _association(params, ids, "nacl_association")
    if vpc_of_acl != vpc:
        raise ApiRefusal(
            "InvalidParameterValue", f"network ACL {params['NetworkAclId']} is not in VPC '{vpc}'"
        )
    return [("associate-nacl", {"vpc": vpc, "subnet": subnet, "name": nacl})]


OBJECTS = {  # the changing calls of this module, by the function that turns them into changes
    **dict.fromkeys(("CreateSecurityGroup", "DeleteSecurityGroup"), security_group_objects),
    **dict.fromkeys(
        (
            "CreateRouteTable",
            "DeleteRouteTable",
            "AssociateRouteTable",
            "DisassociateRouteTable",
            "ReplaceRouteTableAssociation",
        ),
        route_table_objects,
    ),
    **dict.fromkeys(("CreateNetworkAcl", "DeleteNetworkAcl", "ReplaceNetworkAclAssociation"), nacl_objects),
}
ATTRIBUTES = ("ModifyInstanceAttribute", "ModifyNetworkInterfaceAttribute")

# a create call's new object: its kind in Ids, the answer's id element, and its Ids key
CREATED = {
    "CreateSecurityGroup": ("security_group", "groupId", lambda a: (a["vpc"], a["name"])),
    "CreateRouteTable": ("route_table", "routeTableId", lambda a: (a["vpc"], a["name"])),
    "CreateNetworkAcl": ("network_acl", "networkAclId", lambda a: (a["vpc"], a["name"])),
    "AssociateRouteTable": ("route_table_association", "associationId", lambda a: (a["vpc"], a["subnet"])),
    "ReplaceRouteTableAssociation": (
        "route_table_association",
        "newAssociationId",
        lambda a: (a["vpc"], a["subnet"]),
    ),
    "ReplaceNetworkAclAssociation": (
        "nacl_association",
        "newAssociationId",
        lambda a: (a["vpc"], a["subnet"]),
    ),
}
