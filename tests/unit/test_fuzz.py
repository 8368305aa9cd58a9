"""The fuzzer's generator makes valid, varied designs; its shrinker keeps what still fails."""

from collections import Counter

import pytest
import yaml
from fakeswitch import assert_cards_decide_ipv6_like_trace, assert_cards_decide_like_trace

from vpclab.fuzz.generate import generate
from vpclab.fuzz.shrink import shrink, variants
from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import load_topology

SEEDS = range(200)


def load(data):
    return load_topology("fuzz.yaml", yaml.safe_dump(data, sort_keys=False))


def valid(data) -> bool:
    try:
        load(data)
    except TopologyError:
        return False
    return True


def features(data) -> set[str]:
    """Which of the fuzzer's promised ingredients one design has."""
    topology = load(data)
    found = set()
    cidrs = Counter(c for vpc in topology.vpcs for c in vpc.cidrs)
    if any(n > 1 for n in cidrs.values()):
        found.add("reused CIDR")
    if any(len(vpc.cidrs) > 1 for vpc in topology.vpcs):
        found.add("secondary CIDR")
    if topology.peerings:
        found.add("peering")
    for tgw in topology.transit_gateways:
        found.add("tgw")
        if len(tgw.route_tables) > 1:
            found.add("several tgw tables")
        if any(r.blackhole for t in tgw.route_tables for r in t.static_routes):
            found.add("tgw blackhole")
        if any(t.name == "insp" for t in tgw.route_tables):
            found.add("inspection hairpin")
        if tgw.security_group_referencing_support:
            found.add("tgw sg referencing")
        if any(not a.security_group_referencing_support for a in tgw.attachments):
            found.add("attachment referencing off")
    if topology.ipv6_holders:
        found.add("dual stack")
    for vpc in topology.vpcs:
        if any(subnet.ipv6_native for subnet in vpc.subnets):
            found.add("ipv6-only subnet")
        if vpc.egress_only_internet_gateway:
            found.add("egress-only internet gateway")
        if any(r.peering and r.destination.version == 6 for t in vpc.route_tables for r in t.routes):
            found.add("ipv6 peering route")
        if any(r.blackhole for t in vpc.route_tables for r in t.routes):
            found.add("blackhole")
        rules = [r for n in vpc.nacls for r in n.ingress + n.egress]
        if any(not r.allow for r in rules):
            found.add("nacl deny")
        if any(r.traffic.ports and 32768 < r.traffic.ports[0] <= 60999 for r in rules):
            found.add("partial ephemeral range")
        groups = [r for g in vpc.security_groups for r in g.ingress + g.egress]
        if any(r.security_group is not None for r in groups):
            found.add("sg reference")
        if any(r.traffic.protocol == 47 for r in groups + rules):
            found.add("protocol 47")
        if any(r.traffic.icmp_type is not None for r in groups + rules):
            found.add("icmp type")
        peers = {r.security_group.vpc for g in vpc.security_groups for r in g.ingress if r.security_group}
        if any(not topology_peered(topology, vpc.name, other) for other in peers - {vpc.name}):
            found.add("sg reference across a tgw")
    for service in topology.endpoint_services:
        found.add("privatelink")
        if service.load_balancer.unhealthy:
            found.add("unhealthy target")
        if any(
            e.vpc != service.vpc and topology.vpc(e.vpc).cidrs == topology.vpc(service.vpc).cidrs
            for e in topology.vpc_endpoints
        ):
            found.add("endpoint across one CIDR")
    addresses = Counter(i.ip for i in topology.instances)
    if any(n > 1 for n in addresses.values()):
        found.add("same address twice")
    if topology.internet_hosts and any(vpc.internet_gateway for vpc in topology.vpcs):
        found.add("internet gateway")
    public = Counter(i.ip for i in topology.instances if i.public_ip)
    if any(n > 1 for n in public.values()):
        found.add("twin addresses with public IPs")
    if topology.nat_gateways:
        found.add("nat gateway")
    if len({i.mtu for i in topology.instances}) > 1:
        found.add("mtus that differ")
    if any(not i.source_dest_check for i in topology.instances):
        found.add("appliance")
    routes = [r for vpc in topology.vpcs for t in vpc.route_tables for r in t.routes]
    if any(r.instance for r in routes):
        found.add("middlebox route")
        boxes = Counter(r.instance for r in routes if r.instance)
        if any(n > 1 for n in boxes.values()):
            found.add("middlebox both ways")
    return found


def topology_peered(topology, a: str, b: str) -> bool:
    return any({p.requester, p.accepter} == {a, b} for p in topology.peerings)


def test_every_seed_is_a_valid_topology_and_together_they_mix_every_ingredient():
    seen = Counter()
    for seed in SEEDS:
        data = generate(seed)
        assert valid(data), seed
        assert data == generate(seed)  # a seed always gives the same design
        seen.update(features(data))
    expected = {
        "reused CIDR", "secondary CIDR", "peering", "tgw", "several tgw tables", "tgw blackhole",
        "inspection hairpin", "blackhole", "nacl deny", "partial ephemeral range", "sg reference",
        "protocol 47", "same address twice", "icmp type", "tgw sg referencing",
        "attachment referencing off", "sg reference across a tgw", "privatelink", "unhealthy target",
        "endpoint across one CIDR", "internet gateway", "twin addresses with public IPs", "nat gateway",
        "mtus that differ", "appliance", "middlebox route", "middlebox both ways",
        "dual stack", "ipv6-only subnet", "egress-only internet gateway", "ipv6 peering route",
    }  # fmt: skip
    assert expected <= set(seen), expected - set(seen)
    assert all(seen[f] >= 5 for f in expected), seen


def test_shrinking_removes_everything_that_does_not_matter():
    """With a failure that needs only instance i00 and a TCP rule of its VPC, the shrinker
    strips the rest and never returns an invalid design."""
    data = next(d for d in map(generate, SEEDS) if len(d["vpcs"]) >= 3 and d.get("peerings"))

    def fails(variant) -> bool:
        vpc = next((v for v in variant["vpcs"] if v["name"] == "v0"), None)
        return vpc is not None and any(i["name"] == "i00" for i in vpc["instances"])

    minimal = shrink(data, {"i00"}, fails, valid, budget=500, log=lambda line: None)
    assert valid(minimal) and fails(minimal)
    assert [v["name"] for v in minimal["vpcs"]] == ["v0"]
    assert "peerings" not in minimal or not minimal["peerings"]
    assert [i["name"] for i in minimal["vpcs"][0]["instances"]] == ["i00"]
    assert not any(valid(v) and fails(v) for v in variants(minimal, {"i00"}))  # a local minimum


@pytest.mark.parametrize("seed", [1, 14, 19, 150, 153])
def test_the_fake_cards_decide_like_trace_on_designs_with_appliances(seed):
    """Seeds whose appliances found disagreements once `vpclab fuzz` drew them: an appliance's
    public IP taken by its route's stages (1), a route to an appliance for its own subnet
    delivering to it (14, 19), the NLB skipping a NACL after a consumer's same-subnet hop (150),
    an attachment without a route table dropping before its subnet's NACL (153)."""
    data = generate(seed)
    assert any(not i.get("source_dest_check", True) for v in data["vpcs"] for i in v["instances"])
    assert_cards_decide_like_trace(load_topology(f"fuzz-{seed}.yaml", yaml.safe_dump(data)))


@pytest.mark.parametrize("seed", [15, 34, 181])
def test_the_fake_cards_decide_like_trace_over_ipv6_on_dual_stack_designs(seed):
    """Seeds whose dual-stack designs found disagreements once: an IPv6-only instance beside a
    gateway endpoint (15), an NLB's target reached over IPv6 (34: its SG stage sent it to the
    NLB's IPv4 stages), a reply that leaves one VPC's internet gateway and enters another's
    (181: an internet gateway keeps no state, conntrack called it invalid)."""
    topology = load_topology(f"fuzz-{seed}.yaml", yaml.safe_dump(generate(seed)))
    assert topology.ipv6_holders
    assert assert_cards_decide_ipv6_like_trace(topology) > 0
