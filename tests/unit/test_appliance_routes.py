"""Routes to an instance (an appliance with source_dest_check: false), without root: the
loader's checks, trace's path through the appliance, and the fake cards deciding alike,
including the NACLs on the way in and an appliance that keeps its source/dest check."""

import pytest
from designs import MIDDLEBOX
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange, instance_packet
from vpc_fixtures import example, load, problems, verdict

from controller.compiler import compile_topology

INSPECTION = example("inspection.yaml").source


def inspection(*edits: tuple[str, str]):
    """inspection.yaml with text replacements."""
    text = open(INSPECTION, encoding="utf-8").read()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return load(text)


CHECKED = ("source_dest_check: false}", "source_dest_check: true}")
FW_NACL = (
    "      - {name: fw, cidr: 10.9.2.0/24}",
    "      - {name: fw, cidr: 10.9.2.0/24, nacl: fw-nacl}\n"
    "    nacls:\n"
    "      - name: fw-nacl\n"
    "        ingress:\n"
    "          - {rule: 10, protocol: tcp, ports: 5432, cidr: 10.1.0.0/16, action: deny}\n"
    "          - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
    "        egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]",
)


def test_a_route_names_an_instance_of_its_vpc_whose_inbound_rules_use_cidrs():
    assert (
        example("inspection.yaml").vpc("inspection").route_table("to-firewall").routes[-1].instance == "fw1"
    )
    found = problems(open(INSPECTION).read().replace("instance: fw1", "instance: fw9"))
    assert any(
        "routes[0].instance: no instance 'fw9' in VPC 'inspection' (its instances: fw1, mon1)" in line
        for line in found
    ), found
    named = (
        open(INSPECTION)
        .read()
        .replace(
            "{name: fw-sg, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}",
            "{name: fw-sg, ingress: [{protocol: all, security_group: mon-sg}]}",
        )
    )
    found = problems(named)
    assert any(
        "fw1's security group fw-sg has inbound rules that name security groups" in line for line in found
    ), found


def test_trace_goes_through_the_appliance_both_ways():
    topology = example("inspection.yaml")
    sent = verdict(topology, "app1", "data1", "tcp", 5432)
    assert sent.accepted
    through = [(h.direction, h.stage) for h in sent.hops if h.at == "fw1"]
    assert through == [
        ("forward", "sg-ingress"),
        ("forward", "appliance"),
        ("return", "sg-ingress"),
        ("return", "appliance"),
    ]
    assert [h.at for h in sent.hops if h.stage == "nacl-ingress" and h.direction == "forward"] == [
        "app/s",
        "inspection/fw",
        "inspection/tgw",
    ]  # into the TGW, into fw1's subnet, into the TGW again
    assert verdict(topology, "app1", "mon1").accepted  # the monitor is reached directly
    assert not any(h.at == "fw1" for h in verdict(topology, "app1", "mon1").hops)


def test_an_appliance_that_checks_sources_and_destinations_drops_what_is_routed_to_it():
    topology = inspection(CHECKED)
    dropped = verdict(topology, "app1", "data1", "tcp", 5432)
    assert (dropped.reason, dropped.rule) == ("source-dest-check", "vpcs[2].instances[1].source_dest_check")
    assert exchange(FakeFabric(compile_topology(topology)), "app1", "10.2.1.4", 6, 5432)[:3] == (
        False,
        "forward",
        dropped.rule,
    )


def test_the_cards_carry_the_packet_through_the_appliance():
    fabric = FakeFabric(compile_topology(example("inspection.yaml")))
    accepted, _, _, reached = exchange(fabric, "app1", "10.2.1.4", 6, 5432)
    assert accepted and reached == "data1"
    plan = fabric.compiled.plan
    card, packet = instance_packet(plan, "app1", "10.2.1.4", 6, 5432, 40000)
    assert (plan.instances["fw1"].instance.server, "appliance", "fw1") in fabric.send(card, packet).path


@pytest.mark.parametrize("edits", [(), (CHECKED,), (FW_NACL,)], ids=["inspection", "checked", "fw-nacl"])
def test_the_cards_decide_like_trace(edits):
    topology = inspection(*edits)
    if edits == (FW_NACL,):
        dropped = verdict(topology, "app1", "data1", "tcp", 5432)
        assert (dropped.reason, dropped.rule) == ("nacl-ingress", "vpcs[2].nacls[0].ingress[0]")
        assert verdict(topology, "app1", "data1").accepted  # ping is not denied
    assert_cards_decide_like_trace(topology)


# -- middlebox routing inside a VPC (AWS, 2021): a route as specific as a subnet, to an appliance --


def test_a_route_as_specific_as_a_subnet_sends_traffic_between_subnets_through_the_appliance():
    topology = load(MIDDLEBOX)
    through = verdict(topology, "web1", "db1", "tcp", 5432)
    assert through.accepted
    assert [h.at for h in through.hops if h.stage == "appliance"] == ["fw1", "fw1"]  # both ways
    refused = verdict(topology, "web1", "db1", "icmp")  # fw1's SG admits tcp/5432 only
    assert (refused.accepted, refused.rule) == (False, "vpcs[0].security_groups[1]")
    within = verdict(topology, "web1", "web2", "icmp")  # within a subnet: no route, no appliance
    assert within.accepted and not any(h.stage == "appliance" for h in within.hops)
    fabric = FakeFabric(compile_topology(topology))
    card, packet = instance_packet(fabric.compiled.plan, "web1", "10.9.2.4", 6, 5432, 40000)
    assert (topology.instance("fw1").server, "appliance", "fw1") in fabric.send(card, packet).path
    assert_cards_decide_like_trace(topology)


@pytest.mark.parametrize(
    "route, message",
    [
        ("{destination: 10.9.2.0/25, instance: fw1}", "must match a subnet's whole CIDR"),
        ("{destination: 10.9.2.0/24, peering: p}", "only a route to an appliance ('instance') may match"),
        ("{destination: 10.9.0.0/16, instance: fw1}", "must match a subnet's whole CIDR"),
    ],
)
def test_a_route_inside_the_vpc_must_be_a_whole_subnet_to_an_appliance(route, message):
    found = problems(MIDDLEBOX.replace("{destination: 10.9.2.0/24, instance: fw1}", route))
    assert any("routes[0].destination" in line and message in line for line in found), found
