"""Hyperplane: the os-ken app that ships compiled flows to each Nitro card.

A thin shell (like Faucet's faucet.py over valve.py): the pure compiler makes each card's
flows from the running intent; this app only sends them and answers a small JSON API.
- When a card connects (first time, or after a controller restart) it is *reconciled*: a flow
  dump tells what it has; every expected flow is (re)added in place, then only the extra
  flows are deleted, so a restart causes no forwarding gap and no duplicates. A barrier then
  marks the card ready in the status file ``vpclab up`` waits on. A fresh card's dump is
  empty, and flows shared by many cards are encoded once and sent in batches.
- The API (one JSON request per line, on 127.0.0.1) applies runtime changes incrementally:
  only the flows that differ are sent, and the answer comes after every card's barrier.
The datapath-id of a card is its server's index in the topology (see nitro_switch).

The running intent lives in a JSON file of the run directory (written by ``vpclab`` at
bring-up, rewritten atomically after every change), so a restarted controller reconciles the
cards to the design as changed, not to the topology file.

Run: ``python -m controller.hyperplane.app INTENT.json --port PORT --api-port PORT --status FILE``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import socket
import sys
import time

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from controller.compiler import compile_topology, recompile
from controller.compiler.differ import FlowDiff
from controller.compiler.sampling import origins_by_point
from controller.hyperplane import pmtu
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
from vpclab.intent.changes import ChangeError, Intent
from vpclab.intent.model import INTERNET_CARD
from vpclab.layout.plan import ORIGINS_FILE

ENV_INTENT, ENV_STATUS, ENV_API = "VPCLAB_INTENT", "VPCLAB_STATUS", "VPCLAB_API_PORT"
ENV_DELAY = "VPCLAB_PROPAGATION_DELAY"
BARRIER_TIMEOUT = 5.0
PROBE_TICK = 0.01  # seconds between the route manager's looks at its probes
SEND_BATCH = 500  # flow-mods per write when a card is (re)filled
LOG = logging.getLogger("hyperplane")


class StatusFile:
    """Which cards are ready, with their flow counts, written atomically as JSON."""

    def __init__(self, path: str, **fields):
        self.path, self.fields = path, fields
        self.cards: dict[str, dict] = {}

    def update(self, server: str, **fields) -> None:
        self.cards[server] = {**self.cards.get(server, {}), **fields}
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), **self.fields, "cards": self.cards}, handle)
        os.replace(temporary, self.path)


def guarded(handler):
    """Faucet's policy for event handlers: an unexpected exception is logged and ends the
    controller (the status file says why), rather than leaving it running half-broken;
    ``vpclab`` sees it exit, and a restarted controller reconciles every card."""

    @functools.wraps(handler)
    def run(self, event):
        try:
            return handler(self, event)
        except Exception as error:
            LOG.exception("%s failed", handler.__name__)
            self.status.update(
                "_controller", ready=False, error=f"{handler.__name__}: {type(error).__name__}: {error}"
            )
            logging.shutdown()
            os._exit(1)

    return run


class Hyperplane(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.intent_path = os.environ[ENV_INTENT]
        self.intent, self.changes = Intent.load(self.intent_path)  # every runtime change applied
        self.compiled = compile_topology(self.intent.topology)
        self._publish_origins()
        self.servers = {index: name for name, index in self.compiled.plan.server_index.items()}
        self.datapaths: dict[str, object] = {}
        self.ready_barriers: dict[int, str] = {}  # xid -> server being reconciled
        self.change_barriers: dict[int, hub.Event] = {}  # xid -> a change waiting for it
        self.extra_flows: dict[str, list] = {}
        self.errors: dict[str, list[str]] = {}  # server -> switch errors not yet reported
        self.change_lock = hub.BoundedSemaphore(1)
        self.propagation_delay = float(os.environ.get(ENV_DELAY, "0"))  # seconds, like AWS's
        self.pending = hub.Queue()  # (due, recompiled, change record): changes not yet sent
        hub.spawn(self._propagate)
        self.load = Load()
        self.routes = RouteManager(self._injecting("route-probe"), self._switch)
        self.targets = TargetHealthManager(self._injecting("health-check"), self._mark)
        self._refresh_managers()
        hub.spawn(self._probe)
        api_port = int(os.environ[ENV_API])
        self.status = StatusFile(os.environ[ENV_STATUS], api_port=api_port)
        self.status.update("_controller", ready=True)
        self.api = hub.StreamServer(("127.0.0.1", api_port), self.serve_api)
        hub.spawn(self.api.serve_forever)

    # -- OpenFlow ----------------------------------------------------------------------------
    def send(self, datapath, message) -> None:
        message.datapath = datapath
        datapath.send_msg(message)

    def send_flows(self, datapath, flows) -> None:
        """Add ``flows``, their encoded flow-mods sent back to back, SEND_BATCH at a time."""
        for start in range(0, len(flows), SEND_BATCH):
            datapath.send(b"".join(flow_mod_bytes(each) for each in flows[start : start + SEND_BATCH]))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    @guarded
    def card_connected(self, event):
        datapath = event.msg.datapath
        server = self.servers.get(datapath.id)
        if server is None:
            LOG.warning("unknown datapath %016x", datapath.id)
            return
        self.datapaths[server] = datapath
        self.errors[server] = []
        self.extra_flows[server] = []
        self.send(datapath, flow_stats_request())
        LOG.info("%s: connected, reconciling", server)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    @guarded
    def flow_dump(self, event):
        """Reconciliation: delete what the card has beyond the expected flows."""
        datapath = event.msg.datapath
        server = self.servers.get(datapath.id)
        if server is None:  # a card we do not know: card_connected refused it
            return
        expected = {match_key(each) for each in self.compiled.flows[server]}
        self.extra_flows[server] += [
            stat
            for stat in event.msg.body
            if (stat.table_id, stat.priority, match_items(stat.match)) not in expected
        ]
        if event.msg.flags & datapath.ofproto.OFPMPF_REPLY_MORE:
            return
        self.send_flows(datapath, self.compiled.flows[server])
        for stat in self.extra_flows[server]:
            self.send(datapath, delete_matching(stat.table_id, stat.priority, stat.match))
        LOG.info(
            "%s: sent %d flows, %d extra flows deleted",
            server,
            len(self.compiled.flows[server]),
            len(self.extra_flows[server]),
        )
        request = barrier()
        self.send(datapath, request)
        self.ready_barriers[request.xid] = server

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    @guarded
    def switch_error(self, event):
        """A card refused a message: remembered until the change or readiness it belongs to
        is answered, so the user hears of it instead of an 'ok'."""
        server = self.servers.get(event.msg.datapath.id, "?")
        text = f"{server}: OpenFlow error type {event.msg.type} code {event.msg.code} (xid {event.msg.xid})"
        LOG.error(text)
        self.errors.setdefault(server, []).append(text)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    @guarded
    def barrier_reply(self, event):
        server = self.ready_barriers.pop(event.msg.xid, None)
        if server is not None:
            errors = self.errors.get(server, [])
            self.status.update(
                server,
                ready=not errors,
                flows=len(self.compiled.flows[server]),
                deleted_on_connect=len(self.extra_flows.get(server, [])),
                errors=errors,
            )
        waiting = self.change_barriers.pop(event.msg.xid, None)
        if waiting is not None:
            waiting.set()

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    @guarded
    def packet_in(self, event):
        """What comes up to the controller: packets too long for an internet gateway (answered
        with an ICMP error) and the answers to health probes (routes', NLBs'). No connection's
        packets: the cards clamp a TGW's MSS in their kernel."""
        data, now = bytes(event.msg.data), time.monotonic()
        if pmtu.handles(event.msg.table_id):
            self.load.came_in("pmtu")
            error = pmtu.answer(data)
            if error is not None and self._inject(INTERNET_CARD, error):
                self.load.went_out("pmtu-error")
            return
        late = self.routes.late
        if self.routes.packet_in(data, now):
            self.load.came_in("route-probe")
        elif self.routes.late > late:
            self.load.came_in("route-probe-late")
        elif self.targets.packet_in(data, now):
            self.load.came_in("health-check")
        else:
            self.load.came_in("unclaimed")

    # -- failover routes ---------------------------------------------------------------------
    def _probe(self) -> None:
        while True:
            for manager in (self.routes, self.targets):
                try:
                    manager.tick(time.monotonic())
                except Exception:
                    LOG.exception("%s tick failed", type(manager).__name__)
            hub.sleep(PROBE_TICK)

    def _publish_origins(self) -> None:
        """Write, beside the running design, which YAML object each observation point stands
        for (what the flow log collector names in its records), atomically. Only a design with
        flow logs has a collector: without, a change pays nothing for it (hashing every flow's
        origin takes ~50 ms at 512 instances)."""
        if not self.compiled.plan.topology.flow_logs:
            return
        points = origins_by_point(self.compiled.origins.values())
        path = os.path.join(os.path.dirname(self.intent_path), ORIGINS_FILE)
        with open(path + ".new", "w", encoding="utf-8") as handle:
            json.dump({str(point): origin for point, origin in points.items()}, handle, sort_keys=True)
        os.replace(path + ".new", path)

    def _refresh_managers(self) -> None:
        self.routes.refresh(self.compiled)
        self.targets.refresh(self.compiled)

    def _mark(self, check, healthy: bool, reason: str) -> None:
        """A target's health, recorded as a change like any other (logged, saved)."""
        arguments = {"load_balancer": check.load_balancer, "target": check.target, "healthy": healthy}
        hub.spawn(self._managed_change, "target-health", {**arguments, "reason": reason})

    def _switch(self, probe, path: int, reason: str) -> None:
        """A failover route moved to ``path``, as a change like any other (logged, saved)."""
        arguments = {"vpc": probe.vpc, "table": probe.table, "destination": probe.destination, "path": path}
        hub.spawn(self._managed_change, "failover", {**arguments, "reason": reason})

    def _managed_change(self, operation: str, arguments: dict) -> None:
        """A change a manager asked for; the managers then follow the design as it is."""
        try:
            answer = self.change(operation, arguments)
            if not answer["ok"]:
                LOG.error("%s %s: %s", operation, arguments, answer["error"])
        except ChangeError as error:
            LOG.error("%s %s refused: %s", operation, arguments, error)
        finally:
            self._refresh_managers()

    def _injecting(self, kind: str):
        """An inject that counts what it sent as ``kind``."""

        def inject(server: str, message) -> bool:
            sent = self._inject(server, message)
            if sent:
                self.load.went_out(kind)
            return sent

        return inject

    def _inject(self, server: str, message) -> bool:
        datapath = self.datapaths.get(server)
        if datapath is None:
            return False
        self.send(datapath, message)
        return True

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    @guarded
    def card_lost(self, event):
        server = self.servers.get(event.datapath.id)
        if server is not None:
            self.datapaths.pop(server, None)
            self.status.update(server, ready=False)

    # -- the API -----------------------------------------------------------------------------
    def serve_api(self, connection, address):
        reader = connection.makefile("r")
        for line in reader:
            try:
                answer = self.answer(json.loads(line))
            except VpclabError as error:
                answer = {"ok": False, "error": str(error), "code": error.code}
            except (ValueError, KeyError) as error:  # not JSON, or a field missing
                answer = {"ok": False, "error": f"malformed request: {error}", "code": "MalformedRequest"}
            except Exception as error:
                LOG.exception("API request %s failed", line.strip())
                answer = {
                    "ok": False,
                    "error": f"internal error ({type(error).__name__}: {error}); see hyperplane.log",
                    "code": "InternalError",
                }
            connection.sendall((json.dumps(answer) + "\n").encode())
        connection.close()

    def answer(self, request: dict) -> dict:
        command = request.get("command")
        if command == "change":
            return self.change(request["operation"], request.get("arguments", {}))
        if command == "status":
            return {
                "ok": True,
                "cards": {s: s in self.datapaths for s in self.compiled.flows},
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
            return {
                "ok": True,
                "flows": [
                    {
                        "stage": f.stage,
                        "priority": f.priority,
                        "match": dict(f.match),
                        "actions": [a.describe() for a in f.actions],
                        "origin": f.origin,
                    }
                    for f in self.compiled.flows[request["server"]]
                ],
            }
        raise ValueError(f"unknown command {command!r}")

    def change(self, operation: str, arguments: dict) -> dict:
        """Apply a change, send each card only its flow diff, answer after the barriers.

        One change at a time (two would diff against stale state). The answer is ok only if
        every connected card confirmed with a barrier in time and refused nothing. With a
        propagation delay, the change is validated and compiled at once (the running design
        is the new one), its flows reach the cards that many seconds later, in order, and the
        answer says when.
        """
        with self.change_lock:
            started = time.monotonic()
            topology = self.intent.apply(operation, **arguments)
            validated = time.monotonic()
            result = recompile(self.compiled, topology)
            self.compiled = result.compiled
            self._publish_origins()
            self._refresh_managers()
            compiled_at = time.monotonic()
            phases = {
                "validate_ms": round((validated - started) * 1000, 1),
                "compile_ms": round((compiled_at - validated) * 1000, 1),
                "rebuilt_units": result.rebuilt,
            }
            now = time.time()
            record = {
                "operation": operation,
                "arguments": arguments,
                **phases,
                "time": now,
                "summary": self.intent.summary,
            }
            self.changes.append(record)
            if self.propagation_delay:
                record["propagates_at"] = now + self.propagation_delay
                self.intent.save(self.intent_path, self.changes)
                self.pending.put((time.monotonic() + self.propagation_delay, result, record))
                counts = {
                    server: {"added": len(delta.add), "deleted": len(delta.delete)}
                    for server, delta in result.changed.items()
                }
                return {
                    "ok": True,
                    "changed": counts,
                    **phases,
                    "scheduled_in_s": self.propagation_delay,
                    "summary": self.intent.summary,
                }
            return self._deliver(result, record, started)

    def _propagate(self) -> None:
        """Deliver the delayed changes, in the order they were accepted, each when it is due."""
        while True:
            due, result, record = self.pending.get()
            hub.sleep(max(0.0, due - time.monotonic()))
            with self.change_lock:
                answer = self._deliver(result, record, time.monotonic())
            record["propagated_at"] = time.time()
            self.intent.save(self.intent_path, self.changes)
            if not answer["ok"]:
                LOG.error("delayed change %s failed: %s", record["operation"], answer["error"])

    def _deliver(self, result, record: dict, started: float) -> dict:
        """Send each connected card its diff of ``result`` and wait for the barriers."""
        waiting, changed = {}, {}
        for server, datapath in list(self.datapaths.items()):
            delta = result.changed.get(server, FlowDiff([], []))
            changed[server] = {"added": len(delta.add), "deleted": len(delta.delete)}
            self.errors[server] = []
            for message in diff_messages(delta):
                self.send(datapath, message)
            request = barrier()
            self.send(datapath, request)
            event = hub.Event()
            self.change_barriers[request.xid] = event
            waiting[server] = event
        late = [server for server, event in waiting.items() if not event.wait(timeout=BARRIER_TIMEOUT)]
        refused = [text for server in waiting for text in self.errors.get(server, [])]
        elapsed = round((time.monotonic() - started) * 1000, 1)
        record.update(changed=changed, elapsed_ms=elapsed, late=late, refused=refused)
        self.intent.save(self.intent_path, self.changes)
        LOG.info(
            "change %s %s: %s in %.1f ms%s",
            record["operation"],
            json.dumps(record["arguments"]),
            changed,
            elapsed,
            f"; late {late}; refused {refused}" if late or refused else "",
        )
        if late or refused:
            problems = [f"{s} did not confirm within {BARRIER_TIMEOUT:.0f} s" for s in late]
            return {"ok": False, "error": "; ".join(problems + refused), "changed": changed}
        phases = {key: record[key] for key in ("validate_ms", "compile_ms", "rebuilt_units")}
        return {"ok": True, "changed": changed, "elapsed_ms": elapsed, **phases, "summary": record["summary"]}


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hyperplane", description=__doc__.splitlines()[0])
    parser.add_argument("intent", help="the run's intent file (JSON, see Intent.save)")
    parser.add_argument("--port", type=int, required=True, help="OpenFlow port on 127.0.0.1")
    parser.add_argument("--api-port", type=int, required=True, help="JSON API port on 127.0.0.1")
    parser.add_argument("--status", required=True, help="JSON file of ready cards")
    parser.add_argument(
        "--propagation-delay",
        type=float,
        default=0.0,
        help="seconds between accepting a runtime change and sending its flows (AWS: seconds)",
    )
    args = parser.parse_args(argv)
    for port in (args.port, args.api_port):
        if not port_is_free(port):
            print(f"hyperplane: port {port} on 127.0.0.1 is taken", file=sys.stderr)
            return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.environ.update(
        {
            ENV_INTENT: args.intent,
            ENV_STATUS: args.status,
            ENV_API: str(args.api_port),
            ENV_DELAY: str(args.propagation_delay),
        }
    )
    cfg.CONF(
        args=["--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(args.port)], project="os_ken"
    )
    app_manager.AppManager.run_apps(["controller.hyperplane.app"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
