"""PrivateLink: endpoint services (a provider's NLB) and interface endpoints (consumers' ENIs).

An NLB has one node (an interface with the subnet's first free address) in each of its
subnets, placed on a server of that subnet's AZ. An interface endpoint has one network
interface in each of its subnets; it lives on the card of its service's node in the same AZ
(AWS offers an endpoint only in the AZs of the service's load balancer), and the connections
it carries leave that node from their own block of source ports.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Optional

from .. import model as m
from ..errors import format_path
from .instances import resolve_security_groups
from .load_balancers import build_load_balancer, build_network_load_balancers, free_address, one_per_zone
from .prefix_lists import is_aws_service, is_gateway
from .reporter import Known, Reporter

PORT_BLOCK = 1024  # source ports of one interface's connections at its NLB node
FIRST_BLOCK = 1  # ports 1024-2047 first; 63 blocks up to 65535
MAX_INTERFACES_PER_NODE = 65536 // PORT_BLOCK - FIRST_BLOCK


def build_endpoints(
    r: Reporter, known: Known, data: dict, vpcs: tuple[m.Vpc, ...]
) -> tuple[tuple[m.EndpointService, ...], tuple[m.VpcEndpoint, ...], tuple[m.LoadBalancer, ...]]:
    """The endpoint services, the interface endpoints and the NLBs reached directly, with
    their addresses."""
    by_vpc = {vpc.name: vpc for vpc in vpcs}
    used = {(vpc.name, address) for vpc in vpcs for address in _taken(vpc)}
    r.unique_names(data.get("endpoint_services", []), ("endpoint_services",), "endpoint service")
    r.unique_names(data.get("vpc_endpoints", []), ("vpc_endpoints",), "VPC endpoint")
    direct = build_network_load_balancers(r, known, data, by_vpc, used)
    services = tuple(
        service
        for n, item in enumerate(data.get("endpoint_services", []))
        if (service := _service(r, known, n, item, by_vpc, used)) is not None
    )
    _check_load_balancer_names(r, data)
    endpoints: list[m.VpcEndpoint] = []
    blocks: dict[tuple[str, str], int] = {}  # (NLB, subnet) -> interfaces placed on that node
    for n, item in enumerate(data.get("vpc_endpoints", [])):
        if is_gateway(item):
            continue  # built with the route tables (``prefix_lists``)
        if "subnets" not in item or "route_tables" in item or "aws_cidrs" in item:
            r.report(
                ("vpc_endpoints", n),
                "an interface endpoint has 'subnets' (a gateway endpoint, vpc_endpoint_type: Gateway, "
                "has 'route_tables')",
            )
            continue
        if is_aws_service(item):
            continue  # an AWS service's: ``service_endpoints``
        if "addresses" in item:
            r.report(
                ("vpc_endpoints", n, "addresses"), "'addresses' belongs to an endpoint to an AWS service"
            )
            continue
        endpoint = _endpoint(r, known, n, item, by_vpc, used, services, blocks)
        if endpoint is not None:
            endpoints.append(endpoint)
    return services, tuple(endpoints), direct


def _taken(vpc: m.Vpc) -> set[IPv4Address]:
    return {i.ip for i in vpc.instances if i.ip is not None} | {nat.ip for nat in vpc.nat_gateways}


def _vpc(r: Reporter, path, name: str, by_vpc: dict) -> Optional[m.Vpc]:
    vpc = by_vpc.get(name)
    if vpc is None:
        r.report(path, f"no VPC '{name}'")
    return vpc


def _service(r, known, n: int, item: dict, by_vpc: dict, used: set) -> Optional[m.EndpointService]:
    path = ("endpoint_services", n)
    vpc = _vpc(r, path + ("vpc",), item["vpc"], by_vpc)
    if vpc is None:
        return None
    balancer = build_load_balancer(r, known, path + ("load_balancer",), item["load_balancer"], vpc, used)
    if balancer is None:
        return None
    dns_name = item.get("private_dns_name")
    return m.EndpointService(
        format_path(path),
        item["name"],
        vpc.name,
        balancer,
        dns_name.lower().rstrip(".") if dns_name else None,
    )


def _check_load_balancer_names(r: Reporter, data: dict) -> None:
    seen: dict[str, str] = {}
    named = [
        (("network_load_balancers", n, "name"), item["name"])
        for n, item in enumerate(data.get("network_load_balancers", []))
    ] + [
        (("endpoint_services", n, "load_balancer", "name"), item["load_balancer"]["name"])
        for n, item in enumerate(data.get("endpoint_services", []))
    ]
    for path, name in named:
        if name in seen:
            r.report(path, f"load balancer '{name}' is already defined at {seen[name]}")
        seen.setdefault(name, format_path(path[:-1] if path[-1] == "name" else path))


def _endpoint(r, known, n, item, by_vpc, used, services, blocks) -> Optional[m.VpcEndpoint]:
    path = ("vpc_endpoints", n)
    vpc = _vpc(r, path + ("vpc",), item["vpc"], by_vpc)
    service = next((s for s in services if s.name == item["service"]), None)
    if service is None:
        if item["service"] not in {s["name"] for s in r.document.data.get("endpoint_services", [])}:
            r.report(path + ("service",), f"no endpoint service '{item['service']}'")
        return None  # else the service's own problems are reported
    if vpc is None:
        return None
    if vpc.name == service.vpc:
        r.report(
            path + ("vpc",), f"'{vpc.name}' provides '{service.name}': an endpoint belongs in a consumer VPC"
        )
        return None
    if item.get("private_dns_enabled") and not vpc.dns_support:
        r.report(
            path + ("private_dns_enabled",),
            f"private DNS needs the VPC's DNS support: '{vpc.name}' has enable_dns_support: false",
        )
        return None
    subnets = one_per_zone(r, path + ("subnets",), vpc, item["subnets"])
    groups = resolve_security_groups(r, known, path, vpc.name, item)
    if subnets is None or groups is None:
        return None
    interfaces = []
    balancer = service.load_balancer
    for s, subnet in enumerate(subnets):
        where = path + ("subnets", s)
        node = balancer.node_in(subnet.az)
        if node is None:
            zones = ", ".join(sorted(x.az for x in balancer.nodes))
            r.report(
                where, f"'{service.name}' is not offered in AZ {subnet.az} (its load balancer's AZs: {zones})"
            )
            return None
        block = blocks.get((balancer.name, node.subnet), 0)
        if block >= MAX_INTERFACES_PER_NODE:
            r.report(where, f"at most {MAX_INTERFACES_PER_NODE} endpoint interfaces per load balancer node")
            return None
        address = free_address(r, where, vpc.name, subnet, used)
        if address is None:
            return None
        blocks[(balancer.name, node.subnet)] = block + 1
        low = (FIRST_BLOCK + block) * PORT_BLOCK
        interfaces.append(
            m.EndpointInterface(
                format_path(where),
                f"{item['name']}/{subnet.name}",
                item["name"],
                service.name,
                vpc.name,
                subnet.name,
                address,
                groups,
                node,
                (low, low + PORT_BLOCK - 1),
            )
        )
    return m.VpcEndpoint(
        format_path(path),
        item["name"],
        vpc.name,
        service.name,
        tuple(interfaces),
        item.get("private_dns_enabled", True) and vpc.dns_support,
    )


def known_services(r: Reporter) -> list:
    data = r.document.data
    return data.get("endpoint_services", []) if isinstance(data, dict) else []
