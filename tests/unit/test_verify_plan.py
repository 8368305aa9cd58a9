"""What verify probes: every port segment of every pair, every client-port segment, unowned
addresses, routers and spoofed sources (the plan is pure: no network needed)."""

from collections import defaultdict

from designs import GRE_AND_PORT_RANGES
from hypothesis import given
from test_properties import SETTINGS, build, topologies
from vpc_fixtures import load

from vpclab.intent import model as m
from vpclab.oracle.trace import RETURN, client_port_segments, trace
from vpclab.verify.plan import destination_segments, plan, segments

TCP, UDP = 6, 17


def test_segments_split_where_a_range_starts_or_ends():
    assert segments([(1000, 2000)], 0, 65535) == [(0, 999), (1000, 2000), (2001, 65535)]
    assert segments([(0, 65535), (22, 22)], 0, 65535) == [(0, 21), (22, 22), (23, 65535)]
    assert segments([], 32768, 60999) == [(32768, 60999)]


def test_every_segment_the_rules_cut_is_probed_and_other_protocols_too():
    topology = load(GRE_AND_PORT_RANGES)
    probes = plan(topology).probes
    to_web = [p for p in probes if (p.source, p.target, p.protocol) == ("c", "w", TCP)]
    ports = sorted(p.port for p in to_web if p.kind == "port")
    cut = [(0, 999), (1000, 2000), (2001, 39999), (40000, 50000), (50001, 65535)]  # SG, then NACL
    assert len(ports) == len(cut) and all(
        low <= port <= high for port, (low, high) in zip(ports, cut, strict=True)
    )
    assert any(p.kind == "ip" and p.protocol == 47 for p in probes if (p.source, p.target) == ("c", "w"))


@SETTINGS
@given(topologies())
def test_the_plan_covers_every_destination_segment_of_every_pair(data):
    topology = build(data)
    probed = defaultdict(list)
    for probe in plan(topology).probes:
        if probe.kind == "port":
            probed[probe.source, probe.target, probe.protocol].append(probe.port)
    for source in topology.instances:
        for target in topology.instances:
            if source == target:
                continue
            for protocol in (TCP, UDP):
                for low, high in destination_segments(topology, source, target, protocol):
                    inside = [p for p in probed[source.name, target.name, protocol] if low <= p <= high]
                    assert len(inside) == (high >= max(low, 1))


@SETTINGS
@given(topologies())
def test_the_plan_covers_every_client_segment_the_forward_path_lets_through(data):
    topology = build(data)
    by_pair = defaultdict(list)
    for probe in plan(topology).probes:
        if probe.kind in ("port", "client-port"):
            by_pair[probe.source, probe.target, probe.protocol].append(probe)
    for (source, _, protocol), probes in by_pair.items():
        for low, high in client_port_segments(topology, m.EPHEMERAL_PORTS):
            if any(low <= p.client_port <= high for p in probes):
                continue
            for probe in probes:  # uncovered only when no request ever gets through
                verdict = trace(
                    topology, topology.instance(source), probe.address, protocol, probe.port,
                    source_port=probe.client_port,
                )  # fmt: skip
                assert not verdict.accepted and verdict.direction != RETURN


@SETTINGS
@given(topologies())
def test_client_ports_never_collide_with_the_sources_own_listeners(data):
    topology = build(data)
    result = plan(topology)
    for probe in result.probes:
        if probe.client_port is not None:
            assert probe.client_port not in result.listeners[probe.source].get(probe.protocol, set())
            assert m.EPHEMERAL_PORTS[0] <= probe.client_port <= m.EPHEMERAL_PORTS[1]
        if probe.kind in ("port", "client-port"):
            assert probe.port in result.listeners[probe.target][probe.protocol]


@SETTINGS
@given(topologies())
def test_unowned_addresses_and_spoofed_sources_belong_to_nobody(data):
    topology = build(data)
    owned = {i.ip for i in topology.instances}
    for probe in plan(topology).probes:
        if probe.kind == "unassigned":
            assert probe.address not in owned
        if probe.kind == "spoofed":
            assert probe.spoofed_source not in owned and probe.frames
            source = topology.instance(probe.source)
            args = (topology, source, probe.address, probe.protocol, probe.port, probe.client_port)
            assert trace(*args, source_ip=probe.spoofed_source).reason == "spoofed"
            unchecked = trace(*args, source_ip=probe.spoofed_source, check_source=False)
            assert unchecked.delivered_to == probe.target  # only the source check can stop it


def test_a_sample_takes_one_pair_of_every_class_pair_before_a_second_of_any():
    from vpclab.oracle.reach import equivalence_classes
    from vpclab.verify.plan import ordered_pairs, sampled_pairs

    topology = load(
        """
        name: classes
        vpcs:
          - name: v
            cidr: 10.0.0.0/16
            subnets: [{name: a, cidr: 10.0.1.0/24}, {name: b, cidr: 10.0.2.0/24}]
            instances:
              - {name: a1, subnet: a}
              - {name: a2, subnet: a}
              - {name: a3, subnet: a}
              - {name: a4, subnet: a}
              - {name: b1, subnet: b}
              - {name: b2, subnet: b}
        """
    )
    classes = {i.name: n for n, group in enumerate(equivalence_classes(topology)) for i in group}
    assert len(set(classes.values())) == 2  # 30 ordered pairs, 4 pairs of classes

    def class_pairs(pairs):
        return [(classes[s.name], classes[t.name]) for s, t in pairs]

    chosen, said = sampled_pairs(topology, 4, seed=1)
    assert (
        len(set(class_pairs(chosen))) == 4
        and said == "4 of 30 pairs, covering 4 of 4 pairs of equivalence classes"
    )
    more, _ = sampled_pairs(topology, 9, seed=1)
    assert len(set(more)) == 9 and more[:4] == chosen and len(set(class_pairs(more[4:8]))) == 4
    assert sampled_pairs(topology, 9, seed=1)[0] == more != sampled_pairs(topology, 9, seed=2)[0]
    assert sorted(map(str, sampled_pairs(topology, 100, seed=1)[0])) == sorted(
        map(str, ordered_pairs(topology))
    )


def test_a_sampled_plan_probes_only_its_pairs_and_their_targets_subnets():
    from vpc_fixtures import example

    topology = example("three-tier.yaml")
    sampled = plan(topology, seed=3, sample=2)
    pairs = {(p.source, p.target) for p in sampled.probes if p.kind in ("port", "client-port", "icmp", "ip")}
    assert len(pairs) == 2 and sampled.sampled.startswith("2 of 6 pairs")
    subnets = {str(topology.vpc(topology.instance(t).vpc).subnet(topology.instance(t).subnet).router_address)
               for _, t in pairs}  # fmt: skip
    routers = {str(p.address) for p in sampled.probes if p.kind == "router"}
    assert routers <= subnets and {p.source for p in sampled.probes} <= {s for s, _ in pairs}
    assert plan(topology).sampled is None


def test_a_retry_takes_a_fresh_client_port_of_the_same_nacl_segment():
    """A retried TCP or UDP probe must be the same question for trace, yet a new connection
    for the kernels and the cards (the first attempt's may still be closing)."""
    from dataclasses import replace

    from vpclab.verify.live import RetryPorts, expected

    topology = load(GRE_AND_PORT_RANGES)
    probing = plan(topology)
    fresh = RetryPorts(topology, probing.probes, probing.listeners)
    used = {(p.source, p.client_port) for p in probing.probes}
    segments = client_port_segments(topology, m.EPHEMERAL_PORTS)
    ported = [p for p in probing.probes if p.kind in ("port", "client-port") and p.client_port]
    assert ported
    for probe in ported:
        retry = fresh.take(probe)
        assert retry.client_port != probe.client_port and (probe.source, retry.client_port) not in used
        assert replace(retry, client_port=probe.client_port) == probe
        (segment,) = [s for s in segments if s[0] <= probe.client_port <= s[1]]
        assert segment[0] <= retry.client_port <= segment[1]
        assert expected(topology, retry) == expected(topology, probe)
        used.add((probe.source, retry.client_port))
    ping = next(p for p in probing.probes if p.kind == "icmp")
    assert fresh.take(ping) is ping


def test_a_protocol_without_ports_runs_each_way_in_its_own_phase_through_a_public_ip():
    """client -> web's public IP and web -> client are one pair of addresses on the wire
    (web leaves as its public IP): one direction must wait until the cards forgot the other, or
    it passes as its reply (the fuzzer found GRE from the internet accepted so)."""
    topology = load(
        """
        name: gre-edge
        internet: {hosts: [{name: client, ip: 198.51.100.10}]}
        vpcs:
          - name: v
            cidr: 10.1.0.0/16
            internet_gateway: igw
            subnets: [{name: s, cidr: 10.1.1.0/24}]
            route_tables: [{name: rt, main: true, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}]
            security_groups: [{name: out, ingress: [{protocol: 47, cidr: 10.0.0.0/8}]}]
            instances: [{name: web, subnet: s, public_ip: true, security_groups: [out]}]
        """
    )
    gre = {(p.source, p.target): p for p in plan(topology).probes if p.kind == "ip" and p.protocol == 47}
    assert gre["client", "web"].later != gre["web", "client"].later


def test_a_port_that_only_an_appliance_on_the_path_opens_is_probed():
    """web1 -> db1 goes through fw1, whose SG admits tcp/5432 only: that segment must be probed
    (the live middlebox test found verify agreeing without ever trying 5432)."""
    from designs import MIDDLEBOX

    probes = plan(load(MIDDLEBOX)).probes
    ports = {p.port for p in probes if (p.source, p.target, p.kind, p.protocol) == ("web1", "db1", "port", 6)}
    assert 5432 in ports
