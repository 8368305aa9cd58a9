"""Network Load Balancers reached directly (``network_load_balancers``), not through an
endpoint service: internal, instance targets, the client's address preserved (AWS's default
for instance targets), cross-zone load balancing off unless enabled (AWS's NLB default)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from typing import Optional

from .. import model as m
from ..errors import format_path
from ..values import parse_address
from .instances import place_on_server
from .ipv6 import ipv4_subnet
from .reporter import Known, Reporter

MAX_TARGETS = 512  # the NLB's health checks leave from ports 512-1023, one per target


def build_network_load_balancers(
    r: Reporter, known: Known, data: dict, by_vpc: dict, used: set
) -> tuple[m.LoadBalancer, ...]:
    r.unique_names(data.get("network_load_balancers", []), ("network_load_balancers",), "load balancer")
    found = []
    for n, item in enumerate(data.get("network_load_balancers", [])):
        path = ("network_load_balancers", n)
        if item.get("scheme", "internal") != "internal":
            r.report(
                path + ("scheme",),
                "an internet-facing NLB is not emulated yet (vpclab emulates internal NLBs)",
            )
            continue
        if item.get("preserve_client_ip", True) is not True:
            r.report(
                path + ("preserve_client_ip",),
                "an NLB whose targets see its own address is emulated behind an endpoint "
                "service (endpoint_services); reached directly, vpclab emulates AWS's default "
                "for instance targets: the client's address preserved",
            )
            continue
        vpc = by_vpc.get(item["vpc"])
        if vpc is None:
            r.report(path + ("vpc",), f"no VPC '{item['vpc']}'")
            continue
        given = item.get("addresses")
        if given is not None and len(given) != len(item["subnets"]):
            r.report(path + ("addresses",), "one address per subnet, in the subnets' order")
            continue
        balancer = build_load_balancer(r, known, path, item, vpc, used, given)
        if balancer is not None:
            cross_zone = item.get("enable_cross_zone_load_balancing", False)
            found.append(replace(balancer, scheme="internal", cross_zone=cross_zone))
    return tuple(found)


def build_load_balancer(
    r, known, path, item: dict, vpc: m.Vpc, used: set, given: Optional[list] = None
) -> Optional[m.LoadBalancer]:
    """An NLB's nodes (one per subnet: the subnet's first free address, or ``given``'s),
    listeners, targets and health checks."""
    subnets = one_per_zone(r, path + ("subnets",), vpc, item["subnets"])
    listeners = _listeners(r, path, item["listeners"])
    targets = _targets(r, path, item, vpc, subnets or [])
    if subnets is None or listeners is None or targets is None:
        return None
    nodes = []
    for n, subnet in enumerate(subnets):
        where = path + ("subnets", n)
        if given is not None:
            address = given_address(r, path + ("addresses", n), vpc.name, subnet, given[n], used)
        else:
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
        format_path(path),
        item["name"],
        vpc.name,
        tuple(nodes),
        listeners,
        targets,
        health,
        unhealthy,
        target_zones=tuple(vpc.subnet(i.subnet).az for t in targets for i in vpc.instances if i.name == t),
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


def free_address(r: Reporter, path, vpc: str, subnet: m.Subnet, used: set) -> Optional[IPv4Address]:
    """The subnet's first free address (AWS assigns one; so does vpclab), now taken."""
    if not ipv4_subnet(r, path, subnet):
        return None
    address = next(
        (a for a in subnet.ipv4 if a not in subnet.reserved_addresses and (vpc, a) not in used), None
    )
    if address is None:
        r.report(path, f"subnet '{subnet.name}' ({subnet.cidr}) has no free address left")
        return None
    used.add((vpc, address))
    return address


def given_address(
    r: Reporter, path, vpc: str, subnet: m.Subnet, text: str, used: set
) -> Optional[IPv4Address]:
    """An address the file gives (an imported interface's): in the subnet, free, now taken."""
    address = r.parsed(path, parse_address, text)
    if address is None or not ipv4_subnet(r, path, subnet):
        return None
    if address not in subnet.ipv4 or address in subnet.reserved_addresses or (vpc, address) in used:
        r.report(path, f"{address} is not a free address of subnet '{subnet.name}' ({subnet.cidr})")
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
