"""VPC route tables: the implicit main table, local routes first, one target per route."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network, IPv6Network
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_address, parse_any_network
from .accounts import over_quota
from .ipv6 import route_family
from .prefix_lists import gateway_routes, resolve_prefix_list, weight
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
    for t, table in enumerate(tables_data):
        count = sum(weight(known, route.get("destination_prefix_list")) for route in table.get("routes", []))
        over_quota(r, known, path + (t, "routes"), "routes_per_route_table", count, "routes")
    if not mains:
        if any(table["name"] == "main" for table in tables_data):
            index = next(t for t, table in enumerate(tables_data) if table["name"] == "main")
            r.report(
                path + (index, "name"),
                "'main' names the VPC's implicit main route table; set 'main: true' or choose another name",
            )
        routes = local_routes(r, known, path + ("main",), vpc) + tuple(
            gateway_routes(known, vpc["name"], "main")
        )
        tables.append(m.RouteTable(format_path(path) + "[main]", "main", True, routes))
    return tuple(tables)


def local_routes(r: Reporter, known: Known, table_path: DocPath, vpc: dict) -> tuple[m.Route, ...]:
    origin = (
        format_path(table_path[:-1]) + f"[{table_path[-1]}]"
        if isinstance(table_path[-1], str)
        else format_path(table_path)
    )
    ipv6 = known.vpc_ipv6.get(vpc["name"])
    cidrs = known.vpc_cidrs[vpc["name"]] + ((ipv6,) if ipv6 is not None else ())
    return tuple(m.Route(f"{origin}.routes[local]", cidr, local=True) for cidr in cidrs)


def build_route_table(r: Reporter, known: Known, v, vpc, t, table, main: bool) -> m.RouteTable:
    path = ("vpcs", v, "route_tables", t)
    routes = list(local_routes(r, known, path, vpc))
    # a CIDR route and a prefix list's route to the same CIDR may both be there (the CIDR
    # route wins, as AWS's route priority says); two of one kind may not
    destinations: dict[tuple[IPv4Network | IPv6Network, bool], str] = {}
    for n, route in enumerate(table.get("routes", [])):
        for built in build_routes(r, known, path + ("routes", n), vpc["name"], route):
            key = (built.destination, built.prefix_list is not None)
            if key in destinations:
                r.report(
                    path + ("routes", n),
                    f"{built.destination} already has a route in this table ({destinations[key]})",
                )
                continue
            destinations[key] = built.origin.rsplit(".", 1)[-1]
            routes.append(built)
    for built in gateway_routes(known, vpc["name"], table["name"]):
        routes.append(built)  # AWS refuses a second route to the same service: checked there
    propagating = tuple(table.get("propagating_vgws", []))
    for n, name in enumerate(propagating):
        _own_vgw(r, known, path + ("propagating_vgws", n), vpc["name"], name)
    return m.RouteTable(format_path(path), table["name"], main, tuple(routes), propagating)


def _own_vgw(r: Reporter, known: Known, path, vpc: str, name: str) -> bool:
    """``name`` is the virtual private gateway attached to ``vpc``."""
    gateway = known.vpn_gateways.get(name)
    if gateway is None:
        r.report(path, f"no virtual private gateway named '{name}' in 'vpn_gateways'")
        return False
    if gateway.vpc != vpc:
        r.report(
            path,
            f"virtual private gateway '{name}' is attached to VPC '{gateway.vpc}', not '{vpc}': a route "
            "table takes routes to, and propagation from, its own VPC's VGW only",
        )
        return False
    return True


def build_routes(r: Reporter, known: Known, path, vpc: str, route: dict) -> list[m.Route]:
    """A route of the file: one, or one per CIDR of its destination prefix list."""
    if ("destination" in route) == ("destination_prefix_list" in route):
        r.report(path, "a route needs exactly one of 'destination' or 'destination_prefix_list'")
        return []
    if "destination" in route:
        built = build_route(r, known, path, vpc, route)
        return [] if built is None else [built]
    if "failover" in route:
        r.report(path + ("failover",), "a failover route names a 'destination' CIDR, not a prefix list")
        return []
    listed = resolve_prefix_list(
        r, known, path + ("destination_prefix_list",), vpc, route["destination_prefix_list"]
    )
    if listed is None:
        return []
    first = build_route(r, known, path, vpc, {**route, "destination": str(listed.cidrs[0])})
    if first is None:
        return []
    return [
        replace(first, destination=cidr, prefix_list=listed.name)
        for cidr in listed.cidrs
        if _outside_vpc(r, known, path, vpc, cidr)
    ]


TARGETS = (
    "peering",
    "transit_gateway",
    "internet_gateway",
    "egress_only_internet_gateway",
    "nat_gateway",
    "instance",
    "vpn_gateway",
    "blackhole",
)


def build_route(r: Reporter, known: Known, path, vpc: str, route: dict) -> Optional[m.Route]:
    destination = r.parsed(path + ("destination",), parse_any_network, route["destination"])
    if "failover" in route:
        if isinstance(destination, IPv6Network):
            r.report(
                path + ("destination",), "a failover route's destination is IPv4 (its probes are IPv4 pings)"
            )
            return None
        return build_failover_route(r, known, path, vpc, route, destination)
    for key in ("health_check", "active"):
        if key in route:
            r.report(path + (key,), f"'{key}' belongs to a failover route (one with 'failover: [...]')")
    targets = [key for key in TARGETS if route.get(key)]
    if len(targets) != 1:
        r.report(
            path,
            "a route needs exactly one of 'peering', 'transit_gateway', 'internet_gateway', "
            "'egress_only_internet_gateway', 'nat_gateway', 'instance', 'vpn_gateway' or "
            "'blackhole: true' (or 'failover: [...]')",
        )
        return None
    if destination is None:
        return None
    if not route_family(r, known, path, vpc, route, destination):
        return None
    if not _outside_vpc(r, known, path, vpc, destination, middlebox=bool(route.get("instance"))):
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
        vpn_gateway=route.get("vpn_gateway"),
        egress_only_internet_gateway=route.get("egress_only_internet_gateway"),
    )


def _outside_vpc(
    r: Reporter, known: Known, path, vpc: str, destination: IPv4Network | IPv6Network, middlebox: bool = False
) -> bool:
    """A route's destination may not be inside the VPC's CIDRs (the local route covers them),
    except, since AWS's middlebox routing (2021), a route to an appliance's network interface
    whose destination is exactly one of the VPC's subnets: traffic between two subnets then
    goes through the appliance (traffic within a subnet never meets a route)."""
    drafts = known.subnets.get(vpc, {}).values()
    subnets = {cidr for draft in drafts for cidr in (draft.cidr, draft.ipv6_cidr) if cidr is not None}
    ipv6 = known.vpc_ipv6.get(vpc)
    for cidr in known.vpc_cidrs[vpc] + ((ipv6,) if ipv6 is not None else ()):
        if destination.version != cidr.version or not destination.subnet_of(cidr):  # type: ignore[arg-type]
            continue
        if middlebox and destination in subnets:
            return True
        hint = (
            "a route more specific than the local route must match a subnet's whole CIDR"
            if middlebox
            else "only a route to an appliance ('instance') may match one of its subnets' CIDRs"
        )
        r.report(
            path + ("destination",),
            f"{destination} is inside the VPC CIDR {cidr}: the local route covers it, and AWS "
            f"rejects a route as or more specific than it ({hint})",
        )
        return False
    return True


def build_failover_route(
    r: Reporter, known: Known, path, vpc: str, route: dict, destination: Optional[IPv4Network]
) -> Optional[m.Route]:
    """vpclab's failover route: its paths (peerings or TGWs) in order of preference, the
    ``active`` one its target, and how the route manager checks them."""
    others = [key for key in TARGETS if key in route]
    if others:
        r.report(
            path + (others[0],),
            "a failover route lists its targets under 'failover' only (first: the primary), "
            f"not also '{others[0]}'",
        )
        return None
    paths: list[m.RoutePath] = []
    ok = True
    for n, entry in enumerate(route["failover"]):
        ((kind, name),) = entry.items()
        ok = check_route_target(r, known, path + ("failover", n), vpc, entry) and ok
        candidate = m.RoutePath(kind, name)
        if candidate in paths:
            r.report(
                path + ("failover", n), f"{candidate.describe()} is already path {paths.index(candidate) + 1}"
            )
            ok = False
        paths.append(candidate)
    active = route.get("active", 0)
    if active >= len(paths):
        r.report(
            path + ("active",), f"path {active} does not exist: the route has paths 0 to {len(paths) - 1}"
        )
        ok = False
    if destination is None or not ok or not _outside_vpc(r, known, path, vpc, destination):
        return None
    check = route.get("health_check", {})
    target = None
    if "target" in check:
        target = r.parsed(path + ("health_check", "target"), parse_address, check["target"])
        if target is not None and target not in destination:
            r.report(
                path + ("health_check", "target"),
                f"{target} is not inside the route's destination {destination}",
            )
            return None
    chosen = paths[active]
    return m.Route(
        format_path(path),
        destination,
        **{chosen.kind: chosen.name},
        failover=tuple(paths),
        active=active,
        health_check=m.HealthCheck(
            format_path(path + ("health_check",) if "health_check" in route else path),
            target,
            **{key: check[key] for key in ("interval", "failures", "recoveries") if key in check},
        ),
    )


def check_failover_targets(r: Reporter, data: dict, vpcs: tuple[m.Vpc, ...]) -> None:
    """A failover route's health check needs an instance to answer: the one at its target, or
    (without one) an instance inside its destination."""
    owners = {instance.ip for vpc in vpcs for instance in vpc.instances}
    for v, vpc in enumerate(data["vpcs"]):
        for t, table in enumerate(vpc.get("route_tables", [])):
            built_routes = {route.origin: route for route in vpcs[v].route_tables[t].routes}
            for n in range(len(table.get("routes", []))):
                path = ("vpcs", v, "route_tables", t, "routes", n)
                built = built_routes.get(format_path(path))
                if built is None or built.health_check is None:
                    continue
                target = built.health_check.target
                if target is not None and target not in owners:
                    r.report(
                        path + ("health_check", "target"),
                        f"no instance has address {target}: nothing would answer the probes",
                    )
                elif target is None and not any(ip in built.destination for ip in owners):
                    r.report(
                        path, f"no instance inside {built.destination} to probe: set health_check.target"
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
    if route.get("vpn_gateway") and not _own_vgw(
        r, known, path + ("vpn_gateway",), vpc, route["vpn_gateway"]
    ):
        return False
    if route.get("nat_gateway") and route["nat_gateway"] not in known.nat_gateways.get(vpc, set()):
        names = ", ".join(sorted(known.nat_gateways.get(vpc, set()))) or "none"
        r.report(
            path + ("nat_gateway",),
            f"no NAT gateway '{route['nat_gateway']}' in VPC '{vpc}' (its NAT gateways: {names})",
        )
        return False
    return True
