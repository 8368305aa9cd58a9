"""Routes to an instance (an appliance with source_dest_check: false), without root: the
loader's checks, trace's path through the appliance, and the fake cards deciding alike,
including the NACLs on the way in and an appliance that keeps its source/dest check."""

import pytest
from designs import MIDDLEBOX
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange, instance_packet
from vpc_fixtures import example, load, problems, verdict

from controller.compiler import compile_topology
from vpclab.oracle.trace import trace

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


# what `vpclab fuzz` found once it drew appliances (issue 33, item 6): a public IP on an
# appliance, and a middlebox route whose subnet holds the appliance itself
EDGE_BOX = (
    MIDDLEBOX.replace(
        "        cidr: 10.9.0.0/16\n",
        "        cidr: 10.9.0.0/16\n        internet_gateway: igw\n",
    )
    .replace(
        "          - {name: fw, cidr: 10.9.3.0/24}",
        "          - {name: fw, cidr: 10.9.3.0/24, route_table: fw-rt}",
    )
    .replace(
        "            routes: [{destination: 10.9.2.0/24, instance: fw1}]",
        "            routes:\n"
        "              - {destination: 10.9.2.0/24, instance: fw1}\n"
        "              - {destination: 10.9.3.0/24, instance: fw1}",
    )
    .replace(
        "          - name: db-rt\n",
        "          - name: fw-rt\n            routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]\n"
        "          - name: db-rt\n",
    )
    .replace(
        "fw1, subnet: fw, source_dest_check: false, security_groups: [fw-sg]}",
        "fw1, subnet: fw, source_dest_check: false, security_groups: [fw-sg], public_ip: true}",
    )
    .replace(
        "tcp, ports: 5432, cidr: 10.9.0.0/16}",
        "tcp, ports: 5432, cidr: 10.9.0.0/16}, {protocol: icmp, cidr: 0.0.0.0/0}",
    )
    + "    internet: {hosts: [{name: client, ip: 198.51.100.10}]}\n"
)


def test_an_appliance_with_a_public_ip_hears_the_internet_not_its_route():
    """The internet's card addresses fw1's MAC: the IGW's translation takes it (the cards used
    to hand the reply to fw1's middlebox stages, whose SG zone never saw the request)."""
    topology = load(EDGE_BOX)
    fw1 = topology.instance("fw1")
    assert verdict(topology, "fw1", "198.51.100.10").accepted
    from_internet = trace(topology, topology.endpoint("client"), fw1.public_ip, 1, None)
    assert from_internet.accepted and from_internet.delivered_to == "fw1"
    fabric = FakeFabric(compile_topology(topology))
    assert exchange(fabric, "fw1", "198.51.100.10", 1)[0]
    assert exchange(FakeFabric(fabric.compiled), "client", str(fw1.public_ip), 1)[0]
    assert_cards_decide_like_trace(topology)


def test_a_route_to_an_appliance_for_its_own_subnet_delivers_what_is_addressed_to_it():
    """web-rt sends fw's subnet to fw1: a packet for fw1 itself is delivered to it (as by the
    local route), and fw1's reply to its own request is its own connection (trace used to take
    it through fw1 as an appliance and drop it as asymmetric)."""
    topology = load(EDGE_BOX)
    ping = verdict(topology, "web1", "fw1")
    assert ping.accepted and not any(h.stage == "appliance" for h in ping.hops)
    back = verdict(topology, "fw1", "web1")
    assert back.accepted, back.reason
    fabric = FakeFabric(compile_topology(topology))
    assert exchange(fabric, "fw1", str(topology.instance("web1").ip), 1)[0]


def test_the_cards_drop_an_address_nobody_owns_at_its_subnet():
    topology = load(MIDDLEBOX)
    found = verdict(topology, "web1", "10.9.1.99")
    assert (found.reason, found.rule) == ("unassigned-address", "vpcs[0].subnets[0]")
    assert exchange(FakeFabric(compile_topology(topology)), "web1", "10.9.1.99", 1)[:3] == (
        False,
        "forward",
        "vpcs[0].subnets[0]",
    )
