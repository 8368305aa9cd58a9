"""Servers and address space: VPC CIDRs and subnets (AWS's size limits, no overlaps)."""

from __future__ import annotations

from ipaddress import IPv4Network

from .. import model as m
from ..errors import format_path
from ..values import parse_network
from .ipv6 import subnet_ipv6
from .reporter import Known, Reporter, SubnetDraft

VPC_PREFIXES = (16, 28)
DEFAULT_AZ = "a"
DEFAULT_SERVERS = 2


def build_servers(r: Reporter, known: Known, data: dict) -> tuple[m.Server, ...]:
    """``servers: N`` host any AZ of any Region; a listed server is in its Region (default
    the first) and, if it names one, its AZ there (``a``, or the full ``us-east-1a``)."""
    servers = data.get("servers", DEFAULT_SERVERS)
    if isinstance(servers, int):
        return tuple(m.Server("servers", f"srv{n}", None) for n in range(1, servers + 1))
    r.unique_names(servers, ("servers",), "server")
    regions = {region.name for region in known.regions}
    built = []
    for i, server in enumerate(servers):
        region = server.get("region", known.regions[0].name)
        if region not in regions:
            r.report(("servers", i, "region"), f"no Region named '{region}' in 'regions'")
        built.append(m.Server(f"servers[{i}]", server["name"], server.get("az"), region))
    return tuple(built)


def build_vpc_cidrs(r: Reporter, index: int, vpc: dict) -> tuple[IPv4Network, ...]:
    raw = vpc["cidr"] if isinstance(vpc["cidr"], list) else [vpc["cidr"]]
    paths = [
        ("vpcs", index, "cidr") + ((n,) if isinstance(vpc["cidr"], list) else ()) for n in range(len(raw))
    ]
    cidrs: list[IPv4Network] = []
    for path, text in zip(paths, raw, strict=True):
        cidr = r.parsed(path, parse_network, text)
        if cidr is None:
            continue
        if not VPC_PREFIXES[0] <= cidr.prefixlen <= VPC_PREFIXES[1]:
            r.report(
                path,
                f"a VPC CIDR must be between /{VPC_PREFIXES[0]} and "
                f"/{VPC_PREFIXES[1]} (AWS's limits), got /{cidr.prefixlen}",
            )
        clash = next((c for c in cidrs if c.overlaps(cidr)), None)
        if clash:
            r.report(path, f"{cidr} overlaps this VPC's other CIDR {clash}")
            continue
        cidrs.append(cidr)
    return tuple(cidrs)


def build_subnet_drafts(r: Reporter, known: Known, vpc_index: int, vpc: dict) -> dict[str, SubnetDraft]:
    """Subnet name -> draft; references (route table, NACL) are checked in build_subnets."""
    subnets_data = vpc.get("subnets", [])
    r.unique_names(subnets_data, ("vpcs", vpc_index, "subnets"), "subnet")
    cidrs = known.vpc_cidrs[vpc["name"]]
    result: dict[str, SubnetDraft] = {}
    for index, subnet in enumerate(subnets_data):
        path = ("vpcs", vpc_index, "subnets", index, "cidr")
        native = bool(subnet.get("ipv6_native"))
        cidr = None
        if native == ("cidr" in subnet):
            r.report(
                path if native else path[:-1],
                "an IPv6-only subnet (ipv6_native: true) has no IPv4 'cidr'"
                if native
                else "a subnet needs a 'cidr' (or, IPv6-only, 'ipv6_native: true' and an 'ipv6_cidr')",
            )
        elif not native:
            cidr = r.parsed(path, parse_network, subnet["cidr"])
        if cidr is not None:
            _check_subnet_cidr(r, path, cidr, cidrs, result)
        ipv6 = subnet_ipv6(r, known, path[:-1], vpc["name"], subnet, result)
        if native and ipv6 is None and "ipv6_cidr" not in subnet:
            r.report(path[:-1], "an IPv6-only subnet (ipv6_native: true) needs an 'ipv6_cidr' (a /64)")
        draft = SubnetDraft(cidr, subnet.get("az", DEFAULT_AZ), index, ipv6, native)
        result.setdefault(subnet["name"], draft)
    return result


def _check_subnet_cidr(r: Reporter, path, cidr, vpc_cidrs, siblings) -> None:
    if vpc_cidrs and not any(cidr.subnet_of(c) for c in vpc_cidrs):
        inside = " or ".join(str(c) for c in vpc_cidrs)
        r.report(path, f"{cidr} is not inside the VPC CIDR {inside}")
    if not VPC_PREFIXES[0] <= cidr.prefixlen <= VPC_PREFIXES[1]:
        r.report(
            path,
            f"a subnet CIDR must be between /{VPC_PREFIXES[0]} and "
            f"/{VPC_PREFIXES[1]} (AWS's limits), got /{cidr.prefixlen}",
        )
    for name, sibling in siblings.items():
        if sibling.cidr is not None and sibling.cidr.overlaps(cidr):
            r.report(path, f"{cidr} overlaps subnet '{name}' ({sibling.cidr})")


def build_subnets(r: Reporter, known: Known, v: int, vpc: dict, route_tables, nacls) -> tuple[m.Subnet, ...]:
    """The VPC's subnets, with their route table (the main one by default) and NACL."""
    table_names = {t.name for t in route_tables}
    main_table = next(t.name for t in route_tables if t.main)
    nacl_names = {n.name for n in nacls}
    subnets = []
    for s, subnet in enumerate(vpc.get("subnets", [])):
        path = ("vpcs", v, "subnets", s)
        draft = known.subnets[vpc["name"]][subnet["name"]]
        table = subnet.get("route_table", main_table)
        if table not in table_names:
            r.report(path + ("route_table",), f"no route table '{table}' in VPC '{vpc['name']}'")
        nacl = subnet.get("nacl", "default")
        if nacl not in nacl_names:
            r.report(path + ("nacl",), f"no NACL '{nacl}' in VPC '{vpc['name']}'")
        if draft.position != s or not draft.built:
            continue  # a duplicate name or a bad CIDR, already reported
        subnets.append(
            m.Subnet(
                format_path(path),
                vpc["name"],
                subnet["name"],
                draft.cidr,
                draft.az,
                table,
                nacl,
                draft.ipv6_cidr,
            )
        )
    return tuple(subnets)
