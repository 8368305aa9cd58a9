"""Interface endpoints to AWS services (``service: com.amazonaws.REGION.NAME``).

AWS's service sits behind the endpoint's network interfaces, one per listed subnet; vpclab
puts a stand-in host on each interface (an ``Instance`` with ``service`` set, on a server of
the subnet's AZ), so the subnet's NACL, the endpoint's security groups and the cards treat it
as AWS treats the interface. It answers as the service and opens no connections. Its address
is the one the file gives (``addresses``, as the import writes the real ones), else the
subnet's first free one after the instances, NAT gateways and PrivateLink's interfaces.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from typing import Optional

from .. import model as m
from ..errors import format_path
from .instances import place_on_server, resolve_security_groups
from .load_balancers import free_address, given_address, one_per_zone
from .prefix_lists import is_aws_service, is_gateway
from .reporter import Known, Reporter


def build_service_interfaces(
    r: Reporter,
    known: Known,
    data: dict,
    vpcs: tuple[m.Vpc, ...],
    endpoints: tuple[m.VpcEndpoint, ...],
    services: tuple[m.EndpointService, ...],
) -> tuple[m.Vpc, ...]:
    """``vpcs`` with the stand-in hosts of their AWS-service interface endpoints added."""
    used = {(v.name, i.ip) for v in vpcs for i in v.instances} | {
        (v.name, nat.ip) for v in vpcs for nat in v.nat_gateways
    }
    used |= {(e.vpc, i.ip) for e in endpoints for i in e.interfaces}
    used |= {(s.vpc, node.ip) for s in services for node in s.load_balancer.nodes}
    names = {i.name for v in vpcs for i in v.instances} | {
        h["name"] for h in data.get("internet", {}).get("hosts", [])
    }
    added: dict[str, list[m.Instance]] = {}
    for n, item in enumerate(data.get("vpc_endpoints", [])):
        if not is_aws_service(item) or is_gateway(item) or "subnets" not in item:
            continue  # a gateway endpoint, or one ``endpoints`` reported
        path = ("vpc_endpoints", n)
        vpc = next((v for v in vpcs if v.name == item["vpc"]), None)
        if vpc is None:
            r.report(path + ("vpc",), f"no VPC '{item['vpc']}'")
            continue
        region = known.places[vpc.name][1]
        if not item["service"].startswith(m.aws_list_name(region, "")):
            r.report(
                path + ("service",),
                f"VPC '{vpc.name}' is in {region}: its endpoints reach com.amazonaws.{region}.*",
            )
            continue
        if item.get("private_dns_enabled") and not vpc.dns_support:
            r.report(
                path + ("private_dns_enabled",),
                f"private DNS needs the VPC's DNS support: '{vpc.name}' has enable_dns_support: false",
            )
            continue
        given = item.get("addresses", [])
        if given and len(given) != len(item["subnets"]):
            r.report(
                path + ("addresses",),
                f"{len(given)} addresses for {len(item['subnets'])} subnets: one per subnet",
            )
            continue
        groups = resolve_security_groups(r, known, path, vpc.name, item)
        subnets = one_per_zone(r, path + ("subnets",), vpc, item["subnets"])
        for s, subnet in enumerate(subnets or []):
            where = path + ("subnets", s)
            address = _address(r, path, s, vpc, subnet, given, used)
            name = f"{item['name']}-{subnet.name}"
            if name in names:
                r.report(
                    where, f"'{name}' (the endpoint's interface in {subnet.name}) is already a host's name"
                )
                continue
            server = place_on_server(r, known, where, {}, subnet)
            if address is None or server is None or groups is None:
                continue
            names.add(name)
            added.setdefault(vpc.name, []).append(
                m.Instance(
                    format_path(where),
                    vpc.name,
                    subnet.name,
                    name,
                    address,
                    groups,
                    server,
                    service=item["service"],
                    endpoint=item["name"],
                    private_dns=item.get("private_dns_enabled", True) and vpc.dns_support,
                )
            )
    return tuple(
        replace(v, instances=v.instances + tuple(added[v.name])) if v.name in added else v for v in vpcs
    )


def _address(
    r: Reporter, path, s: int, vpc: m.Vpc, subnet: m.Subnet, given: list, used: set
) -> Optional[IPv4Address]:
    """The interface's address: the file's (in its subnet, not in use), else the first free one."""
    if given:
        return given_address(r, path + ("addresses", s), vpc.name, subnet, given[s], used)
    return free_address(r, path + ("subnets", s), vpc.name, subnet, used)
