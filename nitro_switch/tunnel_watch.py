"""What AWS's side sees of each VPN tunnel and Direct Connect link, told to Hyperplane as it
changes (the runtime changes ``tunnel-state`` and ``dx-state``, which the cards' routes follow).

A BGP tunnel is up while its session at AWS's end is established (bgpd's own state, as JSON:
the session goes when its hold time runs out). A static tunnel is up while dead peer detection
hears the site: an ICMP echo to the site's inside address every third of the hold time, the
tunnel down after a hold time with no answer (AWS: DPD every 10 s, down after 30 s). A
Direct Connect link is up while its virtual interface's session is established (its key here:
the link's name and tunnel ``DX_LINK``, 0).

What each BGP session learned is told too (the runtime change ``bgp-learned``), once a second:
the gateways route by what AWS's ends hold, not by what the design says the sites announce. A
set is told once two looks in a row agree (a session coming up delivers its routes a moment
after it is established), and only for sessions that are up (a session going down is told by
``tunnel-state`` and ``dx-state``).

The other way, what AWS's end of a VPN to a TGW announces follows the running design: once a
second, if the design changed (a propagation, an association, a route, another site's routes),
the TGW's announcements over each of its VPNs are worked out again and the AWS end's bgpd is
given them, so the site hears what the TGW's table holds now.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import socket
import struct
import threading
import time
from typing import Optional

from agents.icmp import ECHO_REPLY, echo_request
from agents.netns import entered
from controller.hyperplane.client import ApiError, HyperplaneClient
from vpclab.intent.changes import Intent
from vpclab.layout.hybrid import aws_announcements, site_side

LOG = logging.getLogger(__name__)
WATCH_INTERVAL = 0.25  # seconds between looks at the sessions: a change reaches Hyperplane within it
DX_LINK = 0  # the "tunnel" of a Direct Connect link's key
LEARNED_EVERY = 1.0  # seconds between looks at what the sessions learned


def reply_from(packet: bytes, ident: int) -> Optional[str]:
    """The source of an echo reply to ``ident`` (an IPv4 packet with its header), else None."""
    if len(packet) < 20:
        return None
    start = (packet[0] & 0x0F) * 4
    if len(packet) < start + 8:
        return None
    kind, _, _, their_ident, _ = struct.unpack("!BBHHH", packet[start : start + 8])
    if kind != ECHO_REPLY or their_ident != ident:
        return None
    return socket.inet_ntoa(packet[12:16])


class DeadPeerDetection:
    """Echoes from one AWS end's namespace to the site's inside address of each static tunnel."""

    def __init__(self, netns: str, peers: dict[str, tuple[str, int]]):
        self.peers = peers  # the site's inside address -> (connection, tunnel)
        with entered(f"/run/netns/{netns}"):
            self.socket = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.socket.setblocking(False)
        self.ident = (os.getpid() ^ id(self)) & 0xFFFF
        self.sequence = 0
        now = time.monotonic()
        self.heard = {address: now for address in peers}  # up from the start: BGP converged first

    def send(self) -> None:
        self.sequence = (self.sequence + 1) & 0xFFFF
        for address in self.peers:
            try:
                self.socket.sendto(echo_request(self.ident, self.sequence, b"vpclab-dpd"), (address, 0))
            except OSError:  # the tunnel is down: no route, or the device refuses
                pass

    def receive(self) -> None:
        while select.select([self.socket], [], [], 0)[0]:
            try:
                packet = self.socket.recv(2048)
            except BlockingIOError:
                return
            source = reply_from(packet, self.ident)
            if source in self.heard:
                self.heard[source] = time.monotonic()

    def close(self) -> None:
        self.socket.close()


class TunnelWatch(threading.Thread):
    def __init__(self, sites, api_port: int, hold_time: float):
        super().__init__(name="tunnel-watch", daemon=True)
        self.sites, self.hold_time = sites, hold_time
        self.client = HyperplaneClient(api_port)
        self.interval = WATCH_INTERVAL
        self.stopping = threading.Event()
        hybrid = sites.topology.hybrid
        self.known = {
            (c.name, n): n not in c.tunnels_down
            for c in hybrid.vpn_connections
            for n in range(1, c.tunnels + 1)
        }
        self.known.update({(link.name, DX_LINK): not link.down for link in hybrid.dx_connections})
        self.changes: list[tuple[float, str, int, bool, str]] = []  # (wall time, connection, tunnel, up, why)
        self.learned_changes: list[
            tuple[float, str, int, tuple[str, ...]]
        ] = []  # (time, connection, tunnel, prefixes)
        self.dpd = [
            DeadPeerDetection(
                sites.netns(f"aws-{c.name}"),
                {site_side(c.inside_cidrs[n - 1]): (c.name, n) for n in range(1, c.tunnels + 1)},
            )
            for c in hybrid.vpn_connections
            if not c.bgp
        ]
        self.last_echo = 0.0
        # per BGP session: its AWS end's daemon, the site's address, what Hyperplane was told
        self.sessions: dict[tuple[str, int], tuple[str, str]] = {}
        self.told: dict[tuple[str, int], tuple[str, ...]] = {}
        for c in hybrid.vpn_connections:
            if c.bgp:
                cidrs = hybrid.site(c.customer_gateway).cidrs
                for n in range(1, c.tunnels + 1):
                    self.sessions[(c.name, n)] = (f"aws-{c.name}", site_side(c.inside_cidrs[n - 1]))
                    self.told[(c.name, n)] = tuple(sorted(str(p) for p in c.announced(n, cidrs)))
        for link in hybrid.dx_connections:
            assert link.peering_cidr is not None  # the loader gives every link one
            self.sessions[(link.name, DX_LINK)] = (f"aws-{link.name}", site_side(link.peering_cidr))
            cidrs = link.announced(hybrid.site(link.site).cidrs)
            self.told[(link.name, DX_LINK)] = tuple(sorted(str(p) for p in cidrs))
        self.last_look = 0.0
        self.seen_before: dict[tuple[str, int], tuple[str, ...]] = {}
        self.states: dict[str, dict[str, str]] = {}  # AWS end -> its sessions, as observe read them
        self.design: dict | None = None  # the running design's data, as last read
        self.announced: list[tuple[float, str, tuple[str, ...]]] = []  # (time, AWS end, prefixes)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        for detection in self.dpd:
            detection.close()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                seen = self.observe()
            except Exception:  # a daemon restarting, a namespace going: look again next time
                LOG.exception("tunnel watch")
                continue
            for key, (up, why) in seen.items():
                if up == self.known.get(key):
                    continue
                connection, tunnel = key
                try:
                    if tunnel == DX_LINK:
                        self.client.change("dx-state", connection=connection, up=up, reason=why)
                    else:
                        self.client.change(
                            "tunnel-state", connection=connection, tunnel=tunnel, up=up, reason=why
                        )
                except ApiError:  # the controller is down or busy: tell it next time
                    continue
                self.known[key] = up
                self.changes.append((time.time(), connection, tunnel, up, why))
            if time.monotonic() - self.last_look >= LEARNED_EVERY:
                self.last_look = time.monotonic()
                try:
                    self.tell_learned()
                    self.follow_design()
                except Exception:  # a daemon restarting, the controller away: look again next time
                    LOG.exception("learned routes")

    def follow_design(self) -> None:
        """Give each TGW's VPN ends what the TGW announces now, if the running design changed."""
        hybrid = self.sites.topology.hybrid
        if not any(c.transit_gateway and c.bgp for c in hybrid.vpn_connections):
            return
        try:
            data = self.client.call("intent")["data"]
        except ApiError:
            return
        if data == self.design:
            return
        self.design = data
        topology = Intent(self.sites.topology.source, data).topology
        for connection in topology.hybrid.vpn_connections:
            daemon = self.sites.daemon(f"aws-{connection.name}")
            if not connection.transit_gateway or daemon is None:
                continue
            now = aws_announcements(topology, connection.name)
            if tuple(now) != daemon.speaker.announce:
                daemon.reconfigure(dataclasses.replace(daemon.speaker, announce=tuple(now)))
                self.announced.append((time.time(), daemon.speaker.name, tuple(now)))

    def learned_now(self) -> dict[tuple[str, int], tuple[str, ...]]:
        """What each established session's AWS end holds from the site (its sessions' states as
        ``observe`` just read them)."""
        found: dict[tuple[str, int], tuple[str, ...]] = {}
        daemons = {name for name, _ in self.sessions.values()}
        for name in daemons:
            daemon = self.sites.daemon(name)
            if daemon is None:
                continue
            states = self.states.get(name, {})
            routes = daemon.learned()
            for key, (owner, peer) in self.sessions.items():
                if owner == name and states.get(peer) == "Established":
                    found[key] = tuple(sorted({r.prefix for r in routes if r.next_hop == peer}))
        return found

    def tell_learned(self) -> None:
        now = self.learned_now()
        for key, prefixes in now.items():
            steady = self.seen_before.get(key) == prefixes
            if steady and self.told.get(key) != prefixes:
                connection, tunnel = key
                try:
                    self.client.change(
                        "bgp-learned",
                        connection=connection,
                        tunnel=tunnel,
                        prefixes=list(prefixes),
                        reason="its BGP session's routes",
                    )
                except ApiError:
                    continue
                self.told[key] = prefixes
                self.learned_changes.append((time.time(), connection, tunnel, prefixes))
        self.seen_before = now

    def _sessions(self, name: str) -> dict[str, str]:
        """AWS end ``name``'s sessions now (kept for ``learned_now``)."""
        daemon = self.sites.daemon(name)
        self.states[name] = daemon.sessions() if daemon is not None else {}
        return self.states[name]

    def observe(self) -> dict[tuple[str, int], tuple[bool, str]]:
        """Each tunnel: is it up as AWS's end sees it, and why."""
        seen: dict[tuple[str, int], tuple[bool, str]] = {}
        hybrid = self.sites.topology.hybrid
        for connection in hybrid.vpn_connections:
            if not connection.bgp:
                continue
            states = self._sessions(f"aws-{connection.name}")
            for n in range(1, connection.tunnels + 1):
                peer = site_side(connection.inside_cidrs[n - 1])
                state = states.get(peer, "not configured")
                seen[(connection.name, n)] = (state == "Established", f"BGP session {state}")
        for link in hybrid.dx_connections:
            assert link.peering_cidr is not None  # the loader gives every link one
            state = self._sessions(f"aws-{link.name}").get(site_side(link.peering_cidr), "not configured")
            seen[(link.name, DX_LINK)] = (state == "Established", f"BGP session {state}")
        now = time.monotonic()
        if now - self.last_echo >= self.hold_time / 3:
            for detection in self.dpd:
                detection.send()
            self.last_echo = now
        for detection in self.dpd:
            detection.receive()
            for address, key in detection.peers.items():
                silent = now - detection.heard[address]
                up = silent < self.hold_time
                seen[key] = (
                    up,
                    "dead peer detection hears the site" if up else f"no answer for {silent:.0f} s",
                )
        return seen
