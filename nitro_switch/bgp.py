"""Real BGP daemons in a run's namespaces: FRR's bgpd for AWS's side, BIRD 2 for a site's
router (their configurations: ``vpclab.layout.bgp``). Each daemon's files (configuration, pid,
control socket, log) are in its own folder of the run directory, where ``vpclab clean`` finds
what a crashed run left; it is stopped by the pid it wrote.

What a speaker learned is read back as data: bgpd's routes as JSON (``vtysh ... json``), a
BIRD router's as the kernel routes it installed (``ip -j route``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from vpclab.layout.bgp import BIRD, FRR, Speaker, bird_config, frr_config

from .commands import BuildError, run

BGPD = "/usr/lib/frr/bgpd"
STOP_WAIT = 2.0  # seconds a daemon has to end on SIGTERM before SIGKILL


@dataclass(frozen=True)
class LearnedRoute:
    """A route a speaker holds from a neighbor: its prefix, AS path and next hop."""

    prefix: str
    as_path: tuple[int, ...]
    next_hop: str
    best: bool = True


class BgpDaemon:
    def __init__(self, speaker: Speaker, run_dir: str):
        self.speaker = speaker
        self.dir = os.path.join(run_dir, f"bgp-{speaker.name}")

    # -- files --------------------------------------------------------------------------------
    @property
    def config(self) -> str:
        return os.path.join(self.dir, "bgpd.conf" if self.speaker.daemon == FRR else "bird.conf")

    @property
    def pidfile(self) -> str:
        return os.path.join(self.dir, "daemon.pid")

    @property
    def control(self) -> str:
        """bgpd's vty socket folder, or BIRD's control socket."""
        return self.dir if self.speaker.daemon == FRR else os.path.join(self.dir, "bird.ctl")

    @property
    def log(self) -> str:
        return os.path.join(self.dir, "daemon.log")

    # -- life ---------------------------------------------------------------------------------
    def start(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        if self.speaker.daemon == FRR:
            with open(self.config, "w", encoding="utf-8") as handle:
                handle.write(frr_config(self.speaker, self.log))
            # as root (-S): the run's folders are root's; no zebra (-Z): Hyperplane, not a
            # kernel, takes what AWS's side learns
            command = [
                BGPD,
                "-d",
                "-Z",
                "-S",
                "-f",
                self.config,
                "-i",
                self.pidfile,
                "--vty_socket",
                self.dir,
            ]
        elif self.speaker.daemon == BIRD:
            with open(self.config, "w", encoding="utf-8") as handle:
                handle.write(bird_config(self.speaker, self.log))
            command = ["bird", "-c", self.config, "-s", self.control, "-P", self.pidfile]
        else:
            raise BuildError(f"unknown BGP daemon '{self.speaker.daemon}' for {self.speaker.name}")
        try:
            run(*command, netns=self.speaker.netns)
        except BuildError as error:
            raise BuildError(
                f"{self.speaker.name}'s BGP daemon did not start: {error} (see {self.log})"
            ) from None

    def reconfigure(self, speaker: Speaker) -> None:
        """Change what the running daemon announces (the same neighbors): BIRD reads its new
        configuration (``birdc configure``), bgpd gets its networks changed over vtysh."""
        old, self.speaker = self.speaker, speaker
        if speaker.daemon == BIRD:
            with open(self.config, "w", encoding="utf-8") as handle:
                handle.write(bird_config(speaker, self.log))
            answer = subprocess.run(
                ["birdc", "-s", self.control, "configure"], capture_output=True, text=True, timeout=10
            )
            if answer.returncode != 0 or "Reconfigured" not in answer.stdout:
                raise BuildError(
                    f"{speaker.name}: BIRD did not take its new configuration: {answer.stdout.strip()}"
                )
            return
        with open(self.config, "w", encoding="utf-8") as handle:
            handle.write(frr_config(speaker, self.log))
        commands = ["configure terminal", f"router bgp {speaker.asn}", "address-family ipv4 unicast"]
        commands += [f"no network {p}" for p in old.announce if p not in speaker.announce]
        commands += [f"network {p}" for p in speaker.announce if p not in old.announce]
        arguments = [word for command in commands for word in ("-c", command)]
        answer = subprocess.run(
            ["vtysh", "--vty_socket", self.control, *arguments], capture_output=True, text=True, timeout=10
        )
        if answer.returncode != 0:
            raise BuildError(f"{speaker.name}: bgpd refused its new networks: {answer.stderr.strip()}")

    def pid(self) -> Optional[int]:
        try:
            with open(self.pidfile, encoding="utf-8") as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """End the daemon (SIGTERM, then SIGKILL after STOP_WAIT seconds)."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_WAIT
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # -- what it knows ------------------------------------------------------------------------
    def vtysh(self, command: str):
        answer = subprocess.run(
            ["vtysh", "--vty_socket", self.control, "-c", command], capture_output=True, text=True, timeout=10
        )
        if answer.returncode != 0:
            raise BuildError(f"{self.speaker.name}: vtysh '{command}' failed: {answer.stderr.strip()}")
        return json.loads(answer.stdout or "{}")

    def sessions(self) -> dict[str, str]:
        """Each neighbor's address and its session's state ('Established' when up)."""
        if self.speaker.daemon == FRR:
            peers = self.vtysh("show bgp ipv4 unicast summary json").get("peers", {})
            return {address: peer.get("state", "?") for address, peer in peers.items()}
        answer = subprocess.run(
            ["birdc", "-s", self.control, "show", "protocols", "all"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        states: dict[str, str] = {}
        neighbor = {f"peer{n}": s.address for n, s in enumerate(self.speaker.neighbors)}
        current = None
        for line in answer.stdout.splitlines():
            words = line.split()
            if words and words[0] in neighbor:
                current = neighbor[words[0]]
            elif current and line.strip().startswith("BGP state:"):
                states[current] = line.split(":", 1)[1].strip()
        return states

    def learned(self) -> list[LearnedRoute]:
        """What the speaker learned from its neighbors (bgpd: every path; BIRD: the best,
        as installed in its namespace's kernel)."""
        if self.speaker.daemon == FRR:
            routes = self.vtysh("show bgp ipv4 unicast json").get("routes", {})
            return [
                LearnedRoute(
                    prefix,
                    tuple(int(asn) for asn in path.get("path", "").split()),
                    (path.get("nexthops") or [{}])[0].get("ip", ""),
                    bool(path.get("bestpath")),
                )
                for prefix, paths in routes.items()
                for path in paths
                if path.get("path")  # learned, not its own
            ]
        installed = json.loads(
            run("ip", "-j", "route", "show", "proto", "bird", netns=self.speaker.netns) or "[]"
        )
        return [LearnedRoute(r["dst"], (), r.get("gateway", "")) for r in installed]
