"""EC2 API calls that create, delete and attach a VPC's objects, as vpclab's runtime changes
(pure, as ``calls``): security groups, route tables, network ACLs, subnets, further VPC CIDRs,
internet gateways, Elastic IPs, a subnet's associations, an instance's (or its network
interface's) security groups and source/destination check.

A create call's object is named by its Name tag (a security group by its GroupName), else by
the id moto answers with (``NEW`` until then); an association is known by its id, which the
seed and these calls record (AWS answers a new one on every association)."""

from __future__ import annotations

from ipaddress import IPv4Network, ip_address
from typing import Optional

from vpclab.intent.loader import topology_from_data

from .params import NEW, ApiRefusal, Change, Ids, group_names, numbered, tagged_name


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
    whole new set, of the instance's own VPC) and the source/destination check. Another
    attribute (termination protection, instance type, user data, a description: what
    Terraform's provider sets) changes nothing emulated: moto keeps it, as it keeps tags."""
    if action == "ModifyInstanceAttribute":
        instance = ids.key(params.get("InstanceId", ""), "instance", "InstanceID")
        groups = numbered(params, "GroupId")
    else:
        instance = ids.key(params.get("NetworkInterfaceId", ""), "network_interface", "NetworkInterfaceID")
        groups = numbered(params, "SecurityGroupId")
    changes: list[Change] = []
    check = params.get("SourceDestCheck.Value")
    if check is not None:
        changes.append(
            ("set-source-dest-check", {"instance": instance, "enabled": str(check).lower() == "true"})
        )
    if groups:
        vpc = _instance_vpc(running, instance)
        names = group_names(
            ids,
            groups,
            vpc,
            lambda group, owner: ApiRefusal(
                "InvalidParameterValue",
                f"security group {group} belongs to VPC '{owner}', not to instance {instance}'s '{vpc}'",
            ),
        )
        changes.append(("set-instance-groups", {"instance": instance, "groups": names}))
    return changes  # none: an attribute no packet meets (termination protection, type...) goes to moto


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


def subnet_objects(action: str, params: dict, ids: Ids) -> list[Change]:
    """CreateSubnet (its Name tag, else its id; its AZ as the call names it, else a), DeleteSubnet."""
    if action == "DeleteSubnet":
        vpc, subnet = ids.key(params.get("SubnetId", ""), "subnet", "SubnetID")
        return [("delete-subnet", {"vpc": vpc, "name": subnet})]
    if "CidrBlock" not in params:
        raise ApiRefusal("UnsupportedOperation", "vpclab's subnets have an IPv4 CidrBlock")
    az = params.get("AvailabilityZone") or params.get("AvailabilityZoneId") or "a"
    name = tagged_name(params) or NEW
    return [
        ("create-subnet", {"vpc": _vpc_of(params, ids), "name": name, "cidr": params["CidrBlock"], "az": az})
    ]


def vpc_cidr_objects(action: str, params: dict, ids: Ids) -> list[Change]:
    """AssociateVpcCidrBlock (an IPv4 CidrBlock), DisassociateVpcCidrBlock (by its association)."""
    if action == "DisassociateVpcCidrBlock":
        vpc, cidr = _association(params, ids, "vpc_cidr_association")
        return [("remove-vpc-cidr", {"vpc": vpc, "cidr": cidr})]
    if "CidrBlock" not in params:
        raise ApiRefusal(
            "UnsupportedOperation", "vpclab takes further IPv4 CIDRs only (IPv6: not yet on the cards)"
        )
    return [("add-vpc-cidr", {"vpc": _vpc_of(params, ids), "cidr": params["CidrBlock"]})]


def gateway_objects(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """Create/Attach/Detach/DeleteInternetGateway: a gateway exists for vpclab once attached;
    creating one only names it (its Name tag, else its id)."""
    if action == "CreateInternetGateway":
        return []
    name = ids.key(params.get("InternetGatewayId", ""), "internet_gateway", "InternetGatewayID")
    attached = next((v["name"] for v in running.get("vpcs", []) if v.get("internet_gateway") == name), None)
    if action == "DeleteInternetGateway":
        if attached:
            gateway = params["InternetGatewayId"]
            raise ApiRefusal(
                "DependencyViolation",
                f"The internetGateway '{gateway}' has dependencies and cannot be deleted.",
            )
        return []
    operation = "attach-internet-gateway" if action == "AttachInternetGateway" else "detach-internet-gateway"
    return [(operation, {"vpc": _vpc_of(params, ids), "name": name})]


PUBLIC_POOL = IPv4Network("203.0.113.0/24")  # the emulation's public addresses (RFC 5737)


def address_for(params: dict, ids: Ids, taken: set) -> dict:
    """AllocateAddress's parameters as moto gets them: the address it allocates is the
    emulation's, the first free one of 203.0.113.0/24 (a real-looking address would never be
    reached); one the call names must be of that block and free."""
    used = taken | {key for (kind, key) in ids.by_key if kind == "elastic_ip"}
    if params.get("Address"):
        wanted = params["Address"]
        if ip_address(wanted) not in PUBLIC_POOL or wanted in used:
            raise ApiRefusal(
                "InvalidParameterValue",
                f"vpclab allocates free addresses of {PUBLIC_POOL} only, not {wanted}",
            )
        return params
    free = next((str(a) for a in PUBLIC_POOL.hosts() if str(a) not in used), None)
    if free is None:
        raise ApiRefusal("AddressLimitExceeded", f"no address of {PUBLIC_POOL} is left")
    return {**params, "Address": free}


def elastic_ip_objects(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """AllocateAddress (nothing changes until associated), AssociateAddress (to an instance or
    its network interface), DisassociateAddress, ReleaseAddress (refused while associated)."""
    if action == "AllocateAddress":
        return []
    if action == "DisassociateAddress":
        instance = ids.key(params.get("AssociationId", ""), "eip_association", "AssociationID")
        return [("set-public-ip", {"instance": instance, "address": None})]
    address = ids.key(params.get("AllocationId", ""), "elastic_ip", "AllocationID")
    topology = topology_from_data("the running design", running)  # public_ip: true resolved
    holder = next((i.name for i in topology.instances if str(i.public_ip) == address), None)
    if action == "ReleaseAddress":
        if holder:
            raise ApiRefusal("InvalidIPAddress.InUse", f"Address {address} is in use (instance {holder})")
        return []
    if "InstanceId" in params:
        instance = ids.key(params["InstanceId"], "instance", "InstanceID")
    else:
        instance = ids.key(params.get("NetworkInterfaceId", ""), "network_interface", "NetworkInterfaceID")
    if holder and holder != instance and str(params.get("AllowReassociation", "false")).lower() != "true":
        raise ApiRefusal(
            "Resource.AlreadyAssociated", f"Address {address} is already associated with {holder}"
        )
    changes: list[Change] = [("set-public-ip", {"instance": holder, "address": None})] if holder else []
    return [*changes, ("set-public-ip", {"instance": instance, "address": address})]


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
    **dict.fromkeys(("CreateSubnet", "DeleteSubnet"), subnet_objects),
    **dict.fromkeys(("AssociateVpcCidrBlock", "DisassociateVpcCidrBlock"), vpc_cidr_objects),
}
GATEWAYS = (
    "CreateInternetGateway",
    "AttachInternetGateway",
    "DetachInternetGateway",
    "DeleteInternetGateway",
)
ELASTIC_IPS = ("AllocateAddress", "AssociateAddress", "DisassociateAddress", "ReleaseAddress")
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
    "CreateSubnet": ("subnet", "subnetId", lambda a: (a["vpc"], a["name"])),
    "AssociateVpcCidrBlock": ("vpc_cidr_association", "associationId", lambda a: (a["vpc"], a["cidr"])),
    "CreateInternetGateway": ("internet_gateway", "internetGatewayId", lambda a: a["name"]),
    "AllocateAddress": ("elastic_ip", "allocationId", lambda a: a["Address"]),
    "AssociateAddress": ("eip_association", "associationId", lambda a: a["instance"]),
}
