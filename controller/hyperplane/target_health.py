"""The NLB's health checks: a TCP connection attempt to every target at the check's interval,
from the NLB's node, through the data plane (``compiler.target_checks``).

A SYN-ACK is a success (the manager answers it with a RST, as a health checker closes the
connection); a RST, or nothing within the interval, a failure. A target goes unhealthy after
``unhealthy_threshold`` failures in a row and healthy again after ``healthy_threshold``
successes (``failover.PathHealth`` counts them). Each move is a ``target-health`` change
through Hyperplane's change API: the flow hash then picks among the healthy targets only, and
connections already open stay where they are (conntrack keeps their translation).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Optional

from os_ken.lib.packet import ethernet, ipv4, packet, tcp

from controller.compiler.target_checks import TargetCheck, target_checks
from controller.hyperplane.failover import PathHealth
from controller.hyperplane.ofmsg import packet_out
from vpclab.layout.pipeline import ROUTER_MAC

LOG = logging.getLogger("target-health")
SYN, RST, ACK = 0x02, 0x04, 0x10
TCP = 6


class TargetHealthManager:
    def __init__(self, inject: Callable[[str, object], bool], mark: Callable[[TargetCheck, bool, str], None]):
        """``inject(server, packet_out)``: False if that card is not connected.
        ``mark(check, healthy, reason)``: record the target's new health (asynchronously; the
        manager hears of it through ``refresh``)."""
        self.inject, self.mark = inject, mark
        self.checks: dict[tuple, TargetCheck] = {}
        self.health: dict[tuple, PathHealth] = {}
        self.outstanding: dict[tuple, tuple[int, float]] = {}  # key -> (SYN's seq, sent at)
        self.next_due: dict[str, float] = {}  # per load balancer
        self.marking: set[tuple] = set()

    def refresh(self, compiled) -> None:
        """Follow the running design: its load balancers, their targets' recorded health."""
        topology = compiled.plan.topology
        checks = {check.key: check for check in target_checks(compiled.plan)}
        for key in set(self.health) - set(checks):
            del self.health[key]
        for key in checks:
            healthy = key[1] not in topology.load_balancer(key[0]).unhealthy
            known = self.health.setdefault(key, PathHealth(up=healthy))
            known.up = healthy
        self.checks = checks
        self.marking.clear()

    def tick(self, now: float) -> None:
        """Send the checks that are due; one still unanswered by then has failed."""
        due = {}
        for key, check in self.checks.items():
            if now >= self.next_due.get(check.load_balancer, 0.0):
                due[key] = check
        for balancer in {check.load_balancer for check in due.values()}:
            interval = next(c.check.interval for c in due.values() if c.load_balancer == balancer)
            self.next_due[balancer] = now + interval
        for key, check in due.items():
            if self.outstanding.pop(key, None) is not None:
                self._observe(key, answered=False, now=now, why="no answer")
            seq = random.getrandbits(32)
            if self.inject(check.server, packet_out(check.actions, segment(check, SYN, seq))):
                self.outstanding[key] = (seq, now)
                self.health[key].sent += 1

    def packet_in(self, data: bytes, now: float) -> bool:
        """A target's answer the node's card handed up: True if it answered one of our checks."""
        answer = tcp_answer(data)
        if answer is None:
            return False
        source, source_port, destination, port, flags, seq, ack = answer
        key = next(
            (
                k
                for k, c in self.checks.items()
                if (c.address, c.port, c.source, c.source_port) == (source, source_port, destination, port)
            ),
            None,
        )
        waiting = self.outstanding.get(key) if key else None
        if key is None or waiting is None:
            return key is not None  # ours, but late: already counted
        del self.outstanding[key]
        check = self.checks[key]
        if flags & RST:
            self._observe(key, answered=False, now=now, why="connection refused")
        elif (flags & (SYN | ACK)) == (SYN | ACK) and ack == (waiting[0] + 1) & 0xFFFFFFFF:
            self.inject(check.server, packet_out(check.actions, segment(check, RST, ack)))
            self._observe(key, answered=True, now=now, rtt_ms=(now - waiting[1]) * 1000)
        return True

    def _observe(
        self, key, answered: bool, now: float, rtt_ms: Optional[float] = None, why: str = ""
    ) -> None:
        health, check = self.health.get(key), self.checks.get(key)
        if health is None or check is None:
            return
        thresholds = (check.check.unhealthy_threshold, check.check.healthy_threshold)
        if health.observe(answered, now, rtt_ms, *thresholds) and key not in self.marking:
            self.marking.add(key)
            if health.up:
                reason = f"{health.answered_in_row} health checks in a row succeeded"
            else:
                reason = f"{health.missed_in_row} health checks in a row failed: {why}"
            LOG.info("%s/%s: %s (%s)", *key, "healthy" if health.up else "unhealthy", reason)
            self.mark(check, health.up, reason)

    def status(self) -> list[dict]:
        return [
            {
                "load_balancer": key[0],
                "target": key[1],
                "address": f"{check.address}:{check.port}",
                "healthy": self.health[key].up,
                "health": self.health[key]
                .describe()
                .replace("up", "healthy", 1)
                .replace("down", "unhealthy", 1),
            }
            for key, check in sorted(self.checks.items())
        ]


def segment(check: TargetCheck, flags: int, seq: int) -> bytes:
    """A TCP segment from the node's health-check port to the target."""
    frame = packet.Packet()
    frame.add_protocol(ethernet.ethernet(dst=ROUTER_MAC, src=ROUTER_MAC, ethertype=0x0800))
    frame.add_protocol(ipv4.ipv4(src=str(check.source), dst=str(check.address), proto=TCP, ttl=64))
    frame.add_protocol(
        tcp.tcp(src_port=check.source_port, dst_port=check.port, seq=seq, bits=flags, window_size=1024)
    )
    frame.serialize()
    return bytes(frame.data)


def tcp_answer(data: bytes):
    """(source, source port, destination, port, flags, seq, ack) of a TCP segment, or None."""
    try:
        parsed = packet.Packet(data)
    except Exception:  # a truncated or foreign frame: not ours
        return None
    ip, segment_ = parsed.get_protocol(ipv4.ipv4), parsed.get_protocol(tcp.tcp)
    if ip is None or segment_ is None:
        return None
    return (
        IPv4Address(ip.src),
        segment_.src_port,
        IPv4Address(ip.dst),
        segment_.dst_port,
        segment_.bits,
        segment_.seq,
        segment_.ack,
    )
