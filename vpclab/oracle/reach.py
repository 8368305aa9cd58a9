"""Every ordered pair of instances and on-premises hosts at once: the reachability matrix, with
trace's verdict and reason.

Instances that no rule, route or address lookup can tell apart get the same verdict, so the
matrix traces one pair per pair of equivalence classes instead of every pair. Two instances are
equivalent when they share VPC, subnet and security groups and sit on the same side of every
CIDR the design names (rules, routes, VPC and subnet ranges). An instance whose address another
VPC reuses is a class of its own: whom a misrouted packet meets depends on both ends' addresses.
``pair_verdict`` is the one definition of a pair's verdict; ``reach`` only chooses which pairs
to ask it about. A site's host is a class of its own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from vpclab.intent import model as m

from .packet import address_for
from .trace import trace

ELSEWHERE = "another-instance"  # accepted, but the address led to another instance


@dataclass(frozen=True)
class PairVerdict:
    accepted: bool
    reason: Optional[str]  # None when accepted
    rule: Optional[str]  # the deciding YAML object (the admitting SG rule when accepted)


Endpoint = m.Instance | m.SiteHost


@dataclass
class Reach:
    verdicts: dict[tuple[str, str], PairVerdict]  # (source, target) -> verdict, every ordered pair
    classes: list[list[Endpoint]]  # the equivalence classes the verdicts were traced for
    traces: int
    seconds: float


def pair_verdict(
    topology: m.Topology,
    source: Endpoint,
    target: Endpoint,
    protocol: int,
    port: Optional[int],
    ipv6: bool = False,
) -> PairVerdict:
    """Does ``source`` reach ``target`` (request and reply, by trace), at its IPv4 address or
    (``ipv6``) its IPv6 one? A packet that is accepted but delivered to another instance owning
    the same address does not reach the target."""
    address = address_for(target, ipv6)
    if address is None:
        return PairVerdict(False, "no-ipv6" if ipv6 else "no-ipv4", target.origin)
    verdict = trace(topology, source, address, protocol, port)
    if verdict.accepted and verdict.delivered_to != target.name:
        return PairVerdict(False, ELSEWHERE, verdict.rule)
    return PairVerdict(verdict.accepted, verdict.reason, verdict.rule)


def equivalence_classes(topology: m.Topology) -> list[list[Endpoint]]:
    """Instances grouped so that any two of a group are interchangeable to trace; each site
    host alone."""
    networks = sorted(
        _named_networks(topology), key=lambda n: (n.version, int(n.network_address), n.prefixlen)
    )
    owners: dict[object, set[str]] = defaultdict(set)
    for instance in topology.instances:
        for address in instance.addresses:
            owners[address].add(instance.vpc)
    groups: dict[tuple, list[m.Instance]] = defaultdict(list)
    for instance in topology.instances:
        key = (
            instance.vpc,
            instance.subnet,
            frozenset(instance.security_groups),
            instance.state,  # a stopped instance sends and answers nothing
            tuple(any(a in network for a in instance.addresses) for network in networks),
            # a reused address: alone
            instance.name if any(len(owners[a]) > 1 for a in instance.addresses) else None,
        )
        groups[key].append(instance)
    found: list[list[Endpoint]] = [list(group) for group in groups.values()]
    return found + [[site_host] for site_host in topology.hybrid.hosts]


def reach(topology: m.Topology, protocol: int, port: Optional[int] = None, ipv6: bool = False) -> Reach:
    """The verdict of every ordered pair of distinct instances, one trace per class pair, in
    IPv4 or (``ipv6``) in IPv6."""
    started = time.perf_counter()
    classes = equivalence_classes(topology)
    verdicts: dict[tuple[str, str], PairVerdict] = {}
    traces = 0
    for sources in classes:
        for targets in classes:
            pair = _representatives(sources, targets)
            if pair is None:  # one instance, asked about itself
                continue
            verdict = pair_verdict(topology, *pair, protocol, port, ipv6)
            traces += 1
            for source in sources:
                for target in targets:
                    if source.name != target.name:
                        verdicts[source.name, target.name] = _as_for(verdict, pair, (source, target))
    return Reach(verdicts, classes, traces, time.perf_counter() - started)


def _as_for(verdict: PairVerdict, asked: tuple, meant: tuple) -> PairVerdict:
    """The representatives' verdict, told of another pair of the same classes: a deciding object
    that belongs to a representative (its ``security_groups`` list) is that of the pair's own."""
    rule = verdict.rule
    if rule is None or ".instances[" not in rule:
        return verdict
    for representative, instance in zip(asked, meant, strict=True):
        if rule and (rule == representative.origin or rule.startswith(representative.origin + ".")):
            rule = instance.origin + rule[len(representative.origin) :]
    return verdict if rule == verdict.rule else PairVerdict(verdict.accepted, verdict.reason, rule)


def _representatives(sources: list[Endpoint], targets: list[Endpoint]) -> Optional[tuple[Endpoint, Endpoint]]:
    """Two distinct instances, one of each group (None if both groups are one same instance)."""
    for source in sources:
        for target in targets:
            if source.name != target.name:
                return source, target
    return None


def _named_networks(topology: m.Topology) -> set[m.IPNetwork]:
    """Every CIDR the design names, of either family: a rule, a route, a VPC or subnet range."""
    networks: set[m.IPNetwork] = set()
    for vpc in topology.vpcs:
        networks.update(vpc.all_cidrs)
        networks.update(subnet.cidr for subnet in vpc.subnets if subnet.cidr is not None)
        networks.update(subnet.ipv6_cidr for subnet in vpc.subnets if subnet.ipv6_cidr is not None)
        networks.update(route.destination for table in vpc.route_tables for route in table.routes)
        for group in vpc.security_groups:
            networks.update(rule.cidr for rule in group.ingress + group.egress if rule.cidr is not None)
        for nacl in vpc.nacls:
            networks.update(rule.cidr for rule in nacl.ingress + nacl.egress)
    for tgw in topology.transit_gateways:
        networks.update(route.destination for table in tgw.route_tables for route in table.static_routes)
    return networks
