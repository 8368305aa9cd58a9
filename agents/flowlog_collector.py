"""The flow log collector of a run: the cards' IPFIX exporters -> one file per flow log.

Its own process (``python -m agents.flowlog_collector``), started and stopped with the
emulation, so a controller restart loses nothing. Each card's ovs-vswitchd runs in its
server's namespace and exports to 127.0.0.1 there: the collector opens one UDP socket inside
each namespace (``setns`` for the moment of the ``socket`` call) and reads them all from one
loop. It follows the running design (the run's intent file, and the origins Hyperplane wrote
beside it when it compiled that design), so a rule added at run time is named in the records of
the flows it made.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import sys
import time
from contextlib import nullcontext
from typing import Optional

from agents.flowlog_records import LOG_SUFFIX, Aggregator, Interfaces
from agents.ipfix import Decoder
from agents.netns import entered
from vpclab.errors import OperationFailed
from vpclab.intent.changes import Intent
from vpclab.layout.names import Names
from vpclab.layout.pipeline import IPFIX_PORT
from vpclab.layout.plan import ORIGINS_FILE

TICK = 0.2  # seconds between looks at due records and at the running design
RECEIVE_BUFFER = 4 << 20  # bursts of records while the loop writes
READY = "flow log collector ready"
DESIGN_WAIT = 120.0  # seconds to wait for Hyperplane's first compile (a loaded machine is slow)


class DesignNotPublished(OperationFailed):
    """Hyperplane did not write the origins of the running design in time."""


def wait_for_design(intent_file: str, timeout: float = DESIGN_WAIT, poll: float = 0.05) -> None:
    """Wait until Hyperplane has written the origins of the running design beside its intent
    file: it does so when it has compiled it, which may be after the cards are up."""
    origins_file = os.path.join(os.path.dirname(intent_file), ORIGINS_FILE)
    deadline = time.monotonic() + timeout
    while not (os.path.exists(intent_file) and os.path.exists(origins_file)):
        if time.monotonic() >= deadline:
            raise DesignNotPublished(
                f"Hyperplane did not write {origins_file} within {timeout:.0f} s (see hyperplane.log)"
            )
        time.sleep(poll)


def network_namespace(name: Optional[str]):
    """Run the block in network namespace ``name`` (this thread only), then come back."""
    return entered(f"/run/netns/{name}") if name else nullcontext()


def listening_socket(netns: Optional[str], port: int = IPFIX_PORT) -> socket.socket:
    with network_namespace(netns):
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    listener.bind(("127.0.0.1", port))
    return listener


class Collector:
    def __init__(self, intent_file: str, cards: dict[str, socket.socket], out_dir: str):
        self.intent_file, self.out_dir = intent_file, out_dir
        self.cards = {listener: card for card, listener in cards.items()}
        self.decoders = {listener: Decoder() for listener in self.cards}
        self.seen_design = 0.0
        self.aggregator: Optional[Aggregator] = None
        self.files: dict = {}
        self.stopping = False
        self.datagrams = self.samples = self.written = self.undecodable = 0
        os.makedirs(out_dir, exist_ok=True)
        self._follow_design()

    def _follow_design(self) -> None:
        """Load the running design again if the controller saved a change, with what each
        observation point stands for as the controller compiled it (no second compile)."""
        origins_file = os.path.join(os.path.dirname(self.intent_file), ORIGINS_FILE)
        changed = max(os.stat(self.intent_file).st_mtime, os.stat(origins_file).st_mtime)
        if changed == self.seen_design:
            return
        with open(origins_file, encoding="utf-8") as handle:
            origins = {int(point): origin for point, origin in json.load(handle).items()}
        interfaces = Interfaces(Intent.load(self.intent_file)[0].topology, origins)
        if self.aggregator is None:
            self.aggregator = Aggregator(interfaces)
        else:
            self.aggregator.interfaces = interfaces
        self.seen_design = changed

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        next_tick = time.monotonic() + TICK
        while not self.stopping:
            try:
                ready, _, _ = select.select(list(self.cards), [], [], TICK)
            except InterruptedError:
                continue
            for listener in ready:
                self._receive(listener)
            if time.monotonic() >= next_tick:
                self._follow_design()
                self._write(time.time())
                next_tick = time.monotonic() + TICK
        self._write(time.time(), everything=True)
        print(
            f"stopped: {self.datagrams} datagrams, {self.samples} samples, {self.written} records written, "
            f"{self.undecodable} undecodable",
            flush=True,
        )

    def _receive(self, listener: socket.socket) -> None:
        assert self.aggregator is not None
        while True:
            try:
                message = listener.recv(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            self.datagrams += 1
            try:
                records = self.decoders[listener].decode(message)
            except (ValueError, IndexError):
                self.undecodable += 1
                continue
            now = time.time()
            for record in records:
                self.samples += 1
                self.aggregator.add(self.cards[listener], record, now)

    def _write(self, now: float, everything: bool = False) -> None:
        assert self.aggregator is not None
        for name, record in self.aggregator.due(now, everything):
            if name not in self.files:
                self.files[name] = open(os.path.join(self.out_dir, name + LOG_SUFFIX), "a", encoding="utf-8")
            self.files[name].write(record.line() + "\n")
            self.written += 1
        for handle in self.files.values():
            handle.flush()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topology", help="the run's topology name (its run directory)")
    parser.add_argument("--out", required=True, help="the flow logs' directory")
    parser.add_argument("--cards", nargs="+", required=True, help="the servers whose cards export")
    parser.add_argument("--port", type=int, default=IPFIX_PORT)
    parser.add_argument("--here", action="store_true", help="listen in this namespace (benchmarks)")
    parser.add_argument("--intent", help="the running design's file (default: the run's)")
    parser.add_argument("--wait", type=float, default=DESIGN_WAIT, help="seconds to wait for the design")
    args = parser.parse_args(argv)
    names = Names(args.topology)
    cards = {
        card: listening_socket(None if args.here else names.netns(card), args.port) for card in args.cards
    }
    intent_file = args.intent or names.intent_file
    try:
        wait_for_design(intent_file, args.wait)
    except DesignNotPublished as error:
        print(f"flow log collector: {error}", file=sys.stderr, flush=True)
        return 1
    collector = Collector(intent_file, cards, args.out)
    print(READY, flush=True)
    collector.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
