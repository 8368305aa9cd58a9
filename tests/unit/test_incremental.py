"""Incremental compile: after any sequence of runtime changes, rebuilding only the touched units
gives exactly the flows a compile from scratch gives, and the per-card diff turns each card's old
flows into them."""

import random

import pytest
from vpc_fixtures import example

from controller.compiler import compile_card, compile_topology, recompile
from controller.compiler.differ import diff, key
from vpclab.fuzz.generate import generate
from vpclab.intent.changes import ChangeError, Intent

TRAFFIC = ({"protocol": "tcp", "ports": 443}, {"protocol": "icmp"}, {"protocol": "udp", "ports": "1000-2000"})


def random_change(rng: random.Random, data: dict) -> tuple[str, dict]:
    """One change the CLI could make to ``data`` (some are refused: that is part of the test)."""
    vpc = rng.choice(data["vpcs"])
    kind = rng.choice(["sg", "nacl", "tgw", "peering"])
    if kind == "tgw" and data.get("transit_gateways"):
        tgw = rng.choice(data["transit_gateways"])
        table = rng.choice(tgw["route_tables"])
        attachment = rng.choice(tgw["attachments"])["name"]
        cidr = rng.choice(data["vpcs"])["cidr"]
        operation = rng.choice(
            ["blackhole", "restore-tgw-route", "remove-propagation", "add-propagation", "remove-association"]
        )
        arguments = {"tgw": tgw["name"], "table": table["name"]}
        if operation in ("blackhole", "restore-tgw-route"):
            return operation, {**arguments, "cidr": cidr}
        return operation, {**arguments, "attachment": attachment}
    if kind == "peering" and data.get("peerings"):
        peering = rng.choice(data["peerings"])["name"]
        return rng.choice(["delete-peering", "restore-peering"]), {"peering": peering}
    if kind == "nacl" and vpc.get("nacls"):
        nacl = rng.choice(vpc["nacls"])["name"]
        direction = rng.choice(["ingress", "egress"])
        rule = {"rule": rng.randrange(1, 400), **rng.choice(TRAFFIC), "cidr": "10.0.0.0/8"}
        rule["action"] = rng.choice(["allow", "deny"])
        if rng.random() < 0.7:
            return "add-nacl-rule", {"vpc": vpc["name"], "nacl": nacl, "direction": direction, "rule": rule}
        return "remove-nacl-rule", {"vpc": vpc["name"], "nacl": nacl, "direction": direction, "number": 100}
    groups = [g["name"] for g in vpc.get("security_groups", [])] or ["default"]
    group = rng.choice(groups)
    peer = {"security_group": rng.choice(groups)} if rng.random() < 0.5 else {"cidr": "10.0.0.0/8"}
    rule = {**rng.choice(TRAFFIC), **peer}
    direction = rng.choice(["ingress", "egress"])
    operation = "add-sg-rule" if rng.random() < 0.7 else "remove-sg-rule"
    return operation, {"security_group": f"{vpc['name']}/{group}", "direction": direction, "rule": rule}


@pytest.mark.parametrize("seed", range(12))
def test_recompiling_after_changes_equals_compiling_from_scratch(seed):
    rng = random.Random(seed)
    intent = Intent("fuzz.yaml", generate(seed))
    compiled = compile_topology(intent.topology)
    applied = 0
    for _ in range(8):
        operation, arguments = random_change(rng, intent.data)
        try:
            topology = intent.apply(operation, **arguments)
        except ChangeError:
            continue
        applied += 1
        result = recompile(compiled, topology)
        fresh = compile_topology(topology)
        for server in fresh.flows:
            assert sorted(result.compiled.flows[server], key=repr) == sorted(fresh.flows[server], key=repr)
            delta = result.changed.get(server, diff([], []))
            kept = {key(f): f for f in compiled.flows[server]}
            for gone in delta.delete:
                del kept[key(gone)]
            kept.update({key(f): f for f in delta.add})
            assert kept == {key(f): f for f in fresh.flows[server]}, f"{operation} {arguments} on {server}"
        compiled = result.compiled
    assert applied, "no change applied: the test exercised nothing"


TWO_ISLANDS = {
    "name": "islands",
    "servers": 2,
    "vpcs": [
        {
            "name": name,
            "cidr": f"10.{n}.0.0/16",
            "subnets": [{"name": "s", "cidr": f"10.{n}.1.0/24", "nacl": "n"}],
            "nacls": [
                {
                    "name": "n",
                    "ingress": [{"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}],
                }
            ],
            "instances": [{"name": f"{name}1", "subnet": "s", "server": f"srv{n}"}],
        }
        for n, name in ((1, "blue"), (2, "green"))
    ],
}


def test_a_nacl_rule_rebuilds_only_its_vpcs_units_on_the_cards_that_hold_them():
    intent = Intent("islands.yaml", TWO_ISLANDS)
    compiled = compile_topology(intent.topology)
    assert not any(unit[1:] == ("green",) for unit in compiled.cards["srv1"])  # not its VPC
    rule = {"rule": 5, "protocol": "tcp", "ports": 22, "cidr": "0.0.0.0/0", "action": "deny"}
    topology = intent.apply("add-nacl-rule", vpc="blue", nacl="n", direction="ingress", rule=rule)
    result = recompile(compiled, topology)
    assert result.rebuilt == len([u for u in result.compiled.units if u[1:] == ("blue",)])
    changes = {server: len(delta) for server, delta in result.changed.items()}
    assert changes == {"srv1": 1}, changes


@pytest.mark.parametrize("name", ["peering.yaml", "tgw-incident.yaml", "inspection.yaml", "three-tier.yaml"])
def test_one_card_compiled_alone_has_exactly_its_flows_in_the_whole_compile(name):
    topology = example(name)
    whole = compile_topology(topology)
    for server in whole.cards:
        assert compile_card(topology, server) == whole.flows[server]
