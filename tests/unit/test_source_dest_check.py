"""source_dest_check (AWS's SourceDestCheck): on by default, the card drops what an instance
sends from an address that is not its own; ``false`` lets an appliance send for others. The
oracle and the fake cards decide alike."""

from ipaddress import IPv4Address

from fakeswitch import FakeFabric, instance_packet
from vpc_fixtures import load, one_vpc, problems, verdict

from controller.compiler import compile_topology

DESIGN = one_vpc(
    """
    subnets: [{name: s, cidr: 10.0.1.0/24}, {name: t, cidr: 10.0.2.0/24}]
    security_groups:
      - {name: open, ingress: [{protocol: all, cidr: 10.0.0.0/16}]}
    instances:
      - {name: checked, subnet: s, security_groups: [open]}
      - {name: appliance, subnet: s, security_groups: [open], source_dest_check: false}
      - {name: target, subnet: t, security_groups: [open]}
    """,
    "servers: 2\n",
)
FOREIGN = IPv4Address("10.0.1.99")  # nobody's address, in the senders' subnet


def test_it_is_on_unless_written_false_and_must_be_a_boolean():
    topology = load(DESIGN)
    assert topology.instance("checked").source_dest_check
    assert not topology.instance("appliance").source_dest_check
    found = problems(DESIGN.replace("source_dest_check: false", "source_dest_check: sometimes"))
    assert found == [
        "test.yaml:11: vpcs[0].instances[1].source_dest_check: expected true or false, got 'sometimes'"
    ]


def test_trace_lets_only_an_unchecked_instance_send_from_another_address():
    topology = load(DESIGN)
    checked = verdict(topology, "checked", "target", "tcp", 22, source_ip=FOREIGN)
    assert (checked.accepted, checked.reason, checked.rule) == (False, "spoofed", "vpcs[0].instances[0]")
    sent = verdict(topology, "appliance", "target", "tcp", 22, source_ip=FOREIGN)
    first = sent.hops[0]
    assert (first.stage, first.result, first.object) == (
        "source-check",
        "pass",
        "vpcs[0].instances[1].source_dest_check",
    )
    assert sent.delivered_to == "target"
    # the reply goes to the foreign address, where no interface answers
    assert not sent.accepted and sent.reason == "unassigned-address"


def test_the_cards_drop_a_foreign_source_only_from_a_checked_instance():
    topology = load(DESIGN)
    fabric = FakeFabric(compile_topology(topology))
    plan = fabric.compiled.plan
    target = plan.instances["target"]
    for name, heard in (("checked", False), ("appliance", True)):
        card, packet = instance_packet(
            plan, name, str(target.instance.ip), 6, 22, 40000, ipv4_src=str(FOREIGN)
        )
        arrived = [(server, port) for server, port, _ in fabric.send(card, packet).delivered]
        assert arrived == ([(target.instance.server, target.port)] if heard else []), name
        own = instance_packet(plan, name, str(target.instance.ip), 6, 22, 40000)
        assert [port for _, port, _ in fabric.send(*own).delivered] == [target.port], name
