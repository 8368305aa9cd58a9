"""NAT gateways: each in a public subnet of its VPC, with a private address (``ip``, else the
subnet's first free one after the instances'), an Elastic IP (``assign_public_ips``) and a server whose
Nitro card carries its translations (like an instance's placement)."""

from __future__ import annotations

from .. import model as m
from ..errors import format_path
from ..values import parse_address
from .instances import place_on_server
from .ipv6 import ipv4_subnet
from .reporter import Known, Reporter


def index_nat_gateways(r: Reporter, known: Known, data: dict) -> None:
    """Record each VPC's NAT gateway names (unique in the file), for the routes that name them."""
    seen: dict[str, str] = {}
    for v, vpc in enumerate(data["vpcs"]):
        names = known.nat_gateways.setdefault(vpc["name"], set())
        for n, nat in enumerate(vpc.get("nat_gateways", [])):
            path = ("vpcs", v, "nat_gateways", n)
            if nat["name"] in seen:
                r.report(
                    path + ("name",), f"NAT gateway '{nat['name']}' is already defined at {seen[nat['name']]}"
                )
                continue
            seen[nat["name"]] = format_path(path)
            names.add(nat["name"])


def build_nat_gateways(
    r: Reporter,
    known: Known,
    v: int,
    vpc: dict,
    subnets: tuple[m.Subnet, ...],
    route_tables: tuple[m.RouteTable, ...],
    instances: tuple[m.Instance, ...],
) -> tuple[m.NatGateway, ...]:
    """The NAT gateways of ``vpcs[v]``; a subnet whose own route table sends traffic back to
    its NAT gateway is refused (the gateway needs that table's route to the IGW)."""
    by_name = {subnet.name: subnet for subnet in subnets}
    tables = {table.name: table for table in route_tables}
    used = {instance.ip for instance in instances}
    result = []
    for n, nat in enumerate(vpc.get("nat_gateways", [])):
        path = ("vpcs", v, "nat_gateways", n)
        subnet = by_name.get(nat["subnet"])
        if subnet is None:
            if nat["subnet"] not in known.subnets[vpc["name"]]:
                r.report(path + ("subnet",), f"no subnet '{nat['subnet']}' in VPC '{vpc['name']}'")
            continue
        if not ipv4_subnet(r, path + ("subnet",), subnet):
            continue
        table = tables.get(subnet.route_table)
        routes = table.routes if table else ()
        loop = next((route for route in routes if route.nat_gateway == nat["name"]), None)
        if loop is not None and table is not None:
            r.report(
                path + ("subnet",),
                f"subnet '{subnet.name}' routes {loop.destination} to this NAT gateway itself "
                f"(route table '{table.name}'); a NAT gateway belongs in a public subnet, whose "
                "table routes to the internet gateway",
            )
            continue
        if "ip" in nat:  # the address AWS gave it (an imported snapshot's)
            address = r.parsed(path + ("ip",), parse_address, nat["ip"])
            if address is None:
                continue
            problem = (
                f"{address} is not in subnet '{subnet.name}' ({subnet.cidr})"
                if address not in subnet.ipv4
                else f"{address} is one of the five addresses AWS reserves in {subnet.cidr}"
                if address in subnet.reserved_addresses
                else f"{address} is already an instance's or a NAT gateway's"
                if address in used
                else None
            )
            if problem:
                r.report(path + ("ip",), problem)
                continue
        else:
            address = next(
                (a for a in subnet.ipv4 if a not in subnet.reserved_addresses and a not in used), None
            )
        if address is None:
            r.report(path + ("subnet",), f"subnet '{subnet.name}' ({subnet.cidr}) has no free address left")
            continue
        server = place_on_server(r, known, path, nat, subnet)
        public_ip = known.nat_public_ips.get((v, n))
        if server is None or public_ip is None:
            continue
        used.add(address)
        result.append(
            m.NatGateway(
                format_path(path),
                nat["name"],
                vpc["name"],
                subnet.name,
                address,
                public_ip,
                server,
                "public_ip" in nat,
                r.parsed(path + ("aws_public_ip",), parse_address, nat["aws_public_ip"])
                if "aws_public_ip" in nat
                else None,
            )
        )
    return tuple(result)
