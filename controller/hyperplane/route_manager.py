"""The route manager: probes every path of each failover route and moves the route when the
health of its paths says so (through the controller's own change API, like any change).

Hyperplane calls ``tick`` on a timer and ``packet_in`` for each packet a card hands up; the
manager asks Hyperplane to ``inject`` a probe (a packet-out on a card) and to ``switch`` a
route (the ``failover`` change). What a probe does in the cards is the compiler's
(``compiler.health``); when a path is up or down is ``failover``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Optional

from os_ken.lib.packet import ethernet, icmp, ipv4, packet

from controller.compiler.health import ECHO_REPLY, ICMP, HealthProbe, health_probes
from controller.hyperplane.failover import RouteHealth
from controller.hyperplane.ofmsg import packet_out
from vpclab.layout.pipeline import ROUTER_MAC

LOG = logging.getLogger("route-manager")
FIRST_ID = 0x5600  # ICMP ids of the probes: one per (route, path)
PAYLOAD = b"vpclab health probe"


class RouteManager:
    def __init__(
        self, inject: Callable[[str, object], bool], switch: Callable[[HealthProbe, int, str], None]
    ):
        """``inject(server, packet_out)``: False if that card is not connected.
        ``switch(probe, path, reason)``: make ``path`` the route's active one (asynchronously;
        the manager hears of it through ``refresh``)."""
        self.inject, self.switch = inject, switch
        self.probes: dict[tuple, HealthProbe] = {}
        self.health: dict[tuple, RouteHealth] = {}
        self.ids: dict[tuple, int] = {}  # (route key, path) -> ICMP id
        self.by_id: dict[int, tuple] = {}
        self.outstanding: dict[tuple, tuple[int, float]] = {}  # (key, path) -> (seq, sent at)
        self.next_due: dict[tuple, float] = {}
        self.late = 0  # answers to our probes that came after the probe counted as missed
        self.switching: set[tuple] = set()
        self.seq = 0

    def refresh(self, compiled) -> None:
        """Follow the running design: its failover routes, their active paths."""
        probes = {probe.key: probe for probe in health_probes(compiled.plan)}
        for key in set(self.health) - set(probes):
            del self.health[key]
        for key, probe in probes.items():
            check = probe.check
            known = self.health.get(key)
            if known is None or len(known.paths) != len(probe.paths):
                known = RouteHealth.new(
                    len(probe.paths), check.failures, check.recoveries, probe.route.active
                )
                self.health[key] = known
            known.failures, known.recoveries = check.failures, check.recoveries
            known.active = probe.route.active
            for path in range(len(probe.paths)):
                if (key, path) not in self.ids:
                    self.ids[(key, path)] = FIRST_ID + len(self.ids)
                    self.by_id[self.ids[(key, path)]] = (key, path)
        self.probes = probes
        self.switching.clear()

    # -- probing -----------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Send the probes that are due; a probe still unanswered by then counts as missed."""
        for key, probe in self.probes.items():
            if now < self.next_due.get(key, 0.0):
                continue
            self.next_due[key] = now + probe.check.interval
            for path in range(len(probe.paths)):  # every path's miss counts before a decision
                if self.outstanding.pop((key, path), None) is not None:
                    self._observe(key, path, answered=False, now=now)
            self._decide(key)
            for path, actions in enumerate(probe.paths):
                self.seq = (self.seq + 1) & 0xFFFF
                data = probe_packet(probe, self.ids[(key, path)], self.seq)
                if self.inject(probe.server, packet_out(actions, data)):
                    self.outstanding[(key, path)] = (self.seq, now)
                    self.health[key].sent(path)

    def packet_in(self, data: bytes, now: float) -> bool:
        """An echo reply a card handed up: True if it answered one of our probes."""
        answer = echo_reply(data)
        if answer is None or answer[0] not in self.by_id:
            return False
        key, path = self.by_id[answer[0]]
        waiting = self.outstanding.get((key, path))
        if waiting is None or waiting[0] != answer[1]:
            self.late += 1  # our probe's, after it was counted as missed (or a duplicate)
            return False
        del self.outstanding[(key, path)]
        self._observe(key, path, answered=True, now=now, rtt_ms=(now - waiting[1]) * 1000)
        self._decide(key)
        return True

    def _observe(self, key, path: int, answered: bool, now: float, rtt_ms: Optional[float] = None) -> None:
        health = self.health.get(key)
        if health is None:
            return
        if health.observe(path, answered, now, rtt_ms):
            LOG.info("%s via path %d: %s", key, path + 1, "up" if health.paths[path].up else "down")

    def _decide(self, key) -> None:
        """Move the route if the health of its paths says so (one move at a time)."""
        health = self.health.get(key)
        if health is None:
            return
        wanted = health.wanted()
        if wanted != health.active and key not in self.switching:
            self.switching.add(key)
            names = [p.describe() for p in self.probes[key].route.failover]
            self.switch(self.probes[key], wanted, health.reason(wanted, names))

    # -- what the shell shows ----------------------------------------------------------------
    def status(self) -> list[dict]:
        rows = []
        for key, probe in sorted(self.probes.items()):
            health = self.health[key]
            rows.append(
                {
                    "vpc": probe.vpc,
                    "table": probe.table,
                    "destination": probe.destination,
                    "target": str(probe.target),
                    "source": str(probe.source),
                    "active": health.active,
                    "paths": [
                        {"path": path.describe(), "health": state.describe(), "up": state.up}
                        for path, state in zip(probe.route.failover, health.paths, strict=True)
                    ],
                }
            )
        return rows


def probe_packet(probe: HealthProbe, ident: int, seq: int) -> bytes:
    """An ICMP echo from the probing subnet's router to the health check's target."""
    frame = packet.Packet()
    frame.add_protocol(ethernet.ethernet(dst=ROUTER_MAC, src=ROUTER_MAC, ethertype=0x0800))
    frame.add_protocol(ipv4.ipv4(src=str(probe.source), dst=str(probe.target), proto=ICMP, ttl=64))
    frame.add_protocol(icmp.icmp(type_=icmp.ICMP_ECHO_REQUEST, data=icmp.echo(ident, seq, PAYLOAD)))
    frame.serialize()
    return bytes(frame.data)


def echo_reply(data: bytes) -> Optional[tuple[int, int]]:
    """(id, seq) of an ICMP echo reply, or None for anything else."""
    try:
        parsed = packet.Packet(data)
    except Exception:  # a truncated or foreign frame: not ours
        return None
    message = parsed.get_protocol(icmp.icmp)
    if message is None or message.type != ECHO_REPLY or not isinstance(message.data, icmp.echo):
        return None
    return message.data.id, message.data.seq
