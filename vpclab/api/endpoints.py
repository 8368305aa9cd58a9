"""EC2 API calls on VPC endpoints, as vpclab's runtime changes (pure, as ``calls``):
CreateVpcEndpoint (Gateway: S3 or DynamoDB of the VPC's Region, with the route tables whose
routes AWS adds; Interface: an AWS service, com.amazonaws.REGION.NAME, in SubnetIds, with
SecurityGroupIds, private DNS unless PrivateDnsEnabled is false), ModifyVpcEndpoint (route
tables; subnets and groups; a policy reaches no packet), DeleteVpcEndpoints. An endpoint to a
PrivateLink service, or a Gateway Load Balancer's, comes from the design file: refused with
UnsupportedOperation."""

from __future__ import annotations

from vpclab.intent.endpoints import PRIVATELINK_PREFIX
from vpclab.intent.model import AWS_MANAGED_PREFIX

from .params import NEW, ApiRefusal, Change, Ids, group_names, numbered, tagged_name

CALLS = ("CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints")
CREATED = {"CreateVpcEndpoint": ("vpc_endpoint", "vpcEndpointId", lambda a: a["name"])}


def _in_vpc(params: dict, key: str, ids: Ids, vpc: str, kind: str, what: str, noun: str) -> list[str]:
    """The route tables or subnets a call names, each of the endpoint's VPC (AWS:
    InvalidParameter), by their names in the design."""
    names = []
    for aws_id in numbered(params, key):
        owner, name = ids.key(aws_id, kind, what)
        if owner != vpc:
            raise ApiRefusal("InvalidParameter", f"{noun} {aws_id} is not in the endpoint's VPC")
        names.append(name)
    return names


def _tables(params: dict, key: str, ids: Ids, vpc: str) -> list[str]:
    return _in_vpc(params, key, ids, vpc, "route_table", "RouteTableId", "route table")


def _subnets(params: dict, key: str, ids: Ids, vpc: str) -> list[str]:
    return _in_vpc(params, key, ids, vpc, "subnet", "SubnetID", "subnet")


def _groups(params: dict, key: str, ids: Ids, vpc: str) -> list[str]:
    def refused(group: str, owner: str) -> ApiRefusal:
        return ApiRefusal("InvalidParameter", f"security group {group} is in VPC {owner}")

    return group_names(ids, numbered(params, key), vpc, refused)


def _interface(params: dict, ids: Ids, vpc: str) -> dict:
    """An interface endpoint's subnets, groups and private DNS (AWS's default: on)."""
    subnets = _subnets(params, "SubnetId", ids, vpc)
    if not subnets:
        raise ApiRefusal("MissingParameter", "an interface endpoint needs SubnetId")
    return {
        "service": params["ServiceName"],
        "subnets": subnets,
        "security_groups": _groups(params, "SecurityGroupId", ids, vpc),
        "private_dns_enabled": str(params.get("PrivateDnsEnabled", "true")).lower() == "true",
        "interface": True,
    }


def _create(params: dict, ids: Ids) -> list[Change]:
    kind = params.get("VpcEndpointType", "Gateway")
    if not params.get("ServiceName") or not params.get("VpcId"):
        raise ApiRefusal("MissingParameter", "an endpoint needs VpcId and ServiceName")
    vpc = ids.key(params["VpcId"], "vpc", "VpcID")
    name = tagged_name(params) or NEW
    service = params["ServiceName"]
    if (
        kind == "Interface"
        and service.startswith(AWS_MANAGED_PREFIX)
        and not service.startswith(PRIVATELINK_PREFIX)
    ):
        return [("create-vpc-endpoint", {"vpc": vpc, "name": name, **_interface(params, ids, vpc)})]
    if kind != "Gateway":
        raise ApiRefusal(
            "UnsupportedOperation",
            "vpclab makes Gateway endpoints and Interface endpoints to AWS services at run time; "
            f"an {kind} endpoint to {params['ServiceName']} comes from the design file yet",
        )
    tables = _tables(params, "RouteTableId", ids, vpc)
    arguments = {"vpc": vpc, "name": name, "service": params["ServiceName"], "route_tables": tables}
    return [("create-vpc-endpoint", arguments)]


def _modify(params: dict, ids: Ids, running: dict) -> list[Change]:
    name = ids.key(params.get("VpcEndpointId", ""), "vpc_endpoint", "VpcEndpointId")
    vpc = next(e for e in running.get("vpc_endpoints", []) if e["name"] == name)["vpc"]
    arguments = {
        "add_route_tables": _tables(params, "AddRouteTableId", ids, vpc),
        "remove_route_tables": _tables(params, "RemoveRouteTableId", ids, vpc),
        "add_subnets": _subnets(params, "AddSubnetId", ids, vpc),
        "remove_subnets": _subnets(params, "RemoveSubnetId", ids, vpc),
        "add_security_groups": _groups(params, "AddSecurityGroupId", ids, vpc),
        "remove_security_groups": _groups(params, "RemoveSecurityGroupId", ids, vpc),
    }
    if not any(arguments.values()):
        return []  # a policy, or private DNS: no packet meets it
    return [("modify-vpc-endpoint", {"name": name, **{k: v for k, v in arguments.items() if v}})]


def changes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    if action == "CreateVpcEndpoint":
        return _create(params, ids)
    if action == "ModifyVpcEndpoint":
        return _modify(params, ids, running)
    named = numbered(params, "VpcEndpointId")
    if not named:
        raise ApiRefusal("MissingParameter", "The request must contain the parameter VpcEndpointId")
    return [("delete-vpc-endpoint", {"name": ids.key(e, "vpc_endpoint", "VpcEndpointId")}) for e in named]
