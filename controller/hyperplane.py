"""Hyperplane: the os-ken app that ships compiled flows to each Nitro card.

A thin shell (like Faucet's faucet.py over valve.py): it compiles the topology once with the
pure compiler, and when a card connects it sends that card's flows followed by a barrier;
the barrier's reply marks the card ready in a status file that ``vpclab up`` waits on.
The datapath-id of a card is its server's index in the topology (see nitro_switch).

Run: ``python -m controller.hyperplane TOPOLOGY --port PORT --status FILE``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

from .compiler import compile_topology
from .loader import load_topology
from .ofmsg import barrier, delete_all, flow_mod

ENV_TOPOLOGY, ENV_STATUS = "VPCLAB_TOPOLOGY", "VPCLAB_STATUS"


class StatusFile:
    """Which cards are ready, with their flow counts, written atomically as JSON."""

    def __init__(self, path: str):
        self.path, self.cards = path, {}

    def update(self, server: str, **fields) -> None:
        self.cards[server] = {**self.cards.get(server, {}), **fields}
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "cards": self.cards}, handle)
        os.replace(temporary, self.path)


class Hyperplane(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compiled = compile_topology(load_topology(os.environ[ENV_TOPOLOGY]))
        self.servers = {index: name for name, index in self.compiled.plan.server_index.items()}
        self.status = StatusFile(os.environ[ENV_STATUS])
        self.status.update("_controller", ready=True)

    def send(self, datapath, message) -> None:
        message.datapath = datapath
        datapath.send_msg(message)

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def card_connected(self, event):
        datapath = event.msg.datapath
        server = self.servers.get(datapath.id)
        if server is None:
            self.logger.warning("unknown datapath %016x", datapath.id)
            return
        flows = self.compiled.flows[server]
        self.send(datapath, delete_all())
        for each in flows:
            self.send(datapath, flow_mod(each))
        self.send(datapath, barrier())
        self.logger.info("%s: sent %d flows", server, len(flows))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def card_ready(self, event):
        server = self.servers.get(event.msg.datapath.id)
        if server is not None:
            self.status.update(server, ready=True, flows=len(self.compiled.flows[server]))

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def card_lost(self, event):
        server = self.servers.get(event.datapath.id)
        if server is not None:
            self.status.update(server, ready=False)


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
    parser.add_argument("topology")
    parser.add_argument("--port", type=int, required=True, help="OpenFlow port on 127.0.0.1")
    parser.add_argument("--status", required=True, help="JSON file of ready cards")
    args = parser.parse_args(argv)
    if not port_is_free(args.port):
        print(f"hyperplane: port {args.port} on 127.0.0.1 is taken", file=sys.stderr)
        return 2
    os.environ[ENV_TOPOLOGY], os.environ[ENV_STATUS] = args.topology, args.status
    from os_ken import cfg
    cfg.CONF(args=["--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(args.port)],
             project="os_ken")
    app_manager.AppManager.run_apps(["controller.hyperplane"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
