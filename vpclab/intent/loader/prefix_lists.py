"""Prefix lists (customer-managed and AWS-managed), gateway endpoints and the AWS services
they reach.

A customer-managed list (``prefix_lists:``) is the design's own. AWS-managed lists exist for
each service a gateway endpoint reaches (``GATEWAY_SERVICES``) in each Region of the design,
named as AWS names them (``com.amazonaws.us-east-1.s3``); each gets its own /28 of
192.0.2.0/24, where one emulated host answers for the service. A list is regional: a route or
rule names only a list of its VPC's Region.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_network
from .reporter import Known, Reporter

GATEWAY = "gateway"  # vpc_endpoint_type, case-insensitive as the API's Gateway/Interface
BLOCKS = [  # clear of the VPN tunnels' outside addresses
    b
    for b in m.AWS_SERVICE_RANGE.subnets(new_prefix=m.AWS_SERVICE_BLOCK)
    if not b.overlaps(m.AWS_VPN_ENDPOINTS)
]


def is_gateway(item: dict) -> bool:
    return str(item.get("vpc_endpoint_type", "interface")).lower() == GATEWAY


def is_aws_service(item: dict) -> bool:
    """A vpc_endpoints entry that reaches an AWS service (com.amazonaws.REGION.NAME)."""
    return str(item.get("service", "")).startswith(m.AWS_MANAGED_PREFIX)


def build_prefix_lists(r: Reporter, known: Known, data: dict) -> None:
    """The customer-managed lists of ``prefix_lists:`` and the AWS-managed lists of every
    Region of the design, into ``known.prefix_lists``."""
    items = data.get("prefix_lists", [])
    path: DocPath = ("prefix_lists",)
    r.unique_names(items, path, "prefix list")
    regions = [region.name for region in known.regions]
    for number, region in enumerate(regions):
        for s, service in enumerate(m.GATEWAY_SERVICES):
            block = number * len(m.GATEWAY_SERVICES) + s
            name = m.aws_list_name(region, service)
            block_of = (BLOCKS[block],) if block < len(BLOCKS) else ()
            known.prefix_lists[name] = m.PrefixList(f"vpclab:{name}", name, block_of, 1, service, region)
    for n, item in enumerate(items):
        where = path + (n,)
        if item["name"].startswith(m.AWS_MANAGED_PREFIX):
            r.report(where + ("name",), f"'{m.AWS_MANAGED_PREFIX}...' names AWS-managed prefix lists")
            continue
        region = item.get("region", regions[0])
        if region not in regions:
            r.report(where + ("region",), f"no Region '{region}' (the design's: {', '.join(regions)})")
            continue
        cidrs: list[IPv4Network] = []
        for e, entry in enumerate(item["entries"]):
            cidr = r.parsed(where + ("entries", e, "cidr"), parse_network, entry["cidr"])
            if cidr is not None and cidr in cidrs:
                r.report(where + ("entries", e, "cidr"), f"{cidr} is already an entry of this list")
            elif cidr is not None:
                cidrs.append(cidr)
        most = item.get("max_entries", len(item["entries"]))
        if len(item["entries"]) > most:
            r.report(
                where + ("max_entries",),
                f"the list has {len(item['entries'])} entries, more than its max_entries {most}",
            )
            continue
        known.prefix_lists[item["name"]] = m.PrefixList(
            format_path(where), item["name"], tuple(cidrs), most, region=region
        )


def weight(known: Known, name: Optional[str]) -> int:
    """What a rule or route counts against its quota (AWS): one, or, naming a prefix list, the
    list's max_entries (an AWS-managed list's weight: 1 for S3's and DynamoDB's)."""
    listed = known.prefix_lists.get(name) if name else None
    return listed.max_entries if listed else 1


def resolve_prefix_list(
    r: Reporter, known: Known, path: DocPath, vpc: str, name: str
) -> Optional[m.PrefixList]:
    """The list a route or rule of ``vpc`` names: one of its Region; AWS-managed lists get
    their emulated service (``known.used_services``)."""
    listed = known.prefix_lists.get(name)
    region = known.places[vpc][1] if vpc in known.places else None
    if listed is None:
        customer = sorted(n for n in known.prefix_lists if not n.startswith(m.AWS_MANAGED_PREFIX))
        services = ", ".join(m.aws_list_name(region or "REGION", s) for s in m.GATEWAY_SERVICES)
        r.report(
            path,
            f"no prefix list '{name}' (the design's: {', '.join(customer) or 'none'}; AWS's: {services})",
        )
        return None
    if listed.region != region:
        r.report(
            path, f"prefix list '{name}' is in {listed.region}, VPC '{vpc}' in {region}: a list is regional"
        )
        return None
    if listed.aws_managed and not listed.cidrs:
        r.report(path, f"vpclab emulates AWS services in at most {len(BLOCKS) // 2} Regions")
        return None
    if listed.aws_managed:
        known.used_services.add(listed.name)
    return listed


def index_gateway_endpoints(r: Reporter, known: Known, data: dict) -> None:
    """The gateway endpoints of ``vpc_endpoints`` (``vpc_endpoint_type: Gateway``): checked,
    into ``known.gateway_endpoints``; the route each adds to its route tables is built with them
    (``known.gateway_routes``)."""
    tables_of = {
        vpc["name"]: {t["name"] for t in vpc.get("route_tables", [])}
        | ({"main"} if not any(t.get("main") for t in vpc.get("route_tables", [])) else set())
        for vpc in data["vpcs"]
    }
    for n, item in enumerate(data.get("vpc_endpoints", [])):
        if not is_gateway(item):
            continue
        where = ("vpc_endpoints", n)
        for key in ("subnets", "security_groups", "private_dns_enabled"):
            if key in item:
                r.report(
                    where + (key,),
                    f"'{key}' belongs to an interface endpoint; a gateway endpoint has route_tables",
                )
        vpc = item["vpc"]
        if vpc not in known.places:
            r.report(where + ("vpc",), f"no VPC '{vpc}'")
            continue
        region = known.places[vpc][1]
        service = item["service"]
        if service.startswith(m.AWS_MANAGED_PREFIX):
            service = service.removeprefix(m.aws_list_name(region, ""))
        if service not in m.GATEWAY_SERVICES:
            offered = ", ".join(m.aws_list_name(region, s) for s in m.GATEWAY_SERVICES)
            r.report(
                where + ("service",),
                f"a gateway endpoint in {region} reaches {offered} ('{item['service']}' is none of them)",
            )
            continue
        listed = resolve_prefix_list(r, known, where + ("service",), vpc, m.aws_list_name(region, service))
        tables = item.get("route_tables", [])  # none: AWS takes it, and no packet reaches it
        refused = False
        for t, table in enumerate(tables):
            if table not in tables_of[vpc]:
                r.report(where + ("route_tables", t), f"no route table '{table}' in VPC '{vpc}'")
                refused = True
            elif table in tables[:t] or any(
                e.service == service for e in known.gateway_routes.get((vpc, table), [])
            ):
                r.report(
                    where + ("route_tables", t),
                    f"route table '{table}' already routes to a {service} gateway endpoint (AWS allows one)",
                )
                refused = True
        if listed is None or not tables or refused:
            continue
        aws_cidrs = [
            r.parsed(where + ("aws_cidrs", c), parse_network, x)
            for c, x in enumerate(item.get("aws_cidrs", []))
        ]
        endpoint = m.GatewayEndpoint(
            format_path(where),
            item["name"],
            vpc,
            service,
            region,
            listed.name,
            tuple(tables),
            aws_cidrs=tuple(c for c in aws_cidrs if c is not None),
        )
        known.gateway_endpoints.append(endpoint)
        for table in tables:
            known.gateway_routes.setdefault((vpc, table), []).append(endpoint)


def gateway_routes(known: Known, vpc: str, table: str) -> list[m.Route]:
    """The routes AWS adds to ``table`` for its gateway endpoints: one per CIDR of the
    service's list, each the endpoint's (a CIDR route of the same prefix wins over it)."""
    return [
        m.Route(
            f"{endpoint.origin}.route_tables[{endpoint.route_tables.index(table)}]",
            cidr,
            gateway_endpoint=endpoint.name,
            prefix_list=endpoint.prefix_list,
        )
        for endpoint in known.gateway_routes.get((vpc, table), [])
        for cidr in known.prefix_lists[endpoint.prefix_list].cidrs
    ]


def aws_services(
    r: Reporter, known: Known, data: dict
) -> tuple[tuple[m.AwsService, ...], tuple[m.InternetHost, ...]]:
    """The AWS services the design names (a gateway endpoint, a route, a rule), each with the
    emulated host that answers for it; an internet address inside one's block is refused."""
    services, hosts = [], []
    names = {
        i["name"]: ("vpcs", v, "instances", n)
        for v, vpc in enumerate(data["vpcs"])
        for n, i in enumerate(vpc.get("instances", []))
    }
    names.update(
        {h["name"]: ("internet", "hosts", n) for n, h in enumerate(data.get("internet", {}).get("hosts", []))}
    )
    for name in sorted(known.used_services):
        listed = known.prefix_lists[name]
        assert listed.service and listed.region
        network = listed.cidrs[0]
        real = tuple(
            dict.fromkeys(c for e in known.gateway_endpoints if e.prefix_list == name for c in e.aws_cidrs)
        )
        services.append(m.AwsService(name, listed.service, listed.region, network, real))
        host = f"{listed.service}-{listed.region}"
        if host in names:
            r.report(names[host] + ("name",), f"'{host}' names the host of {name} in this design")
        hosts.append(m.InternetHost(listed.origin, host, network[1], network, name))
        for address, user in known.outside_addresses.items():
            if address in network:
                r.report(
                    user,
                    f"{address} is inside {network}, where vpclab emulates {name}: choose another address",
                )
    return tuple(services), tuple(hosts)
