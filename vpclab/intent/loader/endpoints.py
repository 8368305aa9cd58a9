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
from .instances import place_on_server, resolve_security_groups
from .prefix_lists import is_aws_service, is_gateway
from .reporter import Known, Reporter

PORT_BLOCK = 1024  # source ports of one interface's connections at its NLB node
FIRST_BLOCK = 1  # ports 1024-2047 first; 63 blocks up to 65535
MAX_INTERFACES_PER_NODE = 65536 // PORT_BLOCK - FIRST_BLOCK
MAX_TARGETS = 512  # the NLB's health checks leave from ports 512-1023, one per target


def build_endpoints(
    r: Reporter, known: Known, data: dict, vpcs: tuple[m.Vpc, ...]
) -> tuple[tuple[m.EndpointService, ...], tuple[m.VpcEndpoint, ...]]:
    """The endpoint services and the interface endpoints of the file, with their addresses."""
    by_vpc = {vpc.name: vpc for vpc in vpcs}
    used = {(vpc.name, address) for vpc in vpcs for address in _taken(vpc)}
    r.unique_names(data.get("endpoint_services", []), ("endpoint_services",), "endpoint service")
    r.unique_names(data.get("vpc_endpoints", []), ("vpc_endpoints",), "VPC endpoint")
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
    return services, tuple(endpoints)


def _taken(vpc: m.Vpc) -> set[IPv4Address]:
    return {i.ip for i in vpc.instances} | {nat.ip for nat in vpc.nat_gateways}


def free_address(r: Reporter, path, vpc: str, subnet: m.Subnet, used: set) -> Optional[IPv4Address]:
    """The subnet's first free address (AWS assigns one; so does vpclab), now taken."""
    address = next(
        (a for a in subnet.cidr if a not in subnet.reserved_addresses and (vpc, a) not in used), None
    )
    if address is None:
        r.report(path, f"subnet '{subnet.name}' ({subnet.cidr}) has no free address left")
        return None
    used.add((vpc, address))
    return address


def one_per_zone(r: Reporter, path, vpc: m.Vpc, names: list) -> Optional[list[m.Subnet]]:
    """The named subnets of ``vpc``, at most one per AZ (AWS: one interface per AZ)."""
    found: list[m.Subnet] = []
    zones: dict[str, str] = {}
    for n, name in enumerate(names):
        subnet = next((s for s in vpc.subnets if s.name == name), None)
        if subnet is None:
            r.report(path + (n,), f"no subnet '{name}' in VPC '{vpc.name}'")
            return None
        if subnet.az in zones:
            r.report(
                path + (n,),
                f"subnet '{name}' is in AZ {subnet.az}, as '{zones[subnet.az]}': one subnet per AZ",
            )
            return None
        zones[subnet.az] = name
        found.append(subnet)
    return found


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
    balancer = _load_balancer(r, known, path + ("load_balancer",), item["load_balancer"], vpc, used)
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


def _load_balancer(r, known, path, item: dict, vpc: m.Vpc, used: set) -> Optional[m.LoadBalancer]:
    subnets = one_per_zone(r, path + ("subnets",), vpc, item["subnets"])
    listeners = _listeners(r, path, item["listeners"])
    targets = _targets(r, path, item, vpc, subnets or [])
    if subnets is None or listeners is None or targets is None:
        return None
    nodes = []
    for n, subnet in enumerate(subnets):
        where = path + ("subnets", n)
        address = free_address(r, where, vpc.name, subnet, used)
        server = place_on_server(r, known, where[:-2], {}, subnet)
        if address is None or server is None:
            return None
        nodes.append(
            m.LoadBalancerNode(format_path(where), item["name"], subnet.name, subnet.az, address, server)
        )
    unhealthy = tuple(item.get("unhealthy_targets", []))
    for n, name in enumerate(unhealthy):
        if name not in targets:
            r.report(path + ("unhealthy_targets", n), f"'{name}' is not a target of '{item['name']}'")
            return None
    check = item.get("health_check", {})
    health = m.TargetHealthCheck(
        format_path(path + ("health_check",)) if "health_check" in item else format_path(path),
        check.get("port"),
        float(check.get("interval", 30.0)),
        check.get("healthy_threshold", 5),
        check.get("unhealthy_threshold", 2),
    )
    return m.LoadBalancer(
        format_path(path), item["name"], vpc.name, tuple(nodes), listeners, targets, health, unhealthy
    )


def _listeners(r: Reporter, path, items: list) -> Optional[tuple[m.Listener, ...]]:
    listeners: list[m.Listener] = []
    for n, item in enumerate(items):
        protocol = m.PROTOCOL_NUMBERS[item.get("protocol", "tcp")]
        if any((x.protocol, x.port) == (protocol, item["port"]) for x in listeners):
            r.report(
                path + ("listeners", n, "port"),
                f"a listener on {item.get('protocol', 'tcp')}/{item['port']} is already defined",
            )
            return None
        where = format_path(path + ("listeners", n))
        listeners.append(m.Listener(where, item["port"], protocol, item.get("target_port", item["port"])))
    return tuple(listeners)


def _targets(r: Reporter, path, item: dict, vpc: m.Vpc, subnets: list[m.Subnet]) -> Optional[tuple[str, ...]]:
    """Instances of the service's VPC, in an AZ the load balancer has a node in."""
    zones = {subnet.az for subnet in subnets}
    names: list[str] = []
    if len(item["targets"]) > MAX_TARGETS:
        r.report(
            path + ("targets",), f"at most {MAX_TARGETS} targets (each has a health-check port of its own)"
        )
        return None
    for n, name in enumerate(item["targets"]):
        where = path + ("targets", n)
        instance = next((i for i in vpc.instances if i.name == name), None)
        if instance is None:
            r.report(
                where, f"no instance '{name}' in VPC '{vpc.name}' (targets are the service VPC's instances)"
            )
            return None
        if name in names:
            r.report(where, f"target '{name}' is listed twice")
            return None
        az = vpc.subnet(instance.subnet).az
        if subnets and az not in zones:
            r.report(
                where,
                f"target '{name}' is in AZ {az}, where '{item['name']}' has no subnet "
                "(AWS would leave it unused)",
            )
            return None
        names.append(name)
    return tuple(names)


def _check_load_balancer_names(r: Reporter, data: dict) -> None:
    seen: dict[str, int] = {}
    for n, item in enumerate(data.get("endpoint_services", [])):
        name = item["load_balancer"]["name"]
        if name in seen:
            r.report(
                ("endpoint_services", n, "load_balancer", "name"),
                f"load balancer '{name}' is already defined at endpoint_services[{seen[name]}]",
            )
        seen.setdefault(name, n)


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
