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

from .commands import run
from .names import INTERFACE_PATTERN, NETNS_PREFIX, RUN_ROOT, Names

OUR_COMMANDS = (
    "ovs-vswitchd",
    "ovsdb-server",
    "socat",
    "controller.hyperplane",
    "mininet:",
    "nitro_switch.probe",
)


def _command_line(pid: int) -> str:
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


def stop_processes(pids: set[int], run_dir: str) -> list[int]:
    """SIGTERM, then SIGKILL, the PIDs whose command line is one of ours."""
    ours = [
        pid
        for pid in pids
        if any(word in _command_line(pid) for word in OUR_COMMANDS) or run_dir in _command_line(pid)
    ]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in ours:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(
            os.path.exists(f"/proc/{p}") and _command_line(p) for p in ours
        ):
            time.sleep(0.05)
    return ours


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


def _remove(run_dir: str, netns_prefix: str, short: str | None) -> dict:
    pids = _recorded_pids(run_dir)
    namespaces = _namespaces(netns_prefix)
    for netns in namespaces:
        pids |= _netns_pids(netns)
    stopped = stop_processes(pids, run_dir)
    for netns in namespaces:
        run("ip", "netns", "del", netns, check=False)
    interfaces = _interfaces(short)
    for interface in interfaces:
        run("ip", "link", "del", interface, check=False)
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"processes": len(stopped), "namespaces": len(namespaces), "interfaces": len(interfaces)}


def clean_topology(names: Names) -> dict:
    """Remove one topology's resources."""
    return _remove(names.run_dir, names.netns_prefix, names.short)


def clean_all() -> dict:
    """Remove every resource of every vpclab topology on this machine."""
    totals = {"processes": 0, "namespaces": 0, "interfaces": 0}
    topologies = os.listdir(RUN_ROOT) if os.path.isdir(RUN_ROOT) else []
    for topology in topologies:
        for key, value in clean_topology(Names(topology)).items():
            totals[key] += value
    for key, value in _remove(os.path.join(RUN_ROOT, ".none"), NETNS_PREFIX, None).items():
        totals[key] += value  # leftovers whose run directory is gone
    return totals
