"""The OpenFlow that Hyperplane sends, checked on fake switches that parse it from the wire."""

import os
from itertools import pairwise

import pytest
from fakeswitch import Ambiguous, FakeCard, FakeFabric, Rejected, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_examples import EXAMPLES
from vpc_fixtures import example, load

from controller.compiler import compile_topology
from controller.compiler.differ import diff
from controller.hyperplane.ofmsg import diff_messages, flow_mod
from vpclab.intent.changes import ChangeError, Intent
from vpclab.intent.document import load_document
from vpclab.intent.model import INTERNET_ORIGIN
from vpclab.layout.actions import DROP, Goto, SetReg
from vpclab.layout.pipeline import Reg, StageViolation, flow
from vpclab.layout.plan import cookie_of

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_an_equal_priority_overlap_is_refused_like_an_ambiguity():
    card = FakeCard("srv1")
    card.apply(
        flow_mod(
            flow(
                "nacl_src_egress",
                5000,
                {Reg.SRC_SUBNET: 1, "eth_type": 0x0800, "nw_dst": ("10.0.0.0", "255.255.0.0")},
                (Goto("vpc_route"),),
                "a",
            )
        )
    )
    card.apply(
        flow_mod(
            flow(
                "nacl_src_egress",
                5000,
                {Reg.SRC_SUBNET: 2, "eth_type": 0x0800, "nw_dst": ("10.0.0.0", "255.255.0.0")},
                (DROP,),
                "b",
            )
        )
    )  # another subnet: disjoint
    with pytest.raises(Ambiguous):
        card.apply(
            flow_mod(
                flow(
                    "nacl_src_egress",
                    5000,
                    {Reg.SRC_SUBNET: 1, "eth_type": 0x0800, "nw_dst": ("10.0.1.0", "255.255.255.0")},
                    (DROP,),
                    "c",
                )
            )
        )


def test_a_match_without_its_prerequisite_is_rejected():
    card = FakeCard("srv1")
    with pytest.raises(Rejected):
        card.apply(
            flow_mod(
                flow(
                    "nacl_src_egress",
                    5000,
                    {Reg.SRC_SUBNET: 1, "nw_dst": ("10.0.0.0", "255.0.0.0")},
                    (DROP,),
                    "a",
                )
            )
        )


def test_a_stage_may_only_do_what_it_declares():
    with pytest.raises(StageViolation, match="may not continue"):
        flow("vpc_route", 10, {}, (Goto("sg_ingress"),), "x")
    with pytest.raises(StageViolation, match="may not set"):
        flow("sg_egress", 10, {}, (SetReg(Reg.DST_VPC, 1), Goto("nacl_src_egress")), "x")
    with pytest.raises(StageViolation, match="may not match"):
        flow("tgw_route", 10, {Reg.SRC_SUBNET: 1}, (DROP,), "x")


def test_two_sg_rules_that_allow_the_same_packet_do_not_overlap():
    topology = load("""
        name: t
        servers: 1
        vpcs:
          - name: prod
            cidr: 10.0.0.0/16
            subnets: [{name: a, cidr: 10.0.1.0/24}]
            security_groups:
              - name: ssh-wide
                ingress: [{protocol: tcp, ports: 22, cidr: 10.0.0.0/16}]
              - name: ssh-narrow
                ingress: [{protocol: tcp, ports: 20-30, cidr: 10.0.1.0/24}]
            instances:
              - {name: web, subnet: a, security_groups: [ssh-wide, ssh-narrow]}
              - {name: admin, subnet: a}
    """)
    fabric = FakeFabric(compile_topology(topology))  # would raise Ambiguous at one priority
    assert connection(fabric, "admin", "web", 6, 22)[0]
    admitted = [
        origin
        for _, stage, origin in fabric.send(*_request(fabric, "admin", "web")).path
        if stage == "sg_ingress"
    ]
    assert admitted[-1] == "vpcs[0].security_groups[0].ingress[0]"  # the first rule, as trace


def _request(fabric, source, target):
    from fakeswitch import instance_packet

    plan = fabric.compiled.plan
    return instance_packet(plan, source, str(plan.instances[target].instance.ip), 6, 22, 41000)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_origin_is_a_path_of_the_document_and_cookies_do_not_collide(name):
    topology = example(name)
    document = load_document(topology.source)
    compiled = compile_topology(topology)
    origins = {f.origin for flows in compiled.flows.values() for f in flows}
    implicit = ("[default]", "[main]", "[local]", "[*]", "vpclab:", "[0]")
    for origin in origins:
        if origin.startswith("vpclab:") or any(mark in origin for mark in implicit[:4]):
            continue  # objects AWS makes implicitly, named in brackets
        if origin == INTERNET_ORIGIN and "internet" not in document.data:
            continue  # the internet's own routing, in a design that lists no internet host
        assert _in_document(document, origin), origin
    cookies = {}
    for origin in origins:
        assert cookies.setdefault(cookie_of(origin), origin) == origin, "cookie collision"
    assert len(origins) > 10


def _in_document(document, origin: str) -> bool:
    import re

    node = document.data
    for name, index in re.findall(r"\.?([a-z_][a-z0-9_]*)|\[(\d+)\]", origin):
        try:
            node = node[name] if name else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return False
    return True


# -- the incremental path: a diff sent to a card holding the old flows ------------------------
CHANGES = [
    (
        "three-tier.yaml",
        "remove-sg-rule",
        dict(
            security_group="app-sg",
            direction="ingress",
            rule={"protocol": "tcp", "ports": 8080, "security_group": "web-sg"},
        ),
    ),
    (
        "three-tier.yaml",
        "add-sg-rule",
        dict(security_group="db-sg", direction="ingress", rule={"protocol": "icmp", "cidr": "10.20.0.0/16"}),
    ),
    (
        "three-tier.yaml",
        "add-nacl-rule",
        dict(
            vpc="shop",
            nacl="db-nacl",
            direction="ingress",
            rule={"rule": 50, "protocol": "tcp", "ports": 5432, "cidr": "10.20.1.0/24", "action": "deny"},
        ),
    ),
    ("tgw-blackhole.yaml", "blackhole", dict(tgw="core", table="hub", cidr="10.2.0.0/16")),
    ("tgw-blackhole.yaml", "remove-propagation", dict(tgw="core", table="spokes", attachment="shared-att")),
    (
        "tgw-blackhole.yaml",
        "tgw-route",
        dict(tgw="core", table="spokes", cidr="10.9.0.0/16", attachment="shared-att"),
    ),
    ("peering.yaml", "delete-peering", dict(peering="prod-dev")),
    ("inspection.yaml", "remove-association", dict(tgw="core", table="spokes", attachment="app-att")),
]


def _fabric_after_diff(old, new):
    fabric = FakeFabric(old)
    for server, card in fabric.cards.items():
        for message in diff_messages(diff(old.flows[server], new.flows[server])):
            card.apply(message)
    fabric.compiled = new  # its cookies name the new design's objects
    return fabric


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CHANGES), min_size=1, max_size=4), st.randoms())
def test_a_diff_applied_to_the_old_flows_forwards_exactly_like_the_new_flows(changes, rng):
    design = Intent.from_file(os.path.join(ROOT, "topologies", changes[0][0]))
    applied = [c for c in changes if c[0] == changes[0][0]]
    before = compile_topology(design.topology)
    for _, operation, arguments in applied:
        try:
            design.apply(operation, **arguments)
        except ChangeError:
            pass  # e.g. removing what an earlier step removed: the design stays as it was
    after = compile_topology(design.topology)
    patched, fresh = _fabric_after_diff(before, after), FakeFabric(after)
    for server in fresh.cards:
        assert patched.cards[server].state() == fresh.cards[server].state(), server
    instances = [i.name for i in design.topology.instances]
    for _ in range(12):
        source, target = rng.sample(instances, 2)
        protocol, port = rng.choice([(1, None), (6, 22), (6, 8080), (6, 5432), (17, 53)])
        assert connection(patched, source, target, protocol, port) == connection(
            fresh, source, target, protocol, port
        )


def test_table_numbers_are_declared_unique_ascending_and_leave_room():
    from vpclab.layout.pipeline import STAGE_AT, STAGE_LIST

    numbers = [stage.table for stage in STAGE_LIST]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers) == len(STAGE_AT)
    assert numbers[0] == 0 and numbers[-1] <= 254  # OpenFlow's tables; 255 means "no table"
    assert sum(b - a - 1 for a, b in pairwise(numbers)) >= 2 * len(numbers)  # room between stages


def test_registers_hold_bit_fields_that_never_overlap_and_leave_two_xxregs_free():
    from controller.hyperplane.ofmsg import of_match
    from vpclab.errors import Defect
    from vpclab.layout.pipeline import FIELDS

    used: dict[str, int] = {}
    for field in FIELDS.values():
        assert field.offset + field.width <= (64 if field.register == "metadata" else 32), field
        assert not used.get(field.register, 0) & field.mask, f"{field} overlaps another field"
        used[field.register] = used.get(field.register, 0) | field.mask
    assert not {f"reg{n}" for n in range(8, 16)} & set(used)  # xxreg2, xxreg3: free for IPv6
    assert Reg.SAME_SUBNET.width == 1 and Reg.SAME_SUBNET.register == Reg.HAIRPINS.register
    # two fields of one register: one masked match on its bits
    both = flow("tgw_entry", 10, {Reg.AZ: 3, Reg.HAIRPINS: 1}, (DROP,), "x")
    assert of_match(both)["reg1"] == (3 << 17 | 1 << 25, 0xFF << 17 | 0b11 << 25)
    with pytest.raises(Defect, match="does not fit in 2 bits"):
        flow_mod(flow("tgw_exit", 10, {}, (SetReg(Reg.HAIRPINS, 4), Goto("deliver_lookup")), "x"))
