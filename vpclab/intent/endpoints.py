"""Runtime changes that create, modify and delete gateway endpoints (what the EC2 API's
CreateVpcEndpoint, ModifyVpcEndpoint and DeleteVpcEndpoints do for a Gateway endpoint; the
shell's ``endpoint-create``, ``endpoint-tables``, ``endpoint-delete``).

A gateway endpoint to S3 or DynamoDB adds to each of its route tables the route AWS adds (the
service's prefix list to the endpoint); the service's host on the emulated internet comes with
the first thing that names it and goes with the last. Interface endpoints come from the
design file."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import ChangeError
from .resources import _vpc


def _endpoint(data: dict, name: str) -> dict:
    for endpoint in data.get("vpc_endpoints", []):
        if endpoint.get("name") == name:
            return endpoint
    raise ChangeError(f"no VPC endpoint '{name}'")


def create_vpc_endpoint(
    intent, data, vpc: str, name: str, service: str, route_tables: Sequence[str] = (), description=None
) -> str:
    """A gateway endpoint of ``vpc`` to ``service`` (s3, dynamodb, or com.amazonaws.REGION.s3)
    with the routes AWS adds to ``route_tables``."""
    _vpc(data, vpc)
    if any(e.get("name") == name for e in data.get("vpc_endpoints", [])):
        raise ChangeError(f"a VPC endpoint is named '{name}' already")
    endpoint: dict = {"name": name, "vpc": vpc, "vpc_endpoint_type": "Gateway", "service": service}
    endpoint["route_tables"] = list(route_tables)
    if description:
        endpoint["description"] = description
    data.setdefault("vpc_endpoints", []).append(endpoint)
    tables = f" (routes in {', '.join(route_tables)})" if route_tables else ""
    return f"created gateway endpoint '{name}' of VPC '{vpc}' to {service}{tables}"


def modify_vpc_endpoint(
    intent, data, name: str, add_route_tables: Sequence[str] = (), remove_route_tables: Sequence[str] = ()
) -> str:
    """Route tables added to or removed from a gateway endpoint (its route comes or goes)."""
    endpoint = _endpoint(data, name)
    if endpoint.get("vpc_endpoint_type") != "Gateway":
        raise ChangeError(f"'{name}' is an interface endpoint: it has subnets, not route tables")
    tables = list(endpoint.get("route_tables", []))
    for table in remove_route_tables:
        if table not in tables:
            raise ChangeError(f"route table '{table}' is not one of endpoint '{name}''s")
        tables.remove(table)
    for table in add_route_tables:
        if table in tables:
            raise ChangeError(f"route table '{table}' is endpoint '{name}''s already")
        tables.append(table)
    endpoint["route_tables"] = tables
    return f"gateway endpoint '{name}' routes from {', '.join(tables) or 'no route table'}"


def delete_vpc_endpoint(intent, data, name: str) -> str:
    """A gateway endpoint deleted: the routes AWS added for it go with it."""
    endpoint = _endpoint(data, name)
    if endpoint.get("vpc_endpoint_type") != "Gateway":
        raise ChangeError(f"'{name}' is an interface endpoint: vpclab deletes gateway endpoints at run time")
    data["vpc_endpoints"] = [e for e in data["vpc_endpoints"] if e is not endpoint]
    return f"deleted gateway endpoint '{name}' (its routes went with it)"


ENDPOINT_OPERATIONS: dict[str, Callable] = {
    "create-vpc-endpoint": create_vpc_endpoint,
    "modify-vpc-endpoint": modify_vpc_endpoint,
    "delete-vpc-endpoint": delete_vpc_endpoint,
}
