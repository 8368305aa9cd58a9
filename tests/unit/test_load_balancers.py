"""NLBs reached directly (network_load_balancers): the loader's rules, trace (client IP
preserved, the reply back through the node, cross-zone off by default, no NAT loopback) and
the fake cards deciding like trace on variants of topologies/internal-nlb.yaml."""

from __future__ import annotations

import copy
import os
from ipaddress import IPv4Address

import pytest
import yaml
from fakeswitch import assert_cards_decide_like_trace

from controller.compiler import compile_topology, recompile
from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import topology_from_data
from vpclab.oracle.trace import trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DESIGN = os.path.join(ROOT, "topologies", "internal-nlb.yaml")
TCP = 6
NODE_A, NODE_B = IPv4Address("10.0.1.5"), IPv4Address("10.0.2.5")


def design() -> dict:
    with open(DESIGN, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load(data: dict):
    return topology_from_data("t.yaml", data)


def problems(data: dict) -> list[str]:
    with pytest.raises(TopologyError) as error:
        load(data)
    return [f"{'.'.join(map(str, problem.path))}: {problem.message}" for problem in error.value.problems]


def nlb(data: dict) -> dict:
    return data["network_load_balancers"][0]


def test_nodes_take_their_subnets_first_free_address_or_the_given_one():
    balancer = load(design()).load_balancer("app-nlb")
    assert [(n.subnet, str(n.ip), n.server) for n in balancer.nodes] == [
        ("app-a", "10.0.1.5", "srv-a"),
        ("app-b", "10.0.2.5", "srv-b"),
    ]
    assert balancer.direct and balancer.cross_zone
    data = design()
    nlb(data)["addresses"] = ["10.0.1.77", "10.0.2.78"]
    assert [str(n.ip) for n in load(data).load_balancer("app-nlb").nodes] == ["10.0.1.77", "10.0.2.78"]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: nlb(d).update(scheme="internet-facing"),
            "network_load_balancers.0.scheme: an internet-facing NLB is not emulated yet",
        ),
        (lambda d: nlb(d).update(preserve_client_ip=False), "network_load_balancers.0.preserve_client_ip: "),
        (lambda d: nlb(d).update(addresses=["10.0.1.77"]), "network_load_balancers.0.addresses: one address"),
        (
            lambda d: nlb(d).update(addresses=["10.0.1.4", "10.0.2.9"]),
            "network_load_balancers.0.addresses.0: 10.0.1.4 is not a free address of subnet 'app-a'",
        ),
        (lambda d: nlb(d).update(vpc="nowhere"), "network_load_balancers.0.vpc: no VPC 'nowhere'"),
        (
            lambda d: nlb(d).update(targets=["s1", "desk"]),
            "network_load_balancers.0.targets.1: no instance 'desk' in VPC 'prod'",
        ),
        (
            lambda d: d["network_load_balancers"].append(copy.deepcopy(nlb(d))),
            "network_load_balancers.1.name: ",
        ),
    ],
)
def test_check_refuses(change, message):
    data = design()
    change(data)
    assert any(p.startswith(message) for p in problems(data)), problems(data)


def test_the_target_sees_the_client_and_the_reply_goes_back_through_the_node():
    topology = load(design())
    jump = topology.instance("jump")
    verdict = trace(topology, jump, NODE_B, TCP, 80, pick="s1")
    assert verdict.accepted and verdict.choices == ("s1", "s2")
    hops = [(h.direction, h.stage, h.at) for h in verdict.hops]
    # node in app-b, target in app-a: both subnets' NACLs, each way
    assert ("forward", "nacl-egress", "prod/app-b") in hops and (
        "forward",
        "nacl-ingress",
        "prod/app-a",
    ) in hops
    back = hops[hops.index(("return", "sg-egress", "s1")) :]
    assert back[:4] == [
        ("return", "sg-egress", "s1"),
        ("return", "nacl-egress", "prod/app-a"),
        ("return", "nacl-ingress", "prod/app-b"),
        ("return", "load-balancer", "prod/app-nlb"),
    ]
    delivered = [h for h in verdict.hops if h.stage == "deliver"]
    assert "tcp 10.0.0.4 -> 10.0.1.4:22" in delivered[0].detail  # the client's own address
    assert "tcp 10.0.2.5 -> 10.0.0.4" in delivered[1].detail  # the node's, back at the client
    data = design()
    data["vpcs"][0]["nacls"][0]["ingress"][0]["ports"] = "80-81"
    topology = load(data)
    refused = trace(topology, topology.instance("jump"), NODE_A, TCP, 81)
    assert (refused.accepted, refused.reason, refused.rule) == (
        False,
        "no-listener",
        "network_load_balancers[0]",
    )


def test_an_sg_reference_to_the_client_does_not_match_behind_the_nlb():
    data = design()
    prod = data["vpcs"][0]
    prod["security_groups"].append({"name": "jump-sg", "ingress": []})
    prod["instances"][0]["security_groups"] = ["jump-sg"]
    prod["security_groups"][0]["ingress"] = [{"protocol": "tcp", "ports": 22, "security_group": "jump-sg"}]
    topology = load(data)
    jump = topology.instance("jump")
    assert trace(topology, jump, topology.instance("s1").ip, TCP, 22).accepted  # directly: it matches
    through = trace(topology, jump, NODE_A, TCP, 80, pick="s1")
    assert (through.accepted, through.reason) == (False, "sg-ingress")


def test_cross_zone_off_keeps_a_node_to_its_own_zone():
    data = design()
    nlb(data).pop("enable_cross_zone_load_balancing")  # AWS's default for an NLB: off
    topology = load(data)
    jump = topology.instance("jump")
    assert trace(topology, jump, NODE_A, TCP, 80).choices == ("s1",)
    assert trace(topology, jump, NODE_B, TCP, 80).choices == ("s2",)
    nlb(data)["targets"] = ["s1"]
    topology = load(data)
    empty = trace(topology, topology.instance("jump"), NODE_B, TCP, 80)
    assert (empty.accepted, empty.reason) == (False, "no-target")


def test_a_target_cannot_reach_itself_through_the_nlb():
    topology = load(design())
    looped = trace(topology, topology.instance("s1"), NODE_A, TCP, 80, pick="s1")
    assert (looped.accepted, looped.reason) == (False, "nlb-loopback")
    assert trace(topology, topology.instance("s1"), NODE_A, TCP, 80, pick="s2").accepted


def _variants():
    yield "as written", design()
    data = design()
    nlb(data).pop("enable_cross_zone_load_balancing")
    yield "cross-zone off", data
    data = design()
    nlb(data)["targets"] = ["s1", "s2", "jump"]
    data["vpcs"][0]["subnets"][0]["az"] = "use2-az1"
    yield "the client is a target", data
    data = design()
    data["vpcs"][0]["nacls"][0]["egress"] = [
        {"rule": 100, "protocol": "tcp", "ports": "22", "cidr": "10.0.0.0/16", "action": "allow"},
        {"rule": 110, "protocol": "tcp", "ports": "32768-45000", "cidr": "10.0.0.0/24", "action": "allow"},
    ]
    yield "app NACL egress narrowed", data
    data = design()
    nlb(data)["unhealthy_targets"] = ["s2"]
    data["vpcs"][0]["instances"][2]["subnet"] = "app-a"
    yield "both targets in one subnet, one unhealthy", data
    data = design()
    data["servers"] = [{"name": "srv-a", "az": "use2-az1"}, {"name": "srv-b", "az": "use2-az2"}]
    data["vpcs"][0]["nacls"][0]["ingress"].append(
        {"rule": 150, "protocol": "tcp", "ports": "80", "cidr": "10.9.0.0/16", "action": "allow"}
    )
    data["vpcs"][0]["nacls"][0]["ingress"].append(
        {"rule": 160, "protocol": "tcp", "ports": "22", "cidr": "10.9.0.0/16", "action": "allow"}
    )
    data["vpcs"][0]["security_groups"][0]["ingress"].append(
        {"protocol": "tcp", "ports": 22, "cidr": "10.9.0.0/16"}
    )
    yield "the office admitted over the peering", data


@pytest.mark.parametrize("name, data", list(_variants()), ids=[name for name, _ in _variants()])
def test_the_cards_decide_like_trace(name, data):
    assert_cards_decide_like_trace(load(data))


def test_changing_the_nlb_rebuilds_what_reads_it():
    before = load(design())
    data = design()
    nlb(data)["targets"] = ["s1"]
    after = load(data)
    result = recompile(compile_topology(before), after)
    assert result.changed  # the cards follow the target list
    fresh = compile_topology(after)
    for server in fresh.flows:
        assert sorted(result.compiled.flows[server], key=repr) == sorted(fresh.flows[server], key=repr)


def test_fuzz_seed_79_a_targets_reply_to_an_appliance_client_reaches_the_node():
    """Seed 79: the client is an appliance (its own arrival flow sits above the by-address
    ones); the target's reply, sent to the node's MAC on the client's card, must reach the node."""
    from vpclab.fuzz.generate import generate

    assert_cards_decide_like_trace(load(generate(79)))
