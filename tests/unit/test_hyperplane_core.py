"""Hyperplane's core, driven by events as the os-ken app drives it (no switch, no os-ken app):
reconciliation, a change's delivery with its barriers, the propagation delay's queue."""

import os
import types

import pytest
import yaml
from os_ken.ofproto import ofproto_v1_3_parser as parser

from controller.hyperplane.core import BARRIER_TIMEOUT, Core, StatusFile
from vpclab.intent.changes import ChangeError, Intent

DESIGN = os.path.join(os.path.dirname(__file__), "..", "..", "topologies", "tgw-blackhole.yaml")
BLACKHOLE = {"tgw": "core", "table": "hub", "cidr": "10.2.0.0/16"}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def core(tmp_path, delay=0.0):
    with open(DESIGN, encoding="utf-8") as handle:
        intent = Intent(DESIGN, yaml.safe_load(handle))
    clock = Clock()
    status = StatusFile(str(tmp_path / "status.json"))
    return Core(intent, [], None, status, delay, clock=clock, wall=clock), clock


def kinds(outs):
    return [type(out.message).__name__ if not isinstance(out.message, bytes) else "flow-mods" for out in outs]


def barriers(outs):
    return [out.message.xid for out in outs if isinstance(out.message, parser.OFPBarrierRequest)]


def connect(hyperplane, extra=()):
    for index in hyperplane.servers:
        hyperplane.card_connected(index)
        hyperplane.flow_dump(index, list(extra), more=False)
    for xid in barriers(hyperplane.take()):
        hyperplane.barrier_reply(xid)


def test_a_card_is_reconciled_extra_flows_deleted_then_marked_ready(tmp_path):
    hyperplane, _ = core(tmp_path)
    index, server = next(iter(hyperplane.servers.items()))
    hyperplane.card_connected(index)
    assert kinds(hyperplane.take()) == ["OFPFlowStatsRequest"]
    stranger = types.SimpleNamespace(table_id=3, priority=7, match=parser.OFPMatch(reg0=99))
    hyperplane.flow_dump(index, [stranger], more=True)  # more to come: nothing sent yet
    assert hyperplane.take() == []
    hyperplane.flow_dump(index, [], more=False)
    sent = hyperplane.take()
    assert kinds(sent)[-2:] == ["OFPFlowMod", "OFPBarrierRequest"] and "flow-mods" in kinds(sent)
    assert sent[-2].message.command == parser.ofproto.OFPFC_DELETE_STRICT and sent[-2].message.priority == 7
    assert server not in hyperplane.status.cards  # not ready before its barrier
    hyperplane.barrier_reply(barriers(sent)[0])
    assert hyperplane.status.cards[server]["ready"] is True
    assert hyperplane.status.cards[server]["deleted_on_connect"] == 1
    assert hyperplane.status.cards[server]["flows"] == len(hyperplane.compiled.flows[server])


def test_a_change_ends_when_every_card_confirmed(tmp_path):
    hyperplane, _ = core(tmp_path)
    connect(hyperplane)
    delivery = hyperplane.change("blackhole", BLACKHOLE)
    sent = hyperplane.take()
    xids = barriers(sent)
    assert len(xids) == len(hyperplane.connected) == 3 and delivery.answer is None
    assert {out.server for out in sent} == hyperplane.connected
    for xid in xids[:-1]:
        assert hyperplane.barrier_reply(xid) == []
    assert hyperplane.barrier_reply(xids[-1]) == [delivery]
    assert delivery.answer["ok"] and delivery.answer["changed"]["srv1"] == {"added": 1, "deleted": 1}


def test_a_card_that_does_not_confirm_in_time_fails_the_change(tmp_path):
    hyperplane, clock = core(tmp_path)
    connect(hyperplane)
    delivery = hyperplane.change("blackhole", BLACKHOLE)
    xids = barriers(hyperplane.take())
    hyperplane.barrier_reply(xids[0])
    clock.now += BARRIER_TIMEOUT - 0.1
    assert hyperplane.tick() == []
    clock.now += 0.2
    assert hyperplane.tick() == [delivery]
    assert not delivery.answer["ok"] and "did not confirm within 5 s" in delivery.answer["error"]
    assert hyperplane.changes[-1]["late"] == sorted(hyperplane.connected - {"srv1"})


def test_a_refusal_the_card_reports_fails_the_change(tmp_path):
    hyperplane, _ = core(tmp_path)
    connect(hyperplane)
    delivery = hyperplane.change("blackhole", BLACKHOLE)
    hyperplane.switch_error(1, 5, 6, 42)
    for xid in barriers(hyperplane.take()):
        hyperplane.barrier_reply(xid)
    assert delivery.answer == {
        "ok": False,
        "error": "srv1: OpenFlow error type 5 code 6 (xid 42)",
        "changed": delivery.answer["changed"],
    }


def test_with_a_delay_changes_reach_the_cards_in_order_when_due(tmp_path):
    hyperplane, clock = core(tmp_path, delay=18.0)
    connect(hyperplane)
    first = hyperplane.change("blackhole", BLACKHOLE)
    assert hyperplane.accepted(first)["scheduled_in_s"] == 18.0
    assert hyperplane.compiled.plan.topology.transit_gateway("core")  # compiled at once
    clock.now += 1
    second = hyperplane.change("restore-tgw-route", BLACKHOLE)
    assert hyperplane.take() == [] and first.record["propagates_at"] == 118.0
    clock.now += 17
    hyperplane.tick()
    first_xids = barriers(hyperplane.take())
    assert len(first_xids) == 3  # the first only: the second waits for it
    for xid in first_xids:
        hyperplane.barrier_reply(xid)
    assert first.answer["ok"] and second.answer is None
    hyperplane.take()  # the second is not due yet (accepted a second later)
    clock.now += 1
    hyperplane.tick()
    for xid in barriers(hyperplane.take()):
        hyperplane.barrier_reply(xid)
    assert second.answer["ok"] and second.record["propagated_at"] == 119.0


def test_a_refused_change_changes_nothing(tmp_path):
    hyperplane, _ = core(tmp_path)
    connect(hyperplane)
    before = hyperplane.compiled
    with pytest.raises(ChangeError, match="nope"):
        hyperplane.change("blackhole", {**BLACKHOLE, "tgw": "nope"})
    assert hyperplane.compiled is before and hyperplane.changes == [] and hyperplane.take() == []


def test_an_earlier_connection_declared_lost_after_the_card_reconnected_loses_nothing(tmp_path):
    """Seen live: a card's first connection reset during the controller's start, and its loss
    came after the second connection's features; the card must stay and get its flows."""
    hyperplane, _ = core(tmp_path)
    index, server = 1, "srv1"
    first, second = object(), object()
    hyperplane.card_connected(index, first)
    hyperplane.card_connected(index, second)
    hyperplane.card_lost(index, first)
    assert server in hyperplane.connected
    hyperplane.take()
    hyperplane.flow_dump(index, [], more=False)
    assert "flow-mods" in kinds(hyperplane.take())
    hyperplane.card_lost(index, second)
    assert server not in hyperplane.connected
