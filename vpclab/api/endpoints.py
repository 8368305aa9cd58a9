"""EC2 API calls on gateway endpoints, as vpclab's runtime changes (pure, as ``calls``):
CreateVpcEndpoint (VpcEndpointType Gateway: S3 or DynamoDB of the VPC's Region, with the route
tables whose routes AWS adds), ModifyVpcEndpoint (AddRouteTableId, RemoveRouteTableId; a policy
reaches no packet), DeleteVpcEndpoints. An interface endpoint (or a Gateway Load Balancer's)
comes from the design file: refused with UnsupportedOperation."""

from __future__ import annotations

from .params import NEW, ApiRefusal, Change, Ids, numbered, tagged_name

CALLS = ("CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints")
CREATED = {"CreateVpcEndpoint": ("vpc_endpoint", "vpcEndpointId", lambda a: a["name"])}
INTERFACE_KEYS = ("AddSubnetId", "RemoveSubnetId", "AddSecurityGroupId", "RemoveSecurityGroupId")


def _tables(params: dict, key: str, ids: Ids, vpc: str) -> list[str]:
    """The route tables a call names, each of the endpoint's VPC (AWS: InvalidParameter)."""
    names = []
    for aws_id in numbered(params, key):
        owner, table = ids.key(aws_id, "route_table", "RouteTableId")
        if owner != vpc:
            raise ApiRefusal("InvalidParameter", f"route table {aws_id} is not in the endpoint's VPC")
        names.append(table)
    return names


def changes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    if action == "CreateVpcEndpoint":
        kind = params.get("VpcEndpointType", "Gateway")
        if kind != "Gateway":
            raise ApiRefusal(
                "UnsupportedOperation",
                f"vpclab makes Gateway endpoints at run time; an {kind} endpoint comes from the "
                "design file (vpc_endpoints) yet",
            )
        if not params.get("ServiceName") or not params.get("VpcId"):
            raise ApiRefusal("MissingParameter", "a gateway endpoint needs VpcId and ServiceName")
        vpc = ids.key(params["VpcId"], "vpc", "VpcID")
        tables = _tables(params, "RouteTableId", ids, vpc)
        name = tagged_name(params) or NEW
        arguments = {"vpc": vpc, "name": name, "service": params["ServiceName"], "route_tables": tables}
        return [("create-vpc-endpoint", arguments)]
    if action == "ModifyVpcEndpoint":
        name = ids.key(params.get("VpcEndpointId", ""), "vpc_endpoint", "VpcEndpointId")
        if any(numbered(params, key) for key in INTERFACE_KEYS):
            raise ApiRefusal("InvalidParameter", "subnets and groups belong to interface endpoints")
        endpoint = next(e for e in running.get("vpc_endpoints", []) if e["name"] == name)
        add = _tables(params, "AddRouteTableId", ids, endpoint["vpc"])
        remove = _tables(params, "RemoveRouteTableId", ids, endpoint["vpc"])
        if not add and not remove:
            return []  # a policy: no packet meets it
        return [
            ("modify-vpc-endpoint", {"name": name, "add_route_tables": add, "remove_route_tables": remove})
        ]
    named = numbered(params, "VpcEndpointId")
    if not named:
        raise ApiRefusal("MissingParameter", "The request must contain the parameter VpcEndpointId")
    return [("delete-vpc-endpoint", {"name": ids.key(e, "vpc_endpoint", "VpcEndpointId")}) for e in named]
