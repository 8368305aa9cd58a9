"""Load a topology file: strict YAML -> shape check -> meaning checks -> the typed model.

Every problem is collected (not just the first) and reported with file, line and path.
AWS defaults are filled in here: default SG, default NACL, main route table, local routes,
instance IPs and server placement. Each resource family has its own module; they share a
``Reporter`` and a ``Known`` index of what is already built.
"""

from __future__ import annotations

from typing import Optional

from .. import model as m
from ..document import Document, load_document
from ..errors import TopologyError, format_path
from ..schema import shape_problems
from .accounts import build_accounts, build_quotas, build_regions, check_quotas, place
from .connections import build_peerings, build_tgw_peerings, build_transit_gateways
from .dns import build_hosted_zones, domain
from .endpoints import build_endpoints
from .flow_logs import build_flow_logs
from .hybrid import build_hybrid
from .instances import build_instances, check_instance_names
from .internet import (
    assign_public_ips,
    build_internet_gateways,
    build_internet_hosts,
    check_reserved_server_name,
)
from .ipv6 import build_vpc_ipv6
from .nat import build_nat_gateways, index_nat_gateways
from .network import build_servers, build_subnet_drafts, build_subnets, build_vpc_cidrs
from .numbering import build_nat_numbers, build_numbering
from .prefix_lists import aws_services, build_prefix_lists, index_gateway_endpoints
from .reporter import Known, Reporter
from .routes import build_route_tables, check_failover_targets, check_instance_routes
from .rules import build_nacls, build_security_groups, index_security_groups
from .service_endpoints import build_service_interfaces

__all__ = ["load_topology", "topology_from_data"]


def load_topology(source: str, text: Optional[str] = None) -> m.Topology:
    """Load and validate ``source``; raise TopologyError listing every problem."""
    return _validated(load_document(source, text))


def topology_from_data(source: str, data: dict, valid_before: Optional[dict] = None) -> m.Topology:
    """Validate already-parsed data (a runtime change: no text to parse, no lines to point at);
    ``valid_before``, data known to be valid, lets the shape check skip what did not change."""
    return _validated(Document(source, data), valid_before)


def _validated(document: Document, valid_before: Optional[dict] = None) -> m.Topology:
    source = document.source
    problems = shape_problems(document, valid_before)
    if problems:
        raise TopologyError(source, problems)
    reporter = Reporter(document)
    assert isinstance(document.data, dict)  # the schema requires a mapping
    topology = _build(reporter, document.data)
    if reporter.problems:
        raise TopologyError(source, reporter.problems)
    return topology


def _build(r: Reporter, data: dict) -> m.Topology:
    vpcs_data = data["vpcs"]
    r.unique_names(vpcs_data, ("vpcs",), "VPC")
    if len(vpcs_data) > m.MAX_VPCS:
        r.report(("vpcs", m.MAX_VPCS), f"at most {m.MAX_VPCS} VPCs: the VXLAN VNI carries a VPC's number")
    known = Known(accounts=build_accounts(r, data), regions=build_regions(r, data), quotas=build_quotas(data))
    check_quotas(r, data)
    known.servers = build_servers(r, known, data)
    check_reserved_server_name(r, data)
    for v, vpc in enumerate(vpcs_data):
        known.vpc_cidrs[vpc["name"]] = build_vpc_cidrs(r, v, vpc)
        known.places[vpc["name"]] = place(r, known, ("vpcs", v), vpc)
    build_prefix_lists(r, known, data)
    index_gateway_endpoints(r, known, data)
    build_internet_gateways(r, known, data)
    build_vpc_ipv6(r, known, data)
    internet_hosts = build_internet_hosts(r, known, data)
    assign_public_ips(r, known, data)
    for v, vpc in enumerate(vpcs_data):
        known.subnets[vpc["name"]] = build_subnet_drafts(r, known, v, vpc)
    known.peerings = build_peerings(r, known, data)
    known.tgw_peerings = data.get("transit_gateway_peerings", [])
    known.vpn_connection_items = data.get("vpn_connections", [])
    known.dx_gateway_items = data.get("direct_connect_gateways", [])
    known.transit_gateways = build_transit_gateways(r, known, data)
    tgw_peerings = build_tgw_peerings(r, known, data)
    hybrid = build_hybrid(r, known, data)
    index_security_groups(r, known, data)
    index_nat_gateways(r, known, data)
    check_instance_names(r, data)
    vpcs = tuple(_build_vpc(r, known, v, vpc) for v, vpc in enumerate(vpcs_data))
    check_failover_targets(r, data, vpcs)
    services, endpoints, balancers = build_endpoints(r, known, data, vpcs)
    vpcs = build_service_interfaces(r, known, data, vpcs, endpoints, services)
    reached, service_hosts = aws_services(r, known, data)
    return m.Topology(
        name=data["name"],
        source=r.document.source,
        servers=known.servers,
        vpcs=vpcs,
        peerings=known.peerings,
        transit_gateways=known.transit_gateways,
        transit_gateway_peerings=tgw_peerings,
        internet_hosts=internet_hosts + service_hosts,
        flow_logs=build_flow_logs(r, data, vpcs),
        hosted_zones=build_hosted_zones(r, data),
        dns_domain=domain(data.get("dns_domain", m.DEFAULT_DNS_DOMAIN)),
        endpoint_services=services,
        vpc_endpoints=endpoints,
        network_load_balancers=balancers,
        accounts=known.accounts,
        regions=known.regions,
        prefix_lists=tuple(
            p for p in known.prefix_lists.values() if not p.aws_managed or p.name in known.used_services
        ),
        gateway_endpoints=tuple(known.gateway_endpoints),
        aws_services=reached,
        hybrid=hybrid,
        numbering=build_numbering(r, data, vpcs),
        nat_numbers=build_nat_numbers(r, data, vpcs),
    )


def _build_vpc(r: Reporter, known: Known, v: int, vpc: dict) -> m.Vpc:
    name = vpc["name"]
    route_tables = build_route_tables(r, known, v, vpc)
    nacls = build_nacls(r, known, v, vpc)
    security_groups = build_security_groups(r, known, v, vpc)
    subnets = build_subnets(r, known, v, vpc, route_tables, nacls)
    instances = build_instances(r, known, v, vpc, subnets)
    check_instance_routes(r, v, vpc, instances, security_groups)
    nat_gateways = build_nat_gateways(r, known, v, vpc, subnets, route_tables, instances)
    return m.Vpc(
        format_path(("vpcs", v)),
        name,
        v + 1,
        known.vpc_cidrs[name],
        subnets,
        route_tables,
        security_groups,
        nacls,
        instances,
        known.internet_gateways.get(name),
        nat_gateways,
        vpc.get("enable_dns_support", True),
        *known.places[name],
        ipv6_cidr=known.vpc_ipv6.get(name),
        egress_only_internet_gateway=known.eigws.get(name),
    )
