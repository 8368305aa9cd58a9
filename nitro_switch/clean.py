"""Remove what vpclab made — found by name prefix and recorded PIDs — and nothing else.

Works after a crash or a `kill -9` of vpclab too: processes are found from the PID records in
/run/vpclab/<topology>/ (checked against their command line before any signal), namespaces by
the ``vpclab-`` prefix, root-namespace interfaces by the ``vpl<id>`` pattern.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from typing import Optional

from agents.launch import Process
from vpclab.layout.names import IMPAIRMENT_TABLE, INTERFACE_PATTERN, NETNS_PREFIX, RUN_MARKER, RUN_ROOT, Names

from .commands import run

OUR_COMMANDS = (
    "ovs-vswitchd",
    "ovsdb-server",
    "socat",
    "mininet:",
    *(process.value for process in Process),
)


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _recorded_pids(run_dir: str) -> set[int]:
    pids: set[int] = set()
    try:
        with open(os.path.join(run_dir, "processes.json"), encoding="utf-8") as handle:
            pids.update(json.load(handle).get("pids", []))
    except (OSError, ValueError):
        pass
    for folder, _, files in os.walk(run_dir):
        for name in files:
            if name.endswith(".pid"):
                try:
                    with open(os.path.join(folder, name), encoding="utf-8") as handle:
                        pids.add(int(handle.read().strip()))
                except (OSError, ValueError):
                    pass
    return pids


def _netns_pids(netns: str) -> set[int]:
    output = run("ip", "netns", "pids", netns, check=False)
    return {int(pid) for pid in output.split() if pid.isdigit()}


def stop_processes(pids: set[int], run_dir: str, confirmed: frozenset[int] = frozenset()) -> list[int]:
    """SIGTERM, then SIGKILL, the PIDs whose command line is one of ours, and the ``confirmed``
    ones (found inside the run's instances, whatever they run)."""
    ours = [
        pid
        for pid in pids | confirmed
        if pid in confirmed
        or any(word in command_line(pid) for word in OUR_COMMANDS)
        or run_dir in command_line(pid)
    ]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in ours:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(
            os.path.exists(f"/proc/{p}") and command_line(p) for p in ours
        ):
            time.sleep(0.05)
    return ours


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and int(entry) != os.getpid()]


def processes_in_namespaces(inodes: set[int]) -> frozenset[int]:
    """Every process whose network namespace is one of ``inodes`` (an instance's: its shell
    and whatever the user started there, daemons included)."""
    inodes = inodes - {os.stat("/proc/self/ns/net").st_ino}  # never vpclab's own (the root's)
    found = set()
    for pid in _all_pids():
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                found.add(pid)
        except OSError:
            pass
    return frozenset(found)


def marked_processes(topology: str) -> frozenset[int]:
    """Processes started from an instance's shell of ``topology`` (they inherit the marker
    RUN_MARKER=topology), and the cards' metadata services and resolvers (started with it),
    found after a crash when the instances' shells are gone."""
    marker = f"{RUN_MARKER}={topology}".encode()
    found = set()
    for pid in _all_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    found.add(pid)
        except OSError:
            pass
    return frozenset(found)


def _namespaces(prefix: str) -> list[str]:
    return [
        line.split()[0]
        for line in run("ip", "netns", "list", check=False).splitlines()
        if line.startswith(prefix)
    ]


def _interfaces(short: str | None) -> list[str]:
    names = []
    for line in run("ip", "-o", "link", "show", check=False).splitlines():
        name = line.split(": ")[1].split("@")[0]
        if INTERFACE_PATTERN.match(name) and (short is None or name[3:9] == short):
            names.append(name)
    return names


def _impairment_tables(short: str | None) -> list[str]:
    """The nftables tables (bridge family) of impaired underlay links: vpl<id>."""
    listed = run("nft", "list", "tables", "bridge", check=False).split()
    return [name for name in listed if IMPAIRMENT_TABLE.match(name) and (short is None or name[3:9] == short)]


def _remove_tables(tables: list[str]) -> None:
    for table in tables:
        run("nft", "delete", "table", "bridge", table, check=False)


def _remove(run_dir: str, netns_prefix: str, short: str | None, topology: str | None = None) -> dict:
    pids = _recorded_pids(run_dir)
    namespaces = _namespaces(netns_prefix)
    for netns in namespaces:
        pids |= _netns_pids(netns)
    stopped = stop_processes(pids, run_dir, marked_processes(topology) if topology else frozenset())
    for netns in namespaces:
        run("ip", "netns", "del", netns, check=False)
    interfaces = _interfaces(short)
    for interface in interfaces:
        run("ip", "link", "del", interface, check=False)
    _remove_tables(_impairment_tables(short))
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"processes": len(stopped), "namespaces": len(namespaces), "interfaces": len(interfaces)}


def clean_topology(names: Names) -> dict:
    """Remove one topology's resources."""
    return _remove(names.run_dir, names.netns_prefix, names.short, names.topology)


def live_run(names: Names) -> Optional[dict]:
    """The run's record (owner PID, topology file, PIDs) if the ``vpclab`` process that owns
    it is alive; None if it is gone (a crash or a ``kill -9`` left the run behind)."""
    try:
        with open(names.state_file, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    owner, command = state.get("owner"), state.get("owner_command")
    if not owner or not command or command_line(owner) != command:
        return None  # gone, or its PID now belongs to another program
    return state


def run_names() -> list[str]:
    """The topologies with a run directory on this machine."""
    return sorted(os.listdir(RUN_ROOT)) if os.path.isdir(RUN_ROOT) else []


def clean_runs(names: list[str], force: bool = False) -> tuple[dict, dict[str, int]]:
    """Remove the runs ``names`` whose owner is gone (all of them with ``force``), and, when
    cleaning everything, leftovers of runs whose directory is gone. Returns the counts
    removed and the live runs left alone (name -> owner PID)."""
    totals = {"processes": 0, "namespaces": 0, "interfaces": 0}
    live = {name: state["owner"] for name in run_names() if (state := live_run(Names(name))) is not None}
    for name in names:
        if name in live and not force:
            continue
        live.pop(name, None)
        for key, value in clean_topology(Names(name)).items():
            totals[key] += value
    return totals, live


def clean_orphans(keep: list[str]) -> dict:
    """Remove namespaces and interfaces of vpclab runs that have no run directory, sparing
    the runs named in ``keep``."""
    spared = {Names(name).short for name in keep}
    namespaces = [
        netns for netns in _namespaces(NETNS_PREFIX) if netns[len(NETNS_PREFIX) :][:6] not in spared
    ]
    pids: set[int] = set()
    for netns in namespaces:
        pids |= _netns_pids(netns)
    stopped = stop_processes(pids, os.path.join(RUN_ROOT, ".none"))
    for netns in namespaces:
        run("ip", "netns", "del", netns, check=False)
    interfaces = [name for name in _interfaces(None) if name[3:9] not in spared]
    for interface in interfaces:
        run("ip", "link", "del", interface, check=False)
    _remove_tables([name for name in _impairment_tables(None) if name[3:9] not in spared])
    return {"processes": len(stopped), "namespaces": len(namespaces), "interfaces": len(interfaces)}
