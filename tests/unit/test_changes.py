"""Runtime changes: validated like a file, restorable, and only the affected flows differ."""

import pytest

from controller.compiler import compile_topology
from controller.compiler.differ import diff
from vpclab.intent.changes import ChangeError, Intent
from vpclab.oracle.trace import trace

HUB = "topologies/tgw-blackhole.yaml"


def intent(path=HUB):
    import os

    return Intent.from_file(os.path.join(os.path.dirname(__file__), "..", "..", path))


def verdict(topology, src, dst, protocol=1, port=None):
    return trace(
        topology,
        topology.instance(src),
        topology.instance(dst).ip,
        protocol,
        port,
        source_port=40000 if port else None,
    )


def changed_flows(before, after) -> dict:
    old, new = compile_topology(before), compile_topology(after)
    return {server: len(diff(old.flows[server], new.flows[server])) for server in old.flows}


def test_losing_the_hub_propagation_blackholes_spoke_traffic_and_restores():
    design = intent()
    before = design.topology
    lost = design.apply("remove-propagation", tgw="core", table="spokes", attachment="shared-att")
    assert verdict(lost, "app1", "svc1").reason == "tgw-blackhole"
    assert changed_flows(before, lost) == {"srv1": 1, "srv2": 1, "srv3": 1}
    back = design.apply("add-propagation", tgw="core", table="spokes", attachment="shared-att")
    assert verdict(back, "app1", "svc1").accepted and changed_flows(before, back) == {
        "srv1": 0,
        "srv2": 0,
        "srv3": 0,
    }


def test_blackhole_and_restore_a_tgw_route():
    design = intent()
    holed = design.apply("blackhole", tgw="core", table="hub", cidr="10.2.0.0/16")
    assert verdict(holed, "svc1", "db1").reason == "tgw-blackhole"
    assert verdict(holed, "svc1", "app1").accepted
    restored = design.apply("restore-tgw-route", tgw="core", table="hub", cidr="10.2.0.0/16")
    assert verdict(restored, "svc1", "db1").accepted
    assert design.data == design.original


def test_deleting_a_peering_blackholes_its_routes():
    design = intent("topologies/peering.yaml")
    gone = design.apply("delete-peering", peering="prod-dev")
    assert verdict(gone, "build1", "web1", 6, 443).reason == "blackhole"
    assert verdict(design.apply("restore-peering", peering="prod-dev"), "build1", "web1", 6, 443).accepted


def test_sg_and_nacl_rules_change_at_runtime():
    design = intent("topologies/three-tier.yaml")
    rule = {"protocol": "tcp", "ports": 8080, "security_group": "web-sg"}
    closed = design.apply("remove-sg-rule", security_group="app-sg", direction="ingress", rule=rule)
    assert verdict(closed, "web1", "app1", 6, 8080).reason == "sg-ingress"
    reopened = design.apply("add-sg-rule", security_group="app-sg", direction="ingress", rule=rule)
    assert verdict(reopened, "web1", "app1", 6, 8080).accepted
    denied = design.apply(
        "add-nacl-rule",
        vpc="shop",
        nacl="app-nacl",
        direction="ingress",
        rule={"rule": 50, "protocol": "tcp", "ports": 8080, "cidr": "10.20.1.0/24", "action": "deny"},
    )
    result = verdict(denied, "web1", "app1", 6, 8080)
    assert (result.reason, result.rule) == ("nacl-ingress", "vpcs[0].nacls[1].ingress[2]")
    assert verdict(
        design.apply("remove-nacl-rule", vpc="shop", nacl="app-nacl", direction="ingress", number=50),
        "web1",
        "app1",
        6,
        8080,
    ).accepted


@pytest.mark.parametrize(
    "operation, arguments, message",
    [
        ("blackhole", dict(tgw="core", table="nope", cidr="10.0.0.0/8"), "no route table 'nope'"),
        ("blackhole", dict(tgw="core", table="hub", cidr="10.0.0.0/99"), "is not an IPv4 CIDR"),
        ("remove-propagation", dict(tgw="core", table="hub", attachment="x"), "'x' is not in"),
        ("add-association", dict(tgw="core", table="hub", attachment="app-att"), "already associated"),
        ("explode", {}, "unknown change 'explode' \\(known: "),
        ("add-sg-rules", {}, "unknown change 'add-sg-rules'; did you mean 'add-sg-rule'\\?"),
        ("blackhole", dict(tgw="core"), "blackhole:"),
        (  # the shape of what a change adds is checked, with the path to it
            "add-sg-rule",
            dict(security_group="app/default", direction="ingress", rule={"protocol": "tcp", "port": 22}),
            r"ingress\[\d\]\.port: unknown key; did you mean 'ports'",
        ),
    ],
)
def test_a_bad_change_is_refused_and_changes_nothing(operation, arguments, message):
    design = intent()
    with pytest.raises(ChangeError, match=message):
        design.apply(operation, **arguments)
    assert design.data == design.original
