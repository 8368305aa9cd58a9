"""What `verify` probes, decided without a network (pure, so unit tests can check coverage).

For every ordered pair of instances and each of TCP and UDP, the destination port space is cut
wherever a rule that can decide the pair starts or ends a port range (the source's SG egress,
the target's SG ingress, every NACL); one port inside every segment is probed. The client port
space (Linux's ephemeral range) is cut by every NACL rule exactly as `trace` cuts it for
``ports_failing``; one client port of every segment is probed against a destination port the
forward path accepts. ICMP echo and every other IP protocol a rule names are probed once per
pair; where the path carries less than both ends (a transit gateway), a ping of the path MTU
and one a byte longer (``mtu`` probes, Don't Fragment). Every source also pings an unassigned
address and the VPC router (.1) of every subnet, sends one packet with a spoofed source address
that the target must never hear, and asks its VPC's resolver for every private zone name,
endpoint services' private DNS names, instance names and a name nobody has (``dns`` probes: the
answer must be the one ``vpclab.intent.dns`` gives, or none without DNS support). Every source
calls every endpoint interface on each of its NLB's listeners and on a port none has; every
instance of a service's VPC calls its NLB's nodes, which must not answer (``endpoint`` probes).

Dual stack: every pair whose two ends have IPv6 addresses is probed over IPv6 too, with the
same ports and an ICMPv6 echo (an IPv6-only instance: over IPv6 only). The address, spoofing
and DNS probes stay IPv4's.

Internet hosts are endpoints too: each probes every instance (at its public IP, or at its
private IP where it has none, which the internet must not route) and every instance probes
each of them, always, sampled or not. So are on-premises sites' hosts, at their own addresses.

A large design can be sampled: ``sample`` ordered pairs, spread over the pairs of equivalence
classes (instances trace cannot tell apart), with the address probes of those pairs' sources
towards their targets' subnets, and the DNS queries of one of those sources per VPC.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from itertools import pairwise
from typing import Optional

from vpclab.intent import model as m
from vpclab.intent.dns import private_hostname
from vpclab.intent.values import PORTED_PROTOCOLS
from vpclab.oracle.reach import equivalence_classes
from vpclab.oracle.trace import RETURN, Endpoint, client_port_segments, mtu_of, trace

ICMP = m.PROTOCOL_NUMBERS["icmp"]
ICMPV6 = m.PROTOCOL_NUMBERS["icmpv6"]
UDP = m.PROTOCOL_NUMBERS["udp"]
DNS_PORT = 53
PORT_SPACE = (0, 65535)


@dataclass(frozen=True)
class Probe:
    """One packet exchange from ``source`` to ``address`` (owned by ``target``, if anyone)."""

    kind: str  # port | client-port | icmp | mtu | ip | unassigned | router | spoofed | dns | endpoint
    source: str
    target: Optional[str]
    address: m.IPAddress
    protocol: int
    port: Optional[int] = None
    client_port: Optional[int] = None
    spoofed_source: Optional[IPv4Address] = None
    frames: bool = False  # leaves as frames to the router: a socket would not leave the host
    segment: Optional[tuple[int, int]] = None  # the destination ports ``port`` stands for
    # A protocol without ports is tracked by its two addresses only, so b -> a passes as the
    # reply of a -> b (whichever VPCs own those addresses): the probes from the higher address
    # run later, after the cards forget their connections.
    later: bool = False
    query: Optional[str] = None  # a dns probe: the name asked
    size: Optional[int] = None  # an mtu probe: the ping's IP length (Don't Fragment set)

    @property
    def label(self) -> str:
        if self.query is not None:
            return f"dns {self.query}"
        text = m.protocol_label(self.protocol) + (f"/{self.port}" if self.port is not None else "")
        text += f" of {self.size} bytes" if self.size is not None else ""
        text += " over IPv6" if self.address.version == 6 and self.protocol != ICMPV6 else ""
        return text + (f" from {self.spoofed_source}" if self.spoofed_source else "")

    @property
    def named(self) -> bool:
        """Does a live answer name who answered (a listener's reply), or only that someone did?"""
        return self.protocol not in (ICMP, ICMPV6) and not self.frames


@dataclass
class Coverage:
    """How much of each pair's port space the probes cover, and what they leave out."""

    destination_segments: int = 0
    client_segments: int = 0
    client_segments_unreachable: int = 0  # the forward path drops every port: replies never come
    uncovered: list[str] = field(default_factory=list)


@dataclass
class Plan:
    probes: list[Probe]
    listeners: dict[str, dict[int, set[int]]]  # instance -> protocol -> ports (raw IP: empty)
    coverage: Coverage
    sampled: Optional[str] = None  # what a sample covers, e.g. '300 of 261,632 pairs (...)'


Pair = tuple[Endpoint, Endpoint]
InstancePair = tuple[m.Instance, m.Instance]


def address_of(source: Endpoint, target: Endpoint) -> IPv4Address:
    """The address ``source`` reaches ``target`` at: from the internet, its public IP. (And so
    the address ``target`` sees ``source`` at is ``address_of(target, source)``: an instance
    with a public IP is that address to the internet, which Probe.later compares.)"""
    if isinstance(source, m.InternetHost) and isinstance(target, m.Instance) and target.public_ip:
        return target.public_ip
    assert isinstance(target.ip, IPv4Address)  # IPv4 pairs only (``ipv4_pairs``)
    return target.ip


def ipv4_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    """The pairs whose two ends both have an IPv4 address (an IPv6-only instance has none)."""
    return [(s, t) for s, t in pairs if s.ip is not None and t.ip is not None]


def ipv6_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    """The pairs whose two ends both have an IPv6 address: probed over IPv6 too."""
    return [(s, t) for s, t in pairs if getattr(s, "ipv6", None) and getattr(t, "ipv6", None)]


def internet_pairs(topology: m.Topology) -> list[Pair]:
    """Every internet host to every instance, and back."""
    return [
        pair
        for outside in topology.internet_hosts
        for instance in topology.instances
        for pair in ((outside, instance), (instance, outside))
        # an AWS service (its endpoint interface, or S3's host) answers and opens nothing
        if (pair[0] is outside and outside.service is None)
        or (pair[1] is outside and instance.service is None)
    ]


def site_pairs(topology: m.Topology) -> list[Pair]:
    """Every on-premises site's host to every instance, and back (an AWS service's endpoint
    interface answers and opens nothing)."""
    return [
        pair
        for site_host in topology.hybrid.hosts
        for instance in topology.instances
        for pair in ((site_host, instance), (instance, site_host))
        if pair[0] is site_host or instance.service is None
    ]


def ordered_pairs(topology: m.Topology) -> list[InstancePair]:
    return [(s, t) for s in topology.senders for t in topology.instances if s != t]


def sampled_pairs(topology: m.Topology, count: int, seed: int) -> tuple[list[InstancePair], str]:
    """``count`` ordered pairs: one of every pair of equivalence classes (in a seeded order)
    before a second of any; and a sentence saying what they cover."""
    classes = {i.name: n for n, group in enumerate(equivalence_classes(topology)) for i in group}
    by_classes: dict[tuple[int, int], list[InstancePair]] = defaultdict(list)
    every = ordered_pairs(topology)
    for source, target in every:
        by_classes[classes[source.name], classes[target.name]].append((source, target))
    rng = random.Random(seed)
    queues = list(by_classes.values())
    rng.shuffle(queues)
    for queue in queues:
        rng.shuffle(queue)
    chosen: list[InstancePair] = []
    for rank in range(max(map(len, queues), default=0)):
        if len(chosen) >= count:
            break
        chosen += [queue[rank] for queue in queues if rank < len(queue)][: count - len(chosen)]
    covered = len({(classes[s.name], classes[t.name]) for s, t in chosen})
    return chosen, (
        f"{len(chosen):,} of {len(every):,} pairs, covering {covered:,} of {len(queues):,} "
        "pairs of equivalence classes"
    )


def segments(ranges: Iterable[tuple[int, int]], low: int, high: int) -> list[tuple[int, int]]:
    """Split ``low..high`` wherever one of ``ranges`` starts or ends: within one segment every
    rule matches all ports or none, so one port stands for the whole segment."""
    cuts = {low, high + 1}
    for start, end in ranges:
        cuts.update({start, end + 1})
    edges = sorted(cut for cut in cuts if low <= cut <= high + 1)
    return [(start, end - 1) for start, end in pairwise(edges)]


def destination_segments(topology: m.Topology, source: Endpoint, target: Endpoint, protocol: int):
    """The destination-port segments that the pair's SG rules, every NACL rule and every
    appliance's inbound SG rules cut (an appliance a route names decides what it forwards by
    those: a path through it may open one port only)."""
    rules: list[m.SGRule | m.NaclRule] = []
    for ref in getattr(source, "security_groups", ()):  # an internet host has none
        rules += topology.security_group(ref).egress
    for ref in getattr(target, "security_groups", ()):
        rules += topology.security_group(ref).ingress
    rules += [r for vpc in topology.vpcs for nacl in vpc.nacls for r in nacl.ingress + nacl.egress]
    appliances = {r.instance for v in topology.vpcs for t in v.route_tables for r in t.routes if r.instance}
    for name in sorted(appliances):
        for ref in topology.instance(name).security_groups:
            rules += topology.security_group(ref).ingress
    ranges = [r.traffic.ports for r in rules if r.traffic.protocol == protocol and r.traffic.ports]
    return segments(ranges, *PORT_SPACE)


def other_protocols(topology: m.Topology) -> list[int]:
    """IP protocols other than ICMP, TCP and UDP that some rule names (e.g. 47 GRE, 50 ESP);
    not ICMPv6, IPv6's own ICMP (an IPv4 packet of protocol 58 means nothing to anyone)."""
    named: set[int] = set()
    for vpc in topology.vpcs:
        for group in vpc.security_groups:
            named.update(r.traffic.protocol for r in group.ingress + group.egress if r.traffic.protocol)
        for nacl in vpc.nacls:
            named.update(r.traffic.protocol for r in nacl.ingress + nacl.egress if r.traffic.protocol)
    return sorted(named - {ICMP, m.PROTOCOL_NUMBERS["icmpv6"], *PORTED_PROTOCOLS})


def unowned_address(topology: m.Topology, subnet: m.Subnet) -> Optional[IPv4Address]:
    """An address of ``subnet`` that is neither reserved nor any instance's (nor PrivateLink's),
    in any VPC."""
    owned = {instance.ip for instance in topology.instances}
    owned |= {interface.ip for interface in topology.endpoint_interfaces}
    owned |= {n.ip for n in topology.load_balancer_nodes}
    taken = owned | subnet.reserved_addresses
    return next((a for a in subnet.ipv4.hosts() if a not in taken), None)


class _ClientPorts:
    """Client ports of one source: inside the asked segment, never one of its own listening
    ports (the bind would fail), and each one new while the segment has unused ports."""

    def __init__(self, listening: set[int], rng: random.Random):
        self.listening, self.used, self.rng = listening, set(listening), rng

    def take(self, low: int, high: int) -> Optional[int]:
        low = max(low, 1)
        if low > high:
            return None
        span, start = high - low + 1, self.rng.randint(low, high)
        tries = lambda: (low + (start - low + k) % span for k in range(min(span, 4096)))
        port = next((p for p in tries() if p not in self.used), None)
        if port is None:  # the segment is used up: share a port (the remote end differs)
            port = next((p for p in tries() if p not in self.listening), None)
        if port is not None:
            self.used.add(port)
        return port


def _addresses(end) -> tuple:
    """An end's own addresses, either family (an instance's, a host's)."""
    return tuple(a for a in (end.ip, getattr(end, "ipv6", None)) if a is not None)


def representative(low: int, high: int, protocol: int, seed: int) -> Optional[int]:
    """The port that stands for a segment (the same for every pair, so listeners stay few)."""
    low = max(low, 1)
    if low > high:
        return None
    return random.Random(f"{seed}:{protocol}:{low}:{high}").randint(low, high)


Representatives = dict[tuple[str, str, int], list[tuple[int, int, Optional[int]]]]


def plan(topology: m.Topology, seed: int = 0, sample: Optional[int] = None) -> Plan:
    coverage = Coverage()
    sampled = None
    if sample is None:
        pairs = ordered_pairs(topology)
        towards = [(s, subnet) for s in topology.senders for v in topology.vpcs for subnet in v.subnets]
    else:
        pairs, sampled = sampled_pairs(topology, sample, seed)
        towards = list(dict.fromkeys((s, topology.vpc(t.vpc).subnet(t.subnet)) for s, t in pairs))
    towards = [(s, subnet) for s, subnet in towards if s.ip is not None and subnet.cidr is not None]
    every_pair: list[Pair] = [*pairs, *internet_pairs(topology), *site_pairs(topology)]
    endpoint_pairs, v6_pairs = ipv4_pairs(every_pair), ipv6_pairs(every_pair)
    wanted = _destination_ports(topology, list(dict.fromkeys(endpoint_pairs + v6_pairs)), seed, coverage)
    extra = other_protocols(topology)
    listeners = _listeners(topology, wanted, extra)
    rng = random.Random(seed)
    everyone = (*topology.endpoints, *topology.hybrid.hosts)
    client_ports = {  # one allocator per address: twins in two VPCs never share a 5-tuple
        (address, p): _ClientPorts(
            set().union(*(listeners[t.name].get(p, set()) for t in everyone if address in _addresses(t))),
            rng,
        )
        for i in everyone
        for address in _addresses(i)
        for p in PORTED_PROTOCOLS
    }
    client_cuts = client_port_segments(topology, m.EPHEMERAL_PORTS)

    def ported(base: Probe, source_address) -> list[Probe]:
        """The TCP and UDP probes of a pair, from ``source_address`` (its family's)."""
        assert base.target is not None  # a pair's probe names its target
        return [
            probe
            for protocol in PORTED_PROTOCOLS
            for probe in _port_probes(
                topology,
                replace(base, protocol=protocol),
                wanted[base.source, base.target, protocol],
                client_cuts,
                client_ports[source_address, protocol],
                coverage,
            )
        ]

    probes: list[Probe] = []
    for source, target in endpoint_pairs:
        address = address_of(source, target)
        base = Probe("icmp", source.name, target.name, address, ICMP, frames=source.ip == address)
        probes.append(base)
        probes += _mtu_probes(topology, source, target, base)
        later = int(address_of(target, source)) > int(address)  # see Probe.later
        probes += [replace(base, kind="ip", protocol=protocol, later=later) for protocol in extra]
        probes += ported(base, source.ip)
    for source, target in v6_pairs:  # the same ports over IPv6, and a ping (ICMPv6 echo)
        assert not isinstance(source, m.SiteHost) and not isinstance(target, m.SiteHost)
        assert source.ipv6 is not None and target.ipv6 is not None
        base = Probe("icmp", source.name, target.name, target.ipv6, ICMPV6)
        probes.append(base)
        probes += ported(base, source.ipv6)
    probes += list(_address_probes(topology, towards))
    instances = (s for s, _ in endpoint_pairs if isinstance(s, m.Instance))
    sources = list(dict.fromkeys(instances))
    probes += list(_spoofed_probes(topology, sources, probes))
    if sample is not None:  # a sample asks one resolver of each VPC it probes from
        sources = list({source.vpc: source for source in reversed(sources)}.values())[::-1]
    probes += list(resolver_probes(topology, sources))
    probes += list(endpoint_probes(topology, sources, listeners, client_ports))
    return Plan(probes, listeners, coverage, sampled)


def _mtu_probes(topology: m.Topology, source: Endpoint, target: Endpoint, ping: Probe) -> list[Probe]:
    """Where something on the path carries less than both ends (a transit gateway), a ping
    of exactly the path MTU and one a byte longer, with Don't Fragment (``mtu`` probes)."""
    verdict = trace(topology, source, ping.address, ICMP)
    reached = verdict.delivered_to  # the address may reach another endpoint than the one named
    ends = min(mtu_of(source), mtu_of(topology.endpoint(reached) if reached else target))
    path_mtu, _ = verdict.path_mtu or (ends, "")
    if path_mtu >= ends:
        return []
    return [replace(ping, kind="mtu", size=size) for size in (path_mtu, path_mtu + 1)]


def endpoint_probes(
    topology: m.Topology, sources: list[m.Instance], listeners, client_ports
) -> Iterator[Probe]:
    """Each source calls every endpoint interface on each listener and on a port no listener
    has, and every NLB node on a listener (the one-way check); each target listens on its
    listeners' target ports."""
    for service in topology.endpoint_services:
        balancer = service.load_balancer
        calls = _listened(balancer, listeners)
        first = balancer.listeners[0]
        interfaces = [i for i in topology.endpoint_interfaces if i.service == service.name]
        for source in sources:
            for interface in interfaces:
                if source.vpc != interface.vpc and topology.vpc(source.vpc).contains(interface.ip):
                    continue  # overlapping VPCs: there the address is the source VPC's own
                for protocol, port in calls:
                    client = client_ports[source.ip, protocol].take(*m.EPHEMERAL_PORTS)
                    yield Probe("endpoint", source.name, interface.name, interface.ip, protocol, port, client)
            if source.vpc == service.vpc:
                for node in balancer.nodes:
                    client = client_ports[source.ip, first.protocol].take(*m.EPHEMERAL_PORTS)
                    target = f"{balancer.name}/{node.subnet}"
                    yield Probe("endpoint", source.name, target, node.ip, first.protocol, first.port, client)
    yield from _direct_probes(topology, sources, listeners, client_ports)


def _listened(balancer: m.LoadBalancer, listeners) -> list[tuple[int, int]]:
    """Make each target listen on its listeners' target ports; the calls to make: (protocol,
    port) of each listener, and of a port no listener has."""
    for listener in balancer.listeners:
        for name in balancer.targets:
            listeners[name].setdefault(listener.protocol, set()).add(listener.target_port)
    first = balancer.listeners[0]
    unheard = next(p for p in range(first.port + 1, 65536) if balancer.listener(first.protocol, p) is None)
    return [(x.protocol, x.port) for x in balancer.listeners] + [(first.protocol, unheard)]


def _direct_probes(
    topology: m.Topology, sources: list[m.Instance], listeners, client_ports
) -> Iterator[Probe]:
    """NLBs reached directly: each source calls every node on each listener and on a port no
    listener has; each target listens on its listeners' target ports."""
    for balancer in topology.network_load_balancers:
        calls = _listened(balancer, listeners)
        for source in sources:
            for node in balancer.nodes:
                if source.vpc != balancer.vpc and topology.vpc(source.vpc).contains(node.ip):
                    continue  # overlapping VPCs: there the address is the source VPC's own
                for protocol, port in calls:
                    client = client_ports[source.ip, protocol].take(*m.EPHEMERAL_PORTS)
                    target = f"{balancer.name}/{node.subnet}"
                    yield Probe("endpoint", source.name, target, node.ip, protocol, port, client)


ZONE_NAMES_PER_SOURCE = 6


def resolver_probes(topology: m.Topology, sources: Iterable[m.Instance]) -> Iterator[Probe]:
    """Each source asks its VPC's resolver (base + 2) for private zone names (of every zone,
    associated with its VPC or not), another instance's YAML name, its own EC2 hostname and
    another VPC's, and a name nobody has."""
    zone_names = list(
        dict.fromkeys(r.name for z in topology.hosted_zones for r in z.records if r.type in ("A", "CNAME"))
    )[:ZONE_NAMES_PER_SOURCE]
    zone_names += [s.private_dns_name for s in topology.endpoint_services if s.private_dns_name]
    for source in (s for s in sources if not s.stopped):  # a stopped one asks nothing
        vpc = topology.vpc(source.vpc)
        others = [i for i in topology.instances if i.name != source.name and i.ip is not None]
        names = [*zone_names, f"nobody.{topology.dns_domain}", private_hostname(source.ip)]
        names += [f"{i.name}.{topology.dns_domain}" for i in others[:1]]
        names += [private_hostname(i.ip) for i in others if i.vpc != source.vpc][:1]
        for name in names:
            yield Probe("dns", source.name, None, vpc.resolver_address, UDP, port=DNS_PORT, query=name)


def _destination_ports(topology, pairs, seed: int, coverage: Coverage) -> Representatives:
    """Per pair and protocol: every destination segment with the port that stands for it."""
    wanted: Representatives = {}
    for source, target in pairs:
        for protocol in PORTED_PROTOCOLS:
            cuts = destination_segments(topology, source, target, protocol)
            reps = [(low, high, representative(low, high, protocol, seed)) for low, high in cuts]
            wanted[source.name, target.name, protocol] = reps
            coverage.uncovered += [
                f"{source.name}->{target.name} {m.protocol_label(protocol)} port {low}-{high}"
                for low, high, port in reps
                if port is None
            ]
    return wanted


def _listeners(topology: m.Topology, wanted: Representatives, extra: list[int]):
    """What each instance (and internet host) listens on: the ports probed at it, and the
    other IP protocols."""
    listeners: dict[str, dict[int, set[int]]] = {
        e.name: {p: set() for p in extra} for e in (*topology.endpoints, *topology.hybrid.hosts)
    }
    for (_, target, protocol), reps in wanted.items():
        ports = listeners[target].setdefault(protocol, set())
        ports.update(port for _, _, port in reps if port is not None)
    return listeners


def _port_probes(
    topology: m.Topology,
    base: Probe,
    reps: list[tuple[int, int, Optional[int]]],
    client_cuts: list[tuple[int, int]],
    ports: _ClientPorts,
    coverage: Coverage,
) -> list[Probe]:
    """One probe per destination segment, then one per client segment that no probe whose
    request gets through has covered yet."""
    source = topology.endpoint(base.source)
    probes = []
    covered: set[tuple[int, int]] = set()
    forward: Optional[tuple[Optional[int], tuple[int, int]]] = None  # a port whose request gets through
    for n, (first, last, port) in enumerate(p for p in reps if p[2] is not None):
        low, high = client_cuts[n % len(client_cuts)]
        client = ports.take(low, high)
        if client is None:
            continue
        probes.append(replace(base, kind="port", port=port, client_port=client, segment=(first, last)))
        coverage.destination_segments += 1
        verdict = trace(topology, source, base.address, base.protocol, port, source_port=client)
        if verdict.accepted or verdict.direction == RETURN:  # the reply's NACLs were reached
            covered.add((low, high))
            forward = forward or (port, (first, last))
    for low, high in client_cuts:
        if (low, high) in covered:
            coverage.client_segments += 1
            continue
        if forward is None:  # the forward path drops every port: no reply is ever sent
            coverage.client_segments_unreachable += 1
            continue
        client = ports.take(low, high)
        if client is None:
            continue
        port, segment = forward
        probes.append(replace(base, kind="client-port", port=port, client_port=client, segment=segment))
        coverage.client_segments += 1
    return probes


def _address_probes(topology: m.Topology, towards: list[tuple[m.Instance, m.Subnet]]) -> Iterator[Probe]:
    """Each (source, subnet): the source pings an unassigned address and the subnet's router;
    no answer may come."""
    for source, subnet in towards:
        unowned = unowned_address(topology, subnet)
        if unowned is not None:
            yield Probe("unassigned", source.name, None, unowned, ICMP)
        yield Probe("router", source.name, None, subnet.router_address, ICMP)


def _spoofed_probes(
    topology: m.Topology, sources: Iterable[m.Instance], probes: list[Probe]
) -> Iterator[Probe]:
    """From each source, a TCP or UDP probe that would reach its target, sent from an unused
    address of the source's subnet: only the Nitro card's source/dest check can stop it."""
    for source in sources:
        subnet = topology.vpc(source.vpc).subnet(source.subnet)
        spoofed = unowned_address(topology, subnet)
        if spoofed is None:
            continue
        reaching = next(
            (
                p
                for p in probes
                if p.source == source.name
                and p.kind == "port"
                and p.address.version == 4
                and not p.frames
                and _delivered_despite_spoofing(topology, source, p, spoofed)
            ),
            None,
        )
        if reaching is not None:
            yield replace(reaching, kind="spoofed", spoofed_source=spoofed, frames=True)


def _delivered_despite_spoofing(topology, source: m.Instance, probe: Probe, spoofed: IPv4Address) -> bool:
    """Would the spoofed request reach its target but for the source check (so that only the
    check can stop it)?"""
    verdict = trace(
        topology, source, probe.address, probe.protocol, probe.port, probe.client_port,
        source_ip=spoofed, check_source=False,
    )  # fmt: skip
    return verdict.delivered_to == probe.target
