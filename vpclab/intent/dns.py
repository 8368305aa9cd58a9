"""What a VPC's resolver (AmazonProvidedDNS) answers: the private hosted zones associated with
the VPC, its instances' private DNS hostnames (``ip-10-0-1-10.ec2.internal``, and back from
their addresses), every instance's YAML name under the design's ``dns_domain``, interface
endpoints (their service's private DNS name in the endpoint's VPC, their YAML name) and NLBs
reached directly (their YAML name: their nodes' addresses, as AWS's NLB name). Pure: the
card's resolver serves it, and ``trace`` asks it as an instance would."""

from __future__ import annotations

from dataclasses import dataclass

from . import model as m
from .loader.dns import domain

MAX_CNAMES = 8  # a longer chain (or a loop) ends the answer there
INSTANCE_TTL = 60
SERVICE_TTL = 5  # S3 and DynamoDB answer with short TTLs (their addresses rotate)


@dataclass(frozen=True)
class Answer:
    rcode: str  # NOERROR or NXDOMAIN
    records: tuple[m.DnsRecord, ...]  # the CNAMEs followed, then the records of the type asked


def private_hostname(address) -> str:
    """EC2's private DNS hostname of an address in us-east-1: ip-10-0-1-10.ec2.internal."""
    return f"ip-{str(address).replace('.', '-')}.{m.EC2_INTERNAL}"


def resolve(topology: m.Topology, vpc: str, name: str, kind: str = "A") -> Answer:
    """The answer of ``vpc``'s resolver to a query for ``name`` of type ``kind``."""
    wanted, chain = domain(name), []
    for _ in range(MAX_CNAMES):
        records = records_at(topology, vpc, wanted)
        alias = next((r for r in records if r.type == "CNAME"), None)
        if alias is not None and kind != "CNAME":
            chain.append(alias)
            wanted = alias.values[0]
            continue
        if not records:
            return Answer("NXDOMAIN", tuple(chain))
        return Answer("NOERROR", tuple(chain) + tuple(r for r in records if r.type == kind))
    return Answer("NOERROR", tuple(chain))


def records_at(topology: m.Topology, vpc: str, name: str) -> list[m.DnsRecord]:
    """Every record of ``name`` that ``vpc``'s resolver knows: a private zone of the VPC that
    holds the name answers alone for it (the most specific zone); else the instances' names."""
    endpoint = _endpoint_named(topology, vpc, name)
    if endpoint is not None:
        addresses = tuple(str(interface.ip) for interface in endpoint.interfaces)
        return [m.DnsRecord(name, "A", addresses, INSTANCE_TTL)]
    balancer = next(
        (b for b in topology.network_load_balancers if name == f"{b.name.lower()}.{topology.dns_domain}"),
        None,
    )
    if balancer is not None:
        return [m.DnsRecord(name, "A", tuple(str(node.ip) for node in balancer.nodes), INSTANCE_TTL)]
    interfaces = [
        i for i in topology.instances if i.private_dns and i.vpc == vpc and i.service_dns_name == name
    ]
    if interfaces:  # an interface endpoint's private DNS: the AWS service's name, in its VPC
        return [m.DnsRecord(name, "A", tuple(str(i.ip) for i in interfaces), INSTANCE_TTL)]
    service = _service_named(topology, name)
    if service is not None:
        return [m.DnsRecord(name, "A", (str(service.ip),), SERVICE_TTL)]
    zones = [
        z for z in topology.hosted_zones if vpc in z.vpcs and (name == z.name or name.endswith("." + z.name))
    ]
    if zones:
        zone = max(zones, key=lambda z: len(z.name))
        return [record for record in zone.records if record.name == name]
    for instance in topology.instances:
        ip, mine = instance.ip, instance.vpc == vpc
        if ip is not None and mine and name == ip.reverse_pointer:  # 4.1.0.10.in-addr.arpa
            return [m.DnsRecord(name, "PTR", (private_hostname(ip),), INSTANCE_TTL)]
        if ip is not None and mine and name == private_hostname(ip):  # an IPv4 name: A only
            return [m.DnsRecord(name, "A", (str(ip),), INSTANCE_TTL)]
        if name == f"{instance.name.lower()}.{topology.dns_domain}":  # A, AAAA: its addresses
            return [
                m.DnsRecord(name, "A" if a.version == 4 else "AAAA", (str(a),), INSTANCE_TTL)
                for a in instance.addresses
            ]
    return []


def _service_named(topology: m.Topology, name: str):
    """The AWS service (S3, DynamoDB) whose public name ``name`` is: ``s3.REGION.amazonaws.com``
    (a bucket's ``BUCKET.s3.REGION.amazonaws.com`` too), ``dynamodb.REGION.amazonaws.com``."""
    for service in topology.aws_services:
        own = f"{service.service}.{service.region}.amazonaws.com"
        if name == own or (service.service == "s3" and name.endswith("." + own)):
            return service
    return None


def _endpoint_named(topology: m.Topology, vpc: str, name: str):
    """The interface endpoint ``name`` stands for: its service's private DNS name in its own VPC
    (with private DNS enabled), or its YAML name under ``dns_domain`` from anywhere."""
    for endpoint in topology.vpc_endpoints:
        service = topology.endpoint_service(endpoint.service)
        private = endpoint.vpc == vpc and endpoint.private_dns_enabled and name == service.private_dns_name
        if private or name == f"{endpoint.name.lower()}.{topology.dns_domain}":
            return endpoint
    return None
