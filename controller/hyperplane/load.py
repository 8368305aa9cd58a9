"""What reaches Hyperplane from the cards at run time, and what it sends back, by kind; and
the CPU its process has used. No connection's packets come up (the cards clamp a TGW's MSS in
their kernel): only what the controller itself is for. The API's ``load`` command answers with
a snapshot; ``bench/controller_load.py`` turns two of them into rates."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable

from vpclab.errors import Defect

# packet-ins: a neighbour solicitation (answered with an advertisement), an IGW's too-long
# packet (answered with an ICMP error), the answer to a failover route's probe (in time, or
# after the probe counted as missed), an NLB target's answer to a health check, anything else
# (counted, dropped)
PACKET_INS = ("nd", "pmtu", "route-probe", "route-probe-late", "health-check", "unclaimed")
# packet-outs: neighbour advertisements, the ICMP "fragmentation needed" it builds, route
# probes, health checks
PACKET_OUTS = ("nd-advertisement", "pmtu-error", "route-probe", "health-check")


class Load:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.started = clock()
        self.packet_ins: Counter = Counter()
        self.packet_outs: Counter = Counter()

    def came_in(self, kind: str) -> None:
        if kind not in PACKET_INS:
            raise Defect(f"no packet-in kind {kind!r}")
        self.packet_ins[kind] += 1

    def went_out(self, kind: str) -> None:
        if kind not in PACKET_OUTS:
            raise Defect(f"no packet-out kind {kind!r}")
        self.packet_outs[kind] += 1

    def snapshot(self) -> dict:
        """Counts since the start, the seconds they cover and the process's CPU seconds."""
        times = os.times()
        return {
            "seconds": self.clock() - self.started,
            "cpu_seconds": times.user + times.system,
            "packet_ins": {kind: self.packet_ins[kind] for kind in PACKET_INS},
            "packet_outs": {kind: self.packet_outs[kind] for kind in PACKET_OUTS},
        }


def rates(before: dict, after: dict) -> dict:
    """Per second between two snapshots: packet-ins and -outs by kind, and CPU as a share of
    one core."""
    span = after["seconds"] - before["seconds"]
    if span <= 0:
        raise ValueError("two snapshots of the same moment: no rate")
    return {
        "seconds": span,
        "cpu_cores": (after["cpu_seconds"] - before["cpu_seconds"]) / span,
        "packet_ins": {k: (after["packet_ins"][k] - before["packet_ins"][k]) / span for k in PACKET_INS},
        "packet_outs": {k: (after["packet_outs"][k] - before["packet_outs"][k]) / span for k in PACKET_OUTS},
    }
