"""VPC route tables: the implicit main table, local routes first, one target per route."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_network
from .reporter import Known, Reporter


def build_route_tables(r: Reporter, known: Known, v: int, vpc: dict) -> tuple[m.RouteTable, ...]:
    tables_data = vpc.get("route_tables", [])
    path = ("vpcs", v, "route_tables")
    r.unique_names(tables_data, path, "route table")
    mains = [t for t, table in enumerate(tables_data) if table.get("main")]
    for t in mains[1:]:
        r.report(
            path + (t, "main"),
            f"VPC '{vpc['name']}' already has a main route table ('{tables_data[mains[0]]['name']}')",
        )
    tables = [
        build_route_table(r, known, v, vpc, t, table, main=bool(mains) and t == mains[0])
        for t, table in enumerate(tables_data)
    ]
    if not mains:
        if any(table["name"] == "main" for table in tables_data):
            index = next(t for t, table in enumerate(tables_data) if table["name"] == "main")
            r.report(
                path + (index, "name"),
                "'main' names the VPC's implicit main route table; set 'main: true' or choose another name",
            )
        tables.append(
            m.RouteTable(
                format_path(path) + "[main]", "main", True, local_routes(r, known, path + ("main",), vpc)
            )
        )
    return tuple(tables)


def local_routes(r: Reporter, known: Known, table_path: DocPath, vpc: dict) -> tuple[m.Route, ...]:
    origin = (
        format_path(table_path[:-1]) + f"[{table_path[-1]}]"
        if isinstance(table_path[-1], str)
        else format_path(table_path)
    )
    return tuple(
        m.Route(f"{origin}.routes[local]", cidr, local=True) for cidr in known.vpc_cidrs[vpc["name"]]
    )


def build_route_table(r: Reporter, known: Known, v, vpc, t, table, main: bool) -> m.RouteTable:
    path = ("vpcs", v, "route_tables", t)
    routes = list(local_routes(r, known, path, vpc))
    destinations: dict[IPv4Network, int] = {}
    for n, route in enumerate(table.get("routes", [])):
        built = build_route(r, known, path + ("routes", n), vpc["name"], route)
        if built is None:
            continue
        if built.destination in destinations:
            r.report(
                path + ("routes", n, "destination"),
                f"{built.destination} already has a route in this table "
                f"(routes[{destinations[built.destination]}])",
            )
            continue
        destinations[built.destination] = n
        routes.append(built)
    return m.RouteTable(format_path(path), table["name"], main, tuple(routes))


def build_route(r: Reporter, known: Known, path, vpc: str, route: dict) -> Optional[m.Route]:
    destination = r.parsed(path + ("destination",), parse_network, route["destination"])
    targets = [
        key
        for key in ("peering", "transit_gateway", "internet_gateway", "nat_gateway", "instance", "blackhole")
        if route.get(key)
    ]
    if len(targets) != 1:
        r.report(
            path,
            "a route needs exactly one of 'peering', 'transit_gateway', 'internet_gateway', "
            "'nat_gateway', 'instance' or 'blackhole: true'",
        )
        return None
    if destination is None:
        return None
    for cidr in known.vpc_cidrs[vpc]:
        if destination.subnet_of(cidr):
            r.report(
                path + ("destination",),
                f"{destination} is inside the VPC CIDR {cidr}: the local route covers "
                "it and AWS rejects a route as or more specific than it",
            )
            return None
    target_ok = check_route_target(r, known, path, vpc, route)
    if not target_ok:
        return None
    return m.Route(
        format_path(path),
        destination,
        peering=route.get("peering"),
        transit_gateway=route.get("transit_gateway"),
        blackhole=bool(route.get("blackhole")),
        internet_gateway=route.get("internet_gateway"),
        nat_gateway=route.get("nat_gateway"),
        instance=route.get("instance"),
    )


def check_instance_routes(r: Reporter, v: int, vpc: dict, instances, security_groups) -> None:
    """A route to an instance names one of the VPC's instances, whose inbound SG rules name no
    security group (vpclab does not carry SG references to an appliance)."""
    by_name = {instance.name: instance for instance in instances}
    for t, table in enumerate(vpc.get("route_tables", [])):
        for n, route in enumerate(table.get("routes", [])):
            name = route.get("instance")
            if not name:
                continue
            path = ("vpcs", v, "route_tables", t, "routes", n, "instance")
            box = by_name.get(name)
            if box is None:
                names = ", ".join(sorted(by_name)) or "none"
                r.report(path, f"no instance '{name}' in VPC '{vpc['name']}' (its instances: {names})")
                continue
            naming = next(
                (
                    group.name
                    for group in security_groups
                    if group.ref in box.security_groups and any(rule.security_group for rule in group.ingress)
                ),
                None,
            )
            if naming:
                r.report(
                    path,
                    f"{name}'s security group {naming} has inbound rules that name security groups: "
                    "vpclab cannot route through such an appliance yet (use CIDRs in its rules)",
                )


def check_route_target(r: Reporter, known: Known, path, vpc: str, route: dict) -> bool:
    if route.get("peering"):
        peering = next((p for p in known.peerings if p.name == route["peering"]), None)
        if peering is None:
            r.report(path + ("peering",), f"no peering named '{route['peering']}'")
            return False
        if vpc not in (peering.requester, peering.accepter):
            r.report(
                path + ("peering",),
                f"peering '{peering.name}' joins "
                f"'{peering.requester}' and '{peering.accepter}', "
                f"not VPC '{vpc}'",
            )
            return False
    if route.get("transit_gateway"):
        tgw = next((t for t in known.transit_gateways if t.name == route["transit_gateway"]), None)
        if tgw is None:
            r.report(path + ("transit_gateway",), f"no transit gateway named '{route['transit_gateway']}'")
            return False
        if not any(att.vpc == vpc for att in tgw.attachments):
            r.report(
                path + ("transit_gateway",), f"VPC '{vpc}' has no attachment to transit gateway '{tgw.name}'"
            )
            return False
    if route.get("internet_gateway"):
        attached = known.internet_gateways.get(vpc)
        if attached is None or attached.name != route["internet_gateway"]:
            r.report(
                path + ("internet_gateway",),
                f"internet gateway '{route['internet_gateway']}' is not attached to VPC '{vpc}' "
                + (
                    f"(its gateway is '{attached.name}')"
                    if attached
                    else "(it has none: set 'internet_gateway:')"
                ),
            )
            return False
    if route.get("nat_gateway") and route["nat_gateway"] not in known.nat_gateways.get(vpc, set()):
        names = ", ".join(sorted(known.nat_gateways.get(vpc, set()))) or "none"
        r.report(
            path + ("nat_gateway",),
            f"no NAT gateway '{route['nat_gateway']}' in VPC '{vpc}' (its NAT gateways: {names})",
        )
        return False
    return True
