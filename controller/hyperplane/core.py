"""Hyperplane's control logic, without os-ken: events in, OpenFlow messages per card out.

The os-ken application (``app.py``) turns what a card sends into the events below and sends
what they return; nothing here opens a socket, starts a thread or waits. Unit tests, the fake
switch and the shell's test double drive this same class.

- A card connects: a flow dump is asked for. Its dump arrives: every expected flow is
  (re)added in place, then only the extra flows are deleted, then a barrier; its answer
  marks the card ready in the status file (with the errors the card reported, if any).
- A change (API, or the route and target managers): validated, compiled and diffed at once;
  its delivery (each connected card's diff, then a barrier) waits in one queue, in the order
  changes were accepted, until it is due (the propagation delay) and no other delivery is in
  flight. It ends when every card confirmed, or at ``BARRIER_TIMEOUT`` (late cards named).
- A packet-in: an internet gateway's too-long packet (answered with an ICMP error from the
  internet's card), or a probe's answer for the route or target managers.
- A tick (every 10 ms): the managers probe; due deliveries start; late ones end.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from controller.compiler import compile_topology, recompile
from controller.compiler.differ import FlowDiff
from controller.compiler.matches import refuse_uncarried
from controller.compiler.sampling import origins_by_point
from controller.hyperplane import nd, pmtu
from controller.hyperplane.load import Load
from controller.hyperplane.ofmsg import (
    barrier,
    delete_matching,
    diff_messages,
    flow_mod_bytes,
    flow_stats_request,
    match_items,
    match_key,
)
from controller.hyperplane.route_manager import RouteManager
from controller.hyperplane.target_health import TargetHealthManager
from vpclab.errors import VpclabError
from vpclab.intent.changes import Intent
from vpclab.intent.model import INTERNET_CARD
from vpclab.layout.plan import ORIGINS_FILE

BARRIER_TIMEOUT = 5.0
SEND_BATCH = 500  # flow-mods per write when a card is (re)filled
FIRST_XID = 1 << 30  # the barriers' transaction ids (os-ken numbers the rest from 1)
LOG = logging.getLogger("hyperplane")


@dataclass
class Out:
    """A message for one card: an OpenFlow message, or flow-mods already encoded (bytes)."""

    server: str
    message: Any


class StatusFile:
    """Which cards are ready, with their flow counts, written atomically as JSON."""

    def __init__(self, path: Optional[str], **fields):
        self.path, self.fields = path, fields
        self.cards: dict[str, dict] = {}

    def update(self, server: str, **fields) -> None:
        self.cards[server] = {**self.cards.get(server, {}), **fields}
        if self.path is None:
            return
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), **self.fields, "cards": self.cards}, handle)
        os.replace(temporary, self.path)


@dataclass
class Delivery:
    """A change's flows on their way to the cards; ``answer`` is set when it ends."""

    result: object  # compiler.Recompiled
    record: dict
    due: float
    started: float = 0.0
    waiting: dict[int, str] = field(default_factory=dict)  # barrier xid -> server
    servers: list[str] = field(default_factory=list)
    changed: dict[str, dict] = field(default_factory=dict)
    answer: Optional[dict] = None
    on_end: Optional[Callable[[dict], None]] = None


class Core:
    def __init__(
        self,
        intent: Intent,
        changes: list,
        intent_path: Optional[str] = None,
        status: Optional[StatusFile] = None,
        propagation_delay: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        """``clock``: seconds for timeouts and delays; ``wall``: the time changes record."""
        self.clock, self.wall = clock, wall
        self.intent, self.changes, self.intent_path = intent, changes, intent_path
        self.compiled = compile_topology(intent.topology)
        # a change the cards cannot carry (IPv6 not yet, a card not built) changes nothing
        intent.refuse = lambda topology: refuse_uncarried(topology, self.servers.values())
        self._start_up(status, propagation_delay)

    @classmethod
    def of_compiled(cls, compiled) -> Core:
        """A core for cards already compiled (the fake switch's): it answers packet-ins and
        ticks; it takes no change (no intent to change)."""
        core = cls.__new__(cls)
        core.clock, core.wall = time.monotonic, time.time
        core.intent = None  # type: ignore[assignment]
        core.changes, core.intent_path, core.compiled = [], None, compiled
        core._start_up(None, 0.0)
        core.connected = set(compiled.flows)
        return core

    def _start_up(self, status: Optional[StatusFile], propagation_delay: float) -> None:
        self.propagation_delay = propagation_delay  # seconds, like AWS's
        self.status = status or StatusFile(None)
        self.servers = {index: name for name, index in self.compiled.plan.server_index.items()}
        self.connected: set[str] = set()
        self.connections: dict[str, object] = {}  # server -> its current connection
        self.outbox: list[Out] = []
        self.extra_flows: dict[str, list] = {}
        self.errors: dict[str, list[str]] = {}  # server -> switch errors not yet reported
        self.ready_barriers: dict[int, str] = {}  # xid -> server being reconciled
        self.queue: list[Delivery] = []  # accepted changes, in order; the first may be in flight
        self.wanted: list[tuple[str, dict]] = []  # changes the managers asked for
        self.xid = FIRST_XID
        self.load = Load()
        self.routes = RouteManager(self._injecting("route-probe"), self._switch)
        self.targets = TargetHealthManager(self._injecting("health-check"), self._mark)
        self._publish_origins()
        self._refresh_managers()
        self.status.update("_controller", ready=True)

    # -- cards -------------------------------------------------------------------------------
    def take(self) -> list[Out]:
        """The messages the last events produced, in order (and forget them)."""
        out, self.outbox = self.outbox, []
        return out

    def card_connected(self, datapath_id: int, connection: object = None) -> Optional[str]:
        """A card connected (``connection``: what tells this connection from an earlier one
        of the same card, which may be declared lost after this one came up)."""
        server = self.servers.get(datapath_id)
        if server is None:
            LOG.warning("unknown datapath %016x", datapath_id)
            return None
        self.connected.add(server)
        self.connections[server] = connection
        self.errors[server], self.extra_flows[server] = [], []
        self._send(server, flow_stats_request())
        LOG.info("%s: connected, reconciling", server)
        return server

    def card_lost(self, datapath_id: int, connection: object = None) -> None:
        """A connection ended; the card is lost unless it has connected again since."""
        server = self.servers.get(datapath_id)
        if server is not None and self.connections.get(server) is connection:
            self.connected.discard(server)
            self.connections.pop(server, None)
            self.status.update(server, ready=False)

    def flow_dump(self, datapath_id: int, stats: list, more: bool) -> None:
        """Reconciliation: what the card has beyond the expected flows is deleted."""
        server = self.servers.get(datapath_id)
        if server is None or server not in self.connected:
            return
        expected = {match_key(each) for each in self.compiled.flows[server]}
        self.extra_flows[server] += [
            stat for stat in stats if (stat.table_id, stat.priority, match_items(stat.match)) not in expected
        ]
        if more:
            return
        flows = self.compiled.flows[server]
        for start in range(0, len(flows), SEND_BATCH):
            self._send(server, b"".join(flow_mod_bytes(each) for each in flows[start : start + SEND_BATCH]))
        for stat in self.extra_flows[server]:
            self._send(server, delete_matching(stat.table_id, stat.priority, stat.match))
        LOG.info(
            "%s: sent %d flows, %d extra flows deleted", server, len(flows), len(self.extra_flows[server])
        )
        self.ready_barriers[self._barrier(server)] = server

    def switch_error(self, datapath_id: int, kind: int, code: int, xid: int) -> None:
        """A card refused a message: kept until the change or readiness it belongs to is
        answered, so the user hears of it instead of an 'ok'."""
        server = self.servers.get(datapath_id, "?")
        text = f"{server}: OpenFlow error type {kind} code {code} (xid {xid})"
        LOG.error(text)
        self.errors.setdefault(server, []).append(text)

    def barrier_reply(self, xid: int) -> list[Delivery]:
        """A card confirmed; returns the deliveries that ended with it."""
        server = self.ready_barriers.pop(xid, None)
        if server is not None:
            errors = self.errors.get(server, [])
            self.status.update(
                server,
                ready=not errors,
                flows=len(self.compiled.flows[server]),
                deleted_on_connect=len(self.extra_flows.get(server, [])),
                errors=errors,
            )
        head = self.queue[0] if self.queue else None
        if head is not None and head.started and head.waiting.pop(xid, None) is not None and not head.waiting:
            return self._end(self.clock())
        return []

    def packet_in(
        self, table_id: int, data: bytes, datapath_id: Optional[int] = None, in_port: Optional[int] = None
    ) -> str:
        """What came up to the controller, by kind (see ``Load``): neighbour solicitations,
        packets too long for an internet gateway and probes' answers. No connection's packets:
        the cards clamp a TGW's MSS in their kernel."""
        now = self.clock()
        if nd.handles(table_id):
            self.load.came_in("nd")
            advertisement = nd.answer(data, in_port)
            server = self.servers.get(datapath_id) if datapath_id is not None else None
            if advertisement is not None and server is not None and self._inject(server, advertisement):
                self.load.went_out("nd-advertisement")
            return "nd"
        if pmtu.handles(table_id):
            self.load.came_in("pmtu")
            error = pmtu.answer(data)
            if error is not None and self._inject(INTERNET_CARD, error):
                self.load.went_out("pmtu-error")
            return "pmtu"
        late = self.routes.late
        if self.routes.packet_in(data, now):
            kind = "route-probe"
        elif self.routes.late > late:
            kind = "route-probe-late"
        elif self.targets.packet_in(data, now):
            kind = "health-check"
        else:
            kind = "unclaimed"
        self.load.came_in(kind)
        return kind

    def tick(self) -> list[Delivery]:
        """The managers probe and ask for changes; due deliveries start, late ones end.
        Returns the deliveries that ended."""
        now = self.clock()
        for manager in (self.routes, self.targets):
            try:
                manager.tick(now)
            except Exception:
                LOG.exception("%s tick failed", type(manager).__name__)
        wanted, self.wanted = self.wanted, []
        for operation, arguments in wanted:
            try:
                self.change(operation, arguments)
            except VpclabError as error:
                LOG.error("%s %s refused: %s", operation, arguments, error)
            self._refresh_managers()
        return self._advance(self.clock())

    # -- changes -----------------------------------------------------------------------------
    def change(self, operation: str, arguments: dict) -> Delivery:
        """Accept a change: applied, compiled and diffed now; its delivery queued (due after
        the propagation delay). Nothing changes if it is refused (``VpclabError``)."""
        started = self.clock()
        topology = self.intent.apply(operation, **arguments)
        validated = self.clock()
        result = recompile(self.compiled, topology)
        self.compiled = result.compiled
        self._publish_origins()
        self._refresh_managers()
        compiled_at = now = self.clock()
        record: dict[str, Any] = {
            "operation": operation,
            "arguments": arguments,
            "validate_ms": round((validated - started) * 1000, 1),
            "compile_ms": round((compiled_at - validated) * 1000, 1),
            "rebuilt_units": result.rebuilt,
            "time": self.wall(),
            "summary": self.intent.summary,
        }
        self.changes.append(record)
        delivery = Delivery(result, record, due=now + self.propagation_delay)
        if self.propagation_delay:
            record["propagates_at"] = record["time"] + self.propagation_delay
            self._save()
        self.queue.append(delivery)
        self._advance(now)
        return delivery

    def _advance(self, now: float) -> list[Delivery]:
        """End the delivery in flight if it is late; start the next one if it is due."""
        ended = []
        head = self.queue[0] if self.queue else None
        if head is not None and head.started and now - head.started >= BARRIER_TIMEOUT:
            ended += self._end(now)
        while self.queue and not self.queue[0].started and self.queue[0].due <= now:
            self._start(self.queue[0], now)
            if self.queue[0].waiting:
                break
            ended += self._end(now)  # no card to wait for
        return ended

    def _start(self, delivery: Delivery, now: float) -> None:
        delivery.started = now or 1e-9
        for server in sorted(self.connected):
            delta = delivery.result.changed.get(server, FlowDiff([], []))  # type: ignore[attr-defined]
            delivery.changed[server] = {"added": len(delta.add), "deleted": len(delta.delete)}
            self.errors[server] = []
            for message in diff_messages(delta):
                self._send(server, message)
            delivery.waiting[self._barrier(server)] = server
            delivery.servers.append(server)

    def _end(self, now: float) -> list[Delivery]:
        delivery = self.queue.pop(0)
        record = delivery.record
        late = sorted(set(delivery.waiting.values()))
        refused = [text for server in delivery.servers for text in self.errors.get(server, [])]
        elapsed = round((now - delivery.started) * 1000, 1)
        if self.propagation_delay:
            record["propagated_at"] = self.wall()
        record.update(changed=delivery.changed, elapsed_ms=elapsed, late=late, refused=refused)
        self._save()
        LOG.info(
            "change %s %s: %s in %.1f ms%s",
            record["operation"],
            json.dumps(record["arguments"]),
            delivery.changed,
            elapsed,
            f"; late {late}; refused {refused}" if late or refused else "",
        )
        if late or refused:
            problems = [f"{s} did not confirm within {BARRIER_TIMEOUT:.0f} s" for s in late]
            error = "; ".join(problems + refused)
            delivery.answer = {"ok": False, "error": error, "changed": delivery.changed}
            if self.propagation_delay:
                LOG.error("delayed change %s failed: %s", record["operation"], error)
        else:
            phases = {key: record[key] for key in ("validate_ms", "compile_ms", "rebuilt_units")}
            delivery.answer = {
                "ok": True,
                "changed": delivery.changed,
                "elapsed_ms": elapsed,
                **phases,
                "summary": record["summary"],
            }
        return [delivery, *self._advance(now)]

    def accepted(self, delivery: Delivery) -> dict:
        """The answer to a change with a propagation delay: accepted, and when it arrives."""
        counts = {
            server: {"added": len(delta.add), "deleted": len(delta.delete)}
            for server, delta in delivery.result.changed.items()  # type: ignore[attr-defined]
        }
        phases = {key: delivery.record[key] for key in ("validate_ms", "compile_ms", "rebuilt_units")}
        return {
            "ok": True,
            "changed": counts,
            **phases,
            "scheduled_in_s": self.propagation_delay,
            "summary": self.intent.summary,
        }

    # -- the API -----------------------------------------------------------------------------
    def answer(self, request: dict) -> dict:
        """Every API command but ``change`` (which the shell waits for: see ``change``)."""
        command = request.get("command")
        if command == "status":
            return {
                "ok": True,
                "cards": {s: s in self.connected for s in self.compiled.flows},
                "flows": {s: len(f) for s, f in self.compiled.flows.items()},
            }
        if command == "load":
            return {"ok": True, "load": self.load.snapshot()}
        if command == "failover":
            return {"ok": True, "routes": self.routes.status()}
        if command == "targets":
            return {"ok": True, "targets": self.targets.status()}
        if command == "intent":
            return {"ok": True, "data": self.intent.data}
        if command == "changes":
            return {"ok": True, "changes": self.changes}
        if command == "flows":
            flows = self.compiled.flows[request["server"]]
            return {"ok": True, "flows": [_flow_view(each) for each in flows]}
        raise ValueError(f"unknown command {command!r}")

    # -- inside ------------------------------------------------------------------------------
    def _send(self, server: str, message) -> None:
        self.outbox.append(Out(server, message))

    def _barrier(self, server: str) -> int:
        request = barrier()
        self.xid += 1
        request.xid = self.xid
        self._send(server, request)
        return self.xid

    def _inject(self, server: str, message) -> bool:
        if server not in self.connected:
            return False
        self._send(server, message)
        return True

    def _injecting(self, kind: str):
        """An inject that counts what it sent as ``kind``."""

        def inject(server: str, message) -> bool:
            sent = self._inject(server, message)
            if sent:
                self.load.went_out(kind)
            return sent

        return inject

    def _switch(self, probe, path: int, reason: str) -> None:
        """A failover route moved to ``path``: a change like any other (logged, saved)."""
        arguments = {"vpc": probe.vpc, "table": probe.table, "destination": probe.destination, "path": path}
        self.wanted.append(("failover", {**arguments, "reason": reason}))

    def _mark(self, check, healthy: bool, reason: str) -> None:
        """A target's health: a change like any other (logged, saved)."""
        arguments = {"load_balancer": check.load_balancer, "target": check.target, "healthy": healthy}
        self.wanted.append(("target-health", {**arguments, "reason": reason}))

    def _refresh_managers(self) -> None:
        self.routes.refresh(self.compiled)
        self.targets.refresh(self.compiled)

    def _save(self) -> None:
        if self.intent_path is not None:
            self.intent.save(self.intent_path, self.changes)

    def _publish_origins(self) -> None:
        """Write, beside the running design, which YAML object each observation point stands
        for (what the flow log collector names in its records), atomically. Only a design with
        flow logs has a collector: without, a change pays nothing for it (hashing every flow's
        origin takes ~50 ms at 512 instances)."""
        if self.intent_path is None or not self.compiled.plan.topology.flow_logs:
            return
        points = origins_by_point(self.compiled.origins.values())
        path = os.path.join(os.path.dirname(self.intent_path), ORIGINS_FILE)
        with open(path + ".new", "w", encoding="utf-8") as handle:
            json.dump({str(point): origin for point, origin in points.items()}, handle, sort_keys=True)
        os.replace(path + ".new", path)


def _flow_view(flow) -> dict:
    return {
        "stage": flow.stage,
        "priority": flow.priority,
        "match": dict(flow.match),
        "actions": [action.describe() for action in flow.actions],
        "origin": flow.origin,
    }
