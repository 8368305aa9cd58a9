"""Instances launched and terminated, VPCs created and deleted at run time (issue 35): the
runtime changes as the running design takes them. A newcomer moves nothing else: every other
instance keeps its server, addresses, card port, conntrack zone and MAC, and no flow of the
cards is deleted by a launch."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from vpc_fixtures import verdict

from controller.compiler import compile_topology, recompile
from vpclab.intent.changes import Intent
from vpclab.intent.errors import ChangeError, DependencyViolation, TopologyError
from vpclab.intent.loader import topology_from_data
from vpclab.layout.plan import Plan

ROOT = Path(__file__).resolve().parents[2]


def running(name: str) -> Intent:
    return Intent.from_file(str(ROOT / "topologies" / name))


def numbers(intent: Intent) -> dict:
    """Each instance's server, addresses and card numbers."""
    return {
        name: (p.instance.server, str(p.instance.ip), str(p.instance.ipv6), p.port, p.zone, p.mac)
        for name, p in Plan(intent.topology).instances.items()
    }


@pytest.mark.parametrize(
    "design", ["flow-logs.yaml", "two-tier.yaml", "dual-stack.yaml", "payments.yaml", "inspection.yaml"]
)
def test_a_launch_moves_nothing_else_and_deletes_no_flow(design):
    intent = running(design)
    before, compiled = numbers(intent), compile_topology(intent.topology)
    first = intent.topology.instances[0]  # the newcomer joins its groups (no group's bit moves)
    groups = [g.name for g in first.security_groups]
    intent.apply(
        "launch-instance", vpc=first.vpc, subnet=first.subnet, name="newcomer", security_groups=groups
    )
    after = numbers(intent)
    assert {k: v for k, v in after.items() if k != "newcomer"} == before
    assert after["newcomer"][4] not in {zone for *_, zone, _ in before.values()}
    changed = recompile(compiled, intent.topology).changed
    assert all(not diff.delete for diff in changed.values()), {s: d.delete[:2] for s, d in changed.items()}
    assert any(diff.add for diff in changed.values())


def test_the_launched_instance_takes_the_lowest_address_no_interface_holds():
    intent = running("two-tier.yaml")  # web-a: web1 at .4, NAT gateway nat-a at .5
    intent.apply("launch-instance", vpc="shop", subnet="web-a", name="web3", security_groups=["web-sg"])
    assert str(intent.topology.instance("web3").ip) == "10.40.1.6"
    assert str(intent.topology.vpc("shop").nat_gateway("nat-a").ip) == "10.40.1.5"
    assert intent.summary == "launched instance 'web3' in subnet 'web-a' of VPC 'shop' (10.40.1.6)"


def test_a_terminated_instance_leaves_its_numbers_and_routes_to_it_become_blackholes():
    intent = running("inspection.yaml")
    appliance = next(i for i in intent.topology.instances if not i.source_dest_check)
    others = {k: v for k, v in numbers(intent).items() if k != appliance.name}
    intent.apply("terminate-instance", instance=appliance.name)
    assert numbers(intent) == others
    routes = [r for v in intent.topology.vpcs for t in v.route_tables for r in t.routes]
    assert not any(r.instance == appliance.name for r in routes)
    assert any(r.blackhole for r in routes)
    assert "blackholes now" in intent.summary
    # the next launch may take the zone and port it left (its card forgets its connections)
    vpc, subnet = appliance.vpc, appliance.subnet
    intent.apply("launch-instance", vpc=vpc, subnet=subnet, name="later")
    assert numbers(intent)["later"][3:5] == (
        Plan(running("inspection.yaml").topology).instances[appliance.name].port,
        Plan(running("inspection.yaml").topology).instances[appliance.name].zone,
    )


def test_launch_and_terminate_refuse_what_the_design_would_not_hold():
    intent = running("flow-logs.yaml")
    with pytest.raises(ChangeError, match="no subnet 'nowhere' in VPC 'prod'"):
        intent.apply("launch-instance", vpc="prod", subnet="nowhere", name="x")
    with pytest.raises(ChangeError, match="there is an instance named 'db1' already"):
        intent.apply("launch-instance", vpc="prod", subnet="web", name="db1")
    with pytest.raises(ChangeError, match="10.0.1.4"):  # web1's
        intent.apply("launch-instance", vpc="prod", subnet="web", name="x", ip="10.0.1.4")
    with pytest.raises(ChangeError, match="no instance 'nobody'"):
        intent.apply("terminate-instance", instance="nobody")
    assert intent.data == yaml.safe_load((ROOT / "topologies" / "flow-logs.yaml").read_text())


def test_a_vpc_is_created_empty_and_deleted_only_once_it_holds_nothing():
    intent = running("flow-logs.yaml")
    numbers_before = [v.number for v in intent.topology.vpcs]
    intent.apply("create-vpc", name="v9", cidr="10.50.0.0/16")
    assert [v.number for v in intent.topology.vpcs] == [*numbers_before, len(numbers_before) + 1]
    intent.apply("create-subnet", vpc="v9", name="s", cidr="10.50.1.0/24")
    intent.apply("launch-instance", vpc="v9", subnet="s", name="v9a")
    assert verdict(intent.topology, "v9a", "web1").accepted is False  # nothing routes between them
    with pytest.raises(DependencyViolation, match="VPC 'v9' still has subnet s"):
        intent.apply("delete-vpc", name="v9")
    intent.apply("terminate-instance", instance="v9a")
    intent.apply("delete-subnet", vpc="v9", name="s")
    intent.apply("delete-vpc", name="v9")
    assert [v.name for v in intent.topology.vpcs] == ["prod", "dev"]
    with pytest.raises(ChangeError, match="there is a VPC named 'prod' already"):
        intent.apply("create-vpc", name="prod", cidr="10.60.0.0/16")


def test_the_empty_design_loads_and_takes_a_vpc():
    path = ROOT / "vpclab" / "designs" / "empty.yaml"
    intent = Intent.from_file(str(path))
    assert intent.topology.vpcs == () and [h.name for h in intent.topology.internet_hosts] == ["client"]
    intent.apply("create-vpc", name="prod", cidr="10.0.0.0/16")
    intent.apply("create-subnet", vpc="prod", name="web", cidr="10.0.1.0/24")
    intent.apply("launch-instance", vpc="prod", subnet="web", name="web1")
    assert str(intent.topology.instance("web1").ip) == "10.0.1.4"


@pytest.mark.parametrize(
    ("numbering", "message"),
    [
        (
            {"ghost": {"zone": 9, "port": 9}},
            "numbering.instances.ghost: no instance 'ghost' to keep numbers for",
        ),
        (
            {"web1": {"zone": 1, "port": 1}, "dev1": {"zone": 1, "port": 2}},
            "numbering.instances.dev1.zone: zone 1 is instance 'web1''s already",
        ),
        (
            {"web1": {"zone": 1, "port": 99}},
            "numbering.instances.web1.port: port 99 is one of the card's own",
        ),
        (
            {"web1": {"zone": 1, "port": 1}, "dev1": {"zone": 2, "port": 1}},
            "numbering.instances.dev1.port: port 1 of server srv1 is instance 'web1''s already",
        ),
        ({"web1": {"zone": 20000, "port": 1}}, "numbering.instances.web1.zone"),
    ],
)
def test_numbering_that_would_collide_is_refused_with_its_place(numbering, message):
    data = yaml.safe_load((ROOT / "topologies" / "flow-logs.yaml").read_text())
    data["numbering"] = {"instances": numbering}
    with pytest.raises(TopologyError) as refused:
        topology_from_data("flow-logs.yaml", data)
    assert message in refused.value.render()


def test_a_nat_gateway_created_or_deleted_moves_no_other_and_its_routes_become_blackholes():
    intent = running("two-tier.yaml")  # nat-a in web-a (10.40.1.5), nat-b in web-b
    instances, plan = numbers(intent), Plan(intent.topology)
    before = {n: (p.number, p.zone, p.mac, str(p.nat.ip), p.nat.server) for n, p in plan.nat_gateways.items()}
    compiled = compile_topology(intent.topology)
    intent.apply("create-nat-gateway", vpc="shop", subnet="web-a", name="nat-c", public_ip="203.0.113.77")
    plan = Plan(intent.topology)
    after = {n: (p.number, p.zone, p.mac, str(p.nat.ip), p.nat.server) for n, p in plan.nat_gateways.items()}
    assert {k: v for k, v in after.items() if k != "nat-c"} == before
    assert after["nat-c"][0] == 3 and after["nat-c"][3] == "10.40.1.6"  # web1 .4, nat-a .5
    changed = recompile(compiled, intent.topology).changed
    assert all(not diff.delete for diff in changed.values())
    intent.apply("remove-route", vpc="shop", table="private-a-rt", destination="0.0.0.0/0")
    intent.apply(
        "add-route",
        vpc="shop",
        table="private-a-rt",
        destination="0.0.0.0/0",
        target="nat_gateway",
        name="nat-c",
    )
    assert verdict(intent.topology, "app1", "198.51.100.10", "tcp", 443).accepted
    intent.apply("delete-nat-gateway", vpc="shop", name="nat-a")
    assert numbers(intent) == instances
    assert {n: p.number for n, p in Plan(intent.topology).nat_gateways.items()} == {"nat-b": 2, "nat-c": 3}
    intent.apply("delete-nat-gateway", vpc="shop", name="nat-c")
    assert intent.summary == "deleted NAT gateway 'nat-c' of VPC 'shop'; 1 route(s) to it are blackholes now"
    assert verdict(intent.topology, "app1", "198.51.100.10", "tcp", 443).reason == "blackhole"


def test_a_nat_gateway_needs_its_vpcs_internet_gateway():
    intent = running("flow-logs.yaml")
    with pytest.raises(ChangeError, match="VPC 'prod' has no internet gateway"):
        intent.apply("create-nat-gateway", vpc="prod", subnet="web", name="nat", public_ip="203.0.113.5")


def test_nat_gateway_numbers_that_would_collide_are_refused_with_their_place():
    data = yaml.safe_load((ROOT / "topologies" / "two-tier.yaml").read_text())
    data["numbering"] = {"nat_gateways": {"nat-a": 2, "nat-b": 2, "ghost": 1}}
    with pytest.raises(TopologyError) as refused:
        topology_from_data("two-tier.yaml", data)
    text = refused.value.render()
    assert "numbering.nat_gateways.nat-b: number 2 is NAT gateway 'nat-a''s already" in text
    assert "numbering.nat_gateways.ghost: no NAT gateway 'ghost' to keep a number for" in text
    data["numbering"] = {"nat_gateways": {"nat-b": 1}}  # nat-a takes the lowest free one
    numbers = dict(topology_from_data("two-tier.yaml", data).nat_numbers)
    assert numbers == {"nat-a": 2, "nat-b": 1}
