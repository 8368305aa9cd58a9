"""Each example topology validates and tells the story its header promises."""

from pathlib import Path

import pytest
from vpc_fixtures import example, verdict

EXAMPLES = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "topologies").glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates(name):
    assert example(name).instances


@pytest.mark.parametrize(
    "name, src, dst, protocol, port, expected",
    [
        ("peering.yaml", "build1", "web1", "tcp", 443, "accepted"),
        ("peering.yaml", "build1", "web1", "icmp", None, "sg-ingress"),
        ("peering.yaml", "web1", "build1", "icmp", None, "accepted"),
        ("not-transitive.yaml", "a1", "c1", "icmp", None, "not-transitive"),
        ("not-transitive.yaml", "a1", "b1", "icmp", None, "accepted"),
        ("not-transitive.yaml", "b1", "c1", "icmp", None, "accepted"),
        ("tgw-peering.yaml", "shop1", "ledger1", "tcp", 5432, "accepted"),
        ("tgw-peering.yaml", "stock1", "ledger1", "icmp", None, "tgw-no-route"),
        ("tgw-peering.yaml", "shop1", "ledger1", "tcp", 22, "sg-ingress"),
        ("gateway-endpoint.yaml", "batch1", "192.0.2.10", "tcp", 443, "accepted"),
        ("gateway-endpoint.yaml", "web1", "192.0.2.10", "tcp", 443, "accepted"),
        ("gateway-endpoint.yaml", "worker1", "192.0.2.10", "tcp", 443, "not-transitive"),
        ("gateway-endpoint.yaml", "batch1", "192.0.2.10", "tcp", 80, "sg-egress"),
        ("tgw-blackhole.yaml", "app1", "svc1", "icmp", None, "accepted"),
        ("tgw-blackhole.yaml", "app1", "db1", "icmp", None, "tgw-blackhole"),
        ("tgw-blackhole.yaml", "app2", "svc1", "icmp", None, "tgw-az-not-attached"),
        ("tgw-blackhole.yaml", "svc1", "db1", "tcp", 5432, "accepted"),
        ("inspection.yaml", "app1", "data1", "tcp", 5432, "accepted"),
        ("inspection.yaml", "data1", "app1", "tcp", 5432, "accepted"),
        ("inspection.yaml", "mon1", "data1", "tcp", 5432, "sg-ingress"),
        ("inspection.yaml", "app1", "mon1", "icmp", None, "accepted"),
        ("three-tier.yaml", "web1", "app1", "tcp", 8080, "accepted"),
        ("three-tier.yaml", "app1", "db1", "tcp", 5432, "nacl-egress"),
        ("three-tier.yaml", "web1", "db1", "tcp", 5432, "nacl-ingress"),
        ("open-sg.yaml", "job1", "old1", "tcp", 22, "accepted"),
        ("open-sg.yaml", "job1", "vault1", "tcp", 22, "nacl-ingress"),
        ("open-sg.yaml", "bastion1", "vault1", "tcp", 22, "accepted"),
        ("path-failover.yaml", "app1", "svc1", "tcp", 8080, "accepted"),
        ("path-failover.yaml", "app1", "svc1", "tcp", 22, "sg-ingress"),
        ("private-dns.yaml", "web1", "db1", "tcp", 5432, "accepted"),
        ("private-dns.yaml", "build1", "db1", "tcp", 5432, "sg-ingress"),
        ("private-dns.yaml", "old1", "web1", "icmp", None, "no-route"),
    ],
)
def test_example_story(name, src, dst, protocol, port, expected):
    result = verdict(example(name), src, dst, protocol, port)
    assert ("accepted" if result.accepted else result.reason) == expected


def test_three_tier_loses_replies_to_low_ephemeral_ports():
    result = verdict(example("three-tier.yaml"), "app1", "db1", "tcp", 5432)
    assert (result.direction, result.ports_failing) == ("return", "32768-49151")


def test_verify_probes_of_the_examples_include_drops():
    """`verify` must see drops live, not only accepts: trace expects some in nearly every
    example (the live test then requires live to agree on each probe)."""
    from vpclab.verify.live import expected
    from vpclab.verify.plan import plan

    with_drops = 0
    for name in EXAMPLES:
        topology = example(name)
        probes = [p for p in plan(topology).probes if p.target is not None and p.kind != "spoofed"]
        with_drops += any(not expected(topology, probe)[0] for probe in probes)
    assert with_drops >= len(EXAMPLES) - 1
