"""Hyperplane: the os-ken app that ships compiled flows to each Nitro card.

A thin shell (like Faucet's faucet.py over valve.py): ``core.Core`` decides everything from
events; this app turns OpenFlow events into calls of the core, sends what the core returns,
serves the JSON API (one request per line, on 127.0.0.1; a change is answered when its
delivery ends) and ticks the core every 10 ms. The datapath-id of a card is its server's
index in the topology (see nitro_switch).

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
from typing import Any

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from controller.hyperplane.core import Core, Delivery, StatusFile
from vpclab.errors import VpclabError
from vpclab.intent.changes import Intent

ENV_INTENT, ENV_STATUS, ENV_API = "VPCLAB_INTENT", "VPCLAB_STATUS", "VPCLAB_API_PORT"
ENV_DELAY = "VPCLAB_PROPAGATION_DELAY"
TICK = 0.01  # seconds between the core's ticks (the managers' probes, deliveries' timeouts)
LOG = logging.getLogger("hyperplane")


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
            self.core.status.update(
                "_controller", ready=False, error=f"{handler.__name__}: {type(error).__name__}: {error}"
            )
            logging.shutdown()
            os._exit(1)

    return run


class Hyperplane(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        path, api_port = os.environ[ENV_INTENT], int(os.environ[ENV_API])
        intent, changes = Intent.load(path)  # every runtime change applied
        status = StatusFile(os.environ[ENV_STATUS], api_port=api_port)
        delay = float(os.environ.get(ENV_DELAY, "0"))
        self.core = Core(intent, changes, path, status, delay)
        self.datapaths: dict[str, Any] = {}
        self.ended: dict[int, hub.Event] = {}  # id(delivery) -> an API request waiting for it
        self.change_lock = hub.BoundedSemaphore(1)  # one API change at a time
        self.sending = hub.BoundedSemaphore(1)
        hub.spawn(self._tick)
        self.api = hub.StreamServer(("127.0.0.1", api_port), self.serve_api)
        hub.spawn(self.api.serve_forever)

    def flush(self) -> None:
        """Send what the core produced, each message to its card (if still connected), in the
        order the core produced it: one flush at a time (a send may wait for a card's queue,
        and another greenlet's flush must not overtake it)."""
        with self.sending:
            for out in self.core.take():
                datapath = self.datapaths.get(out.server)
                if datapath is None:  # lost since
                    continue
                if isinstance(out.message, bytes):
                    datapath.send(out.message)
                else:
                    out.message.datapath = datapath
                    datapath.send_msg(out.message)

    def _ended(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            waiting = self.ended.pop(id(delivery), None)
            if waiting is not None:
                waiting.set()

    # -- OpenFlow ----------------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    @guarded
    def card_connected(self, event):
        datapath = event.msg.datapath
        server = self.core.servers.get(datapath.id)
        if server is not None:  # first: the tick may flush what the core asks this card meanwhile
            self.datapaths[server] = datapath  # (logging yields to it; seen in CI: a lost dump request)
        self.core.card_connected(datapath.id, datapath)
        self.flush()

    # The answers to what card_connected asks could arrive before os-ken's own handler of the
    # card's features has moved it to MAIN_DISPATCHER (its apps run in their own loops), and an
    # event reaches only the handlers of the state it came in: these take both.
    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    @guarded
    def flow_dump(self, event):
        more = bool(event.msg.flags & event.msg.datapath.ofproto.OFPMPF_REPLY_MORE)
        self.core.flow_dump(event.msg.datapath.id, event.msg.body, more)
        self.flush()

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    @guarded
    def switch_error(self, event):
        self.core.switch_error(event.msg.datapath.id, event.msg.type, event.msg.code, event.msg.xid)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    @guarded
    def barrier_reply(self, event):
        self._ended(self.core.barrier_reply(event.msg.xid))
        self.flush()

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    @guarded
    def packet_in(self, event):
        message = event.msg
        self.core.packet_in(
            message.table_id, bytes(message.data), message.datapath.id, message.match.get("in_port")
        )
        self.flush()

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    @guarded
    def card_lost(self, event):
        self.core.card_lost(event.datapath.id, event.datapath)  # an earlier connection: ignored
        self.datapaths = {s: d for s, d in self.datapaths.items() if s in self.core.connected}

    def _tick(self) -> None:
        while True:
            self._ended(self.core.tick())
            self.flush()
            hub.sleep(TICK)

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
        if request.get("command") != "change":
            return self.core.answer(request)
        with self.change_lock:
            delivery = self.core.change(request["operation"], request.get("arguments", {}))
            if self.core.propagation_delay:
                self.flush()
                return self.core.accepted(delivery)
            if delivery.answer is None:
                waiting = self.ended[id(delivery)] = hub.Event()
                self.flush()
                waiting.wait()
            assert delivery.answer is not None
            return delivery.answer


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
    app_manager.AppManager.run_apps([__spec__.name])  # this module, as python -m names it
    return 0


if __name__ == "__main__":
    sys.exit(main())
