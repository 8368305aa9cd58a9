"""Runtime changes that create, modify and delete VPC endpoints (what the EC2 API's
CreateVpcEndpoint, ModifyVpcEndpoint and DeleteVpcEndpoints do; the shell's
``endpoint-create``, ``endpoint-tables``, ``endpoint-delete``).

A gateway endpoint to S3 or DynamoDB adds to each of its route tables the route AWS adds (the
service's prefix list to the endpoint); the service's host on the emulated internet comes with
the first thing that names it and goes with the last. An interface endpoint to an AWS service
(com.amazonaws.REGION.NAME) puts a network interface in each of its subnets, where vpclab's
stand-in host answers as the service; before it comes or goes, every instance's and interface's
place is written into the running design, so nothing else moves. An endpoint to a PrivateLink
service comes from the design file."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import ChangeError
from .lifecycle import _pin_instances, lowest_free_address
from .model import AWS_MANAGED_PREFIX
from .resources import _vpc

PRIVATELINK_PREFIX = "com.amazonaws.vpce."  # a PrivateLink service's name, not an AWS service's


def _endpoint(data: dict, name: str) -> dict:
    for endpoint in data.get("vpc_endpoints", []):
        if endpoint.get("name") == name:
            return endpoint
    raise ChangeError(f"no VPC endpoint '{name}'")


def create_vpc_endpoint(
    intent,
    data,
    vpc: str,
    name: str,
    service: str,
    route_tables: Sequence[str] = (),
    description=None,
    subnets: Sequence[str] = (),
    security_groups: Sequence[str] = (),
    private_dns_enabled: bool = True,
    interface: bool = False,
) -> str:
    """A gateway endpoint of ``vpc`` to ``service`` (s3, dynamodb, or com.amazonaws.REGION.s3)
    with the routes AWS adds to ``route_tables``; with ``interface``, an interface endpoint to
    an AWS service in ``subnets`` (one per AZ), in ``security_groups`` (else the VPC's default
    group), its private DNS name answered by the VPC's resolver unless ``private_dns_enabled``
    is false."""
    _vpc(data, vpc)
    if any(e.get("name") == name for e in data.get("vpc_endpoints", [])):
        raise ChangeError(f"a VPC endpoint is named '{name}' already")
    endpoint: dict = {"name": name, "vpc": vpc, "service": service}
    if description:
        endpoint["description"] = description
    if interface:
        if not service.startswith(AWS_MANAGED_PREFIX) or service.startswith(PRIVATELINK_PREFIX):
            raise ChangeError(
                f"'{service}' is no AWS service: an endpoint to a PrivateLink service comes from the design"
            )
        if not subnets:
            raise ChangeError("an interface endpoint needs a subnet")
        _pin_places(intent.topology, data)
        endpoint.update(subnets=list(subnets), private_dns_enabled=private_dns_enabled)
        if security_groups:
            endpoint["security_groups"] = list(security_groups)
        data.setdefault("vpc_endpoints", []).append(endpoint)
        return f"created interface endpoint '{name}' of VPC '{vpc}' to {service} (in {', '.join(subnets)})"
    endpoint.update(vpc_endpoint_type="Gateway", route_tables=list(route_tables))
    data.setdefault("vpc_endpoints", []).append(endpoint)
    tables = f" (routes in {', '.join(route_tables)})" if route_tables else ""
    return f"created gateway endpoint '{name}' of VPC '{vpc}' to {service}{tables}"


def _pin_places(topology, data: dict) -> None:
    """Every instance's numbers and addresses, and every AWS-service interface's address, as
    they are: an interface endpoint made or deleted moves no other host."""
    _pin_instances(topology, data)
    for endpoint in data.get("vpc_endpoints", []):
        if endpoint.get("subnets") and str(endpoint.get("service", "")).startswith(AWS_MANAGED_PREFIX):
            stand_ins = {i.subnet: i for i in topology.instances if i.endpoint == endpoint["name"]}
            if all(subnet in stand_ins for subnet in endpoint["subnets"]):
                endpoint["addresses"] = [str(stand_ins[subnet].ip) for subnet in endpoint["subnets"]]


def modify_vpc_endpoint(
    intent,
    data,
    name: str,
    add_route_tables: Sequence[str] = (),
    remove_route_tables: Sequence[str] = (),
    add_subnets: Sequence[str] = (),
    remove_subnets: Sequence[str] = (),
    add_security_groups: Sequence[str] = (),
    remove_security_groups: Sequence[str] = (),
) -> str:
    """A gateway endpoint's route tables added or removed (its route comes or goes); an
    interface endpoint's subnets (its interfaces) or security groups."""
    endpoint = _endpoint(data, name)
    gateway = endpoint.get("vpc_endpoint_type") == "Gateway"
    if gateway and (add_subnets or remove_subnets or add_security_groups or remove_security_groups):
        raise ChangeError(f"'{name}' is a gateway endpoint: it has route tables, not subnets or groups")
    if not gateway and (add_route_tables or remove_route_tables):
        raise ChangeError(f"'{name}' is an interface endpoint: it has subnets, not route tables")
    if gateway:
        endpoint["route_tables"] = _changed(
            endpoint.get("route_tables", []), add_route_tables, remove_route_tables, "route table", name
        )
        return (
            f"gateway endpoint '{name}' routes from {', '.join(endpoint['route_tables']) or 'no route table'}"
        )
    if add_subnets or remove_subnets:
        _pin_places(intent.topology, data)
        endpoint = _endpoint(data, name)
        kept = _changed(endpoint["subnets"], add_subnets, remove_subnets, "subnet", name)
        if not kept:
            raise ChangeError(f"interface endpoint '{name}' keeps one subnet at least")
        addresses = dict(zip(endpoint["subnets"], endpoint.get("addresses", []), strict=False))
        for subnet in kept:  # a new interface: its subnet's first free address, as AWS gives
            if subnet not in addresses:
                free = lowest_free_address(intent.topology, endpoint["vpc"], subnet)
                if free is None:
                    raise ChangeError(f"subnet '{subnet}' has no free address")
                addresses[subnet] = str(free)
        endpoint["subnets"], endpoint["addresses"] = kept, [addresses[subnet] for subnet in kept]
        for stand_in in intent.topology.instances:
            if stand_in.endpoint == name and stand_in.subnet in remove_subnets:
                data["numbering"]["instances"].pop(stand_in.name, None)
    if add_security_groups or remove_security_groups:
        groups = _changed(
            endpoint.get("security_groups", ["default"]),
            add_security_groups,
            remove_security_groups,
            "security group",
            name,
        )
        endpoint["security_groups"] = groups or ["default"]
    listed = ", ".join(endpoint.get("security_groups", ["default"]))
    return f"interface endpoint '{name}' is in {', '.join(endpoint['subnets'])}, groups {listed}"


def _changed(
    current: Sequence[str], added: Sequence[str], removed: Sequence[str], what: str, name: str
) -> list[str]:
    kept = list(current)
    for item in removed:
        if item not in kept:
            raise ChangeError(f"{what} '{item}' is not one of endpoint '{name}''s")
        kept.remove(item)
    for item in added:
        if item in kept:
            raise ChangeError(f"{what} '{item}' is endpoint '{name}''s already")
        kept.append(item)
    return kept


def delete_vpc_endpoint(intent, data, name: str) -> str:
    """A gateway endpoint deleted: the routes AWS added for it go with it; an interface
    endpoint: its interfaces (and the numbers its stand-ins held on their cards)."""
    endpoint = _endpoint(data, name)
    if endpoint.get("vpc_endpoint_type") == "Gateway":
        data["vpc_endpoints"] = [e for e in data["vpc_endpoints"] if e is not endpoint]
        return f"deleted gateway endpoint '{name}' (its routes went with it)"
    if str(endpoint.get("service", "")).startswith(PRIVATELINK_PREFIX) or not str(
        endpoint.get("service", "")
    ).startswith(AWS_MANAGED_PREFIX):
        raise ChangeError(f"'{name}' reaches a PrivateLink service: it comes and goes with the design file")
    _pin_places(intent.topology, data)
    endpoint = _endpoint(data, name)
    data["vpc_endpoints"] = [e for e in data["vpc_endpoints"] if e is not endpoint]
    for stand_in in (i.name for i in intent.topology.instances if i.endpoint == name):
        data["numbering"]["instances"].pop(stand_in, None)
    return f"deleted interface endpoint '{name}' (its network interfaces went with it)"


ENDPOINT_OPERATIONS: dict[str, Callable] = {
    "create-vpc-endpoint": create_vpc_endpoint,
    "modify-vpc-endpoint": modify_vpc_endpoint,
    "delete-vpc-endpoint": delete_vpc_endpoint,
}
