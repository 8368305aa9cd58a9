"""Faults below the control plane: a Nitro card crash and an underlay link down."""

from __future__ import annotations

import os
import re
import signal
import time

from .commands import run


def card_is_up(emulation, server: str) -> bool:
    """Is the server's ovs-vswitchd (its Nitro card) running?"""
    pid = emulation.servers_by_name[server].daemon_pid("ovs-vswitchd")
    return pid is not None and _alive(pid)


def link_is_up(emulation, server: str) -> bool:
    """Is the server's underlay link administratively up?"""
    port = emulation.names.underlay_port(emulation.plan.server_index[server])
    flags = re.search(r"<([^>]*)>", run("ip", "-o", "link", "show", "dev", port))
    return flags is not None and "UP" in flags.group(1).split(",")


def crash_card(emulation, server: str) -> None:
    """The card's ovs-vswitchd dies (SIGKILL): its bridges stop forwarding at once."""
    pid = emulation.servers_by_name[server].daemon_pid("ovs-vswitchd")
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """Running (a killed daemon stays a zombie until init reaps it: that counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def recover_card(emulation, server: str) -> None:
    """Restart the card's ovs-vswitchd: it rebuilds its bridges from its database and
    reconnects; Hyperplane reconciles its flows; tunnel neighbours are seeded again."""
    card = emulation.servers_by_name[server]
    card.start_vswitchd()
    card.seed_neighbours(emulation.servers)


def link_down(emulation, server: str) -> None:
    """The server's underlay link goes down (its root-namespace end of the uplink)."""
    run("ip", "link", "set", emulation.names.underlay_port(emulation.plan.server_index[server]), "down")


def link_up(emulation, server: str) -> None:
    run("ip", "link", "set", emulation.names.underlay_port(emulation.plan.server_index[server]), "up")
