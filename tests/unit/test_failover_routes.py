"""Failover routes: the YAML, the route as trace and the cards take it, the health probes
through each path in the fake cards, and the route manager's decisions."""

from __future__ import annotations

import os

import pytest
import yaml
from fakeswitch import FakeFabric, connection, instance_packet

from controller.compiler import compile_topology
from controller.compiler.health import health_probes
from controller.hyperplane.failover import RouteHealth
from controller.hyperplane.ofmsg import packet_out
from controller.hyperplane.route_manager import RouteManager, echo_reply, probe_packet
from experiments.path_failover import check, measure, without_backup
from vpclab.intent.changes import ChangeError, Intent
from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import topology_from_data
from vpclab.layout.actions import CONTROLLER
from vpclab.oracle.trace import trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DESIGN = os.path.join(ROOT, "topologies", "path-failover.yaml")
APP_ROUTE = {"vpc": "app", "table": "app-rt", "destination": "10.0.0.0/16"}


def design() -> dict:
    with open(DESIGN, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def app_route(data: dict) -> dict:
    return data["vpcs"][0]["route_tables"][0]["routes"][0]


def problems(data: dict) -> list[str]:
    with pytest.raises(TopologyError) as error:
        topology_from_data("t.yaml", data)
    return [problem.message for problem in error.value.problems]


# -- the YAML ----------------------------------------------------------------------------------
def test_a_failover_route_takes_its_active_path():
    topology = topology_from_data("t.yaml", design())
    route = topology.vpc("app").route_tables[0].routes[-1]
    assert (route.transit_gateway, route.peering) == ("core", None)
    assert [p.describe() for p in route.failover] == ["transit gateway core", "peering app-shared"]
    assert (route.health_check.interval, route.health_check.failures, route.health_check.recoveries) == (
        0.1,
        3,
        10,
    )
    shared = topology.vpc("shared").route_tables[0].routes[-1]
    assert topology.health_target(shared) == topology.instance("app1").ip  # the default target
    data = design()
    app_route(data)["active"] = 1
    route = topology_from_data("t.yaml", data).vpc("app").route_tables[0].routes[-1]
    assert (route.transit_gateway, route.peering) == (None, "app-shared")


@pytest.mark.parametrize(
    "edit, said",
    [
        (lambda r: r.update(peering="app-shared"), "not also 'peering'"),
        (lambda r: r["failover"].append({"peering": "nope"}), "no peering named 'nope'"),
        (lambda r: r["failover"].append({"peering": "app-shared"}), "is already path 2"),
        (lambda r: r.update(active=2), "path 2 does not exist"),
        (lambda r: r["health_check"].update(target="10.9.0.1"), "not inside the route's destination"),
        (lambda r: r["health_check"].update(target="10.0.1.99"), "no instance has address 10.0.1.99"),
        (lambda r: r["failover"].append({"peering": "app-shared", "transit_gateway": "core"}), "one of"),
    ],
)
def test_a_wrong_failover_route_is_refused(edit, said):
    data = design()
    edit(app_route(data))
    assert any(said in message for message in problems(data)), problems(data)


def test_health_check_needs_a_failover_route():
    data = design()
    route = app_route(data)
    del route["failover"]
    route["transit_gateway"] = "core"
    assert any("belongs to a failover route" in message for message in problems(data))


# -- the running design: trace and the cards follow the active path ------------------------------
def test_the_failover_change_moves_trace_and_the_cards():
    intent = Intent(DESIGN, design())
    before = compile_topology(intent.topology)
    intent.apply("failover", **APP_ROUTE, path=1, reason="transit gateway core missed 3 probes in a row")
    assert "now goes through peering app-shared, path 2 of 2" in intent.summary
    assert "missed 3 probes" in intent.summary
    topology = intent.topology
    verdict = trace(topology, topology.instance("app1"), topology.instance("svc1").ip, 1)
    assert any(hop.stage == "route" and "peering app-shared" in hop.detail for hop in verdict.hops)
    fabric = FakeFabric(compile_topology(intent.topology))
    assert connection(fabric, "app1", "svc1", 1)[0]
    assert compile_topology(intent.topology).flows["srv1"] != before.flows["srv1"]
    intent.apply("failover", **APP_ROUTE, path=0)
    assert "active" not in app_route(intent.data)  # the primary, as the file says it
    with pytest.raises(ChangeError, match="paths 0 to 1"):
        intent.apply("failover", **APP_ROUTE, path=5)
    with pytest.raises(ChangeError, match="no failover route"):
        intent.apply("failover", vpc="shared", table="shared-rt", destination="10.9.0.0/16", path=0)


# -- the probes through each path, in the cards ---------------------------------------------------
def probe_through(fabric, probe, path: int):
    return fabric.inject(probe.server, packet_out(probe.paths[path], probe_packet(probe, 1, 1)))


def test_probes_take_each_path_whatever_the_route_uses():
    intent = Intent(DESIGN, design())
    compiled = compile_topology(intent.topology)
    probe = next(p for p in health_probes(compiled.plan) if p.vpc == "app")
    assert (probe.server, str(probe.source), str(probe.target)) == ("srv1", "10.1.1.1", "10.0.1.4")
    fabric = FakeFabric(compiled)
    svc1 = compiled.plan.instances["svc1"]
    for path, crossed in ((0, "tgw_route"), (1, "peering")):
        outcome = probe_through(fabric, probe, path)
        assert [(c, p) for c, p, _ in outcome.delivered] == [("srv2", svc1.port)]
        assert crossed in [stage for _, stage, _ in outcome.path]
    # svc1's answer to the probing subnet's router goes to the controller, on svc1's card
    card, reply = instance_packet(compiled.plan, "svc1", "10.1.1.1", 1, icmpv4_type=0)
    answered = fabric.send(card, reply)
    assert [(c, p) for c, p, _ in answered.delivered] == [("srv2", CONTROLLER)]
    assert answered.path[-1][2] == "vpcs[0].route_tables[0].routes[0].health_check"

    intent.apply("tgw-route", tgw="core", table="core-rt", cidr="10.0.0.0/16", blackhole=True)
    fabric = FakeFabric(compile_topology(intent.topology))
    through_tgw = probe_through(fabric, probe, 0)
    assert not through_tgw.delivered and through_tgw.dropped_at[1] == "tgw_route"
    assert probe_through(fabric, probe, 1).delivered  # the backup still answers


# -- the route manager --------------------------------------------------------------------------
class Cards:
    """Stands in for Hyperplane: records injected probes and route switches."""

    def __init__(self):
        self.sent, self.switches = [], []

    def inject(self, server, message) -> bool:
        self.sent.append((server, message))
        return True

    def switch(self, probe, path, reason) -> None:
        self.switches.append((probe.key, path, reason))


def answer(manager, probe, path: int, now: float) -> None:
    """The echo reply to the last probe sent through ``path`` of ``probe``'s route."""
    seq, _ = manager.outstanding[(probe.key, path)]
    request = probe_packet(probe, manager.ids[(probe.key, path)], seq)
    reply = bytearray(request)
    reply[34] = 0  # ICMP type: echo reply (the checksum is not checked here)
    assert manager.packet_in(bytes(reply), now)


def rounds(manager, now: float, count: int, silent=()) -> float:
    """``count`` probe rounds 100 ms apart, every probe answered except through ``silent``
    (route key, path) pairs; returns the time after them."""
    for _ in range(count):
        manager.tick(now)
        for key, probe in manager.probes.items():
            for path in range(len(probe.paths)):
                if (key, path) not in silent:
                    answer(manager, probe, path, now + 0.001)
        now += 0.1
    return now


def test_the_manager_fails_over_and_back():
    intent = Intent(DESIGN, design())
    cards = Cards()
    manager = RouteManager(cards.inject, cards.switch)
    manager.refresh(compile_topology(intent.topology))
    key = ("app", "app-rt", "10.0.0.0/16")
    assert set(manager.probes) == {key, ("shared", "shared-rt", "10.1.0.0/16")}
    now = rounds(manager, 0.0, 9)  # every path answers; the backup is not trusted yet
    assert [p.up for p in manager.health[key].paths] == [True, False]
    now = rounds(manager, now, 1)
    assert not cards.switches
    assert {server for server, _ in cards.sent} == {"srv1", "srv2"}
    now = rounds(manager, now, 4, silent={(key, 0)})  # the TGW stops answering app's probes
    assert cards.switches == [(key, 1, "transit gateway core missed 3 probes in a row")]
    intent.apply("failover", **APP_ROUTE, path=1)
    manager.refresh(compile_topology(intent.topology))
    now = rounds(manager, now, 9)  # the TGW is back: not trusted before 10 answers in a row
    assert len(cards.switches) == 1
    rounds(manager, now, 1)
    assert cards.switches[-1] == (key, 0, "transit gateway core answered 10 probes in a row")
    row = next(row for row in manager.status() if row["vpc"] == "app")
    assert row["active"] == 1 and row["paths"][0]["up"] and row["paths"][0]["health"].startswith("up (")


def test_a_late_or_foreign_reply_does_not_count():
    manager = RouteManager(Cards().inject, Cards().switch)
    manager.refresh(compile_topology(Intent(DESIGN, design()).topology))
    probe = manager.probes[("app", "app-rt", "10.0.0.0/16")]
    assert not manager.packet_in(b"\x00" * 20, 0.0)
    assert echo_reply(probe_packet(probe, 7, 9)) is None  # a request is no answer
    manager.tick(0.0)
    seq = manager.outstanding[(probe.key, 0)][0]
    late = bytearray(probe_packet(probe, manager.ids[(probe.key, 0)], (seq - 1) & 0xFFFF))
    late[34] = 0
    assert not manager.packet_in(bytes(late), 0.05)
    assert manager.late == 1  # counted as ours, late (the controller's load figures show them)


def test_a_restarted_manager_trusts_the_path_in_use_and_makes_the_others_prove_themselves():
    health = RouteHealth.new(2, failures=3, recoveries=10, active=1)  # restarted on the backup
    assert health.wanted() == 1
    for _ in range(9):
        health.observe(0, True, 0.0)
    assert health.wanted() == 1  # the primary answered 9 in a row: not yet
    health.observe(0, True, 0.0)
    assert health.wanted() == 0


def test_route_health_keeps_the_route_where_it_is_when_every_path_is_down():
    health = RouteHealth.new(2, failures=2, recoveries=2, active=1)
    health.observe(0, True, 0.0)
    health.observe(0, True, 0.0)  # the primary proved itself, then fails
    for _ in range(2):
        health.observe(0, False, 0.0)
        health.observe(1, False, 0.0)
    assert [p.up for p in health.paths] == [False, False]
    assert health.wanted() == 1
    assert health.observe(0, True, 1.0) is False and health.observe(0, True, 1.1) is True
    assert health.wanted() == 0


def test_the_experiment_cuts_the_backup_and_reads_the_change_log():
    cut = without_backup(design())
    assert app_route(cut)["failover"] == [{"transit_gateway": "core"}]
    probes = health_probes(compile_topology(topology_from_data("t", cut)).plan)
    assert [len(p.paths) for p in probes] == [1, 1]
    # probes every 10 ms from 2 s before the fault (at 100.0) to 3 s after the repair (at 104.0)
    sent = [100.0 + n / 100 for n in range(-200, 700)]
    moved = [
        {
            "operation": "failover",
            "arguments": {"path": 1},
            "time": 100.3,
            "elapsed_ms": 20.0,
            "summary": "away",
        },
        {
            "operation": "failover",
            "arguments": {"path": 0},
            "time": 105.0,
            "elapsed_ms": 10.0,
            "summary": "back",
        },
    ]
    with_backup = measure(
        "with backup", "t", [(0, t, None if 100 <= t < 100.32 else 1.0) for t in sent], moved, 100.0, 104.0
    )
    assert (with_backup["lost"], with_backup["cut_off_s"]) == (32, 0.32)
    assert (with_backup["failover_after"], with_backup["failback_after"]) == (0.32, 1.01)
    without = measure(
        "without backup", "t", [(0, t, None if 100 <= t < 104 else 1.0) for t in sent], [], 100.0, 104.0
    )
    assert check({"variants": [with_backup, without]})[0]
    slow = {**with_backup, "failover_after": 1.4, "last_loss_after": 1.39}
    verdict, said = check({"variants": [slow, without]})
    assert not verdict and "failover after 1.4 s" in said
    assert not check({"variants": [with_backup, with_backup]})[0]  # no backup, yet no outage


def test_paths_that_fail_together_move_nothing():
    """A broken return path silences every path of a route at once: the misses of one round
    all count before the manager decides, so it does not move to a path failing as well."""
    cards = Cards()
    manager = RouteManager(cards.inject, cards.switch)
    manager.refresh(compile_topology(Intent(DESIGN, design()).topology))
    key = ("shared", "shared-rt", "10.1.0.0/16")
    now = rounds(manager, 0.0, 10)
    rounds(manager, now, 5, silent={(key, 0), (key, 1)})
    assert [p.up for p in manager.health[key].paths] == [False, False]
    assert cards.switches == []
