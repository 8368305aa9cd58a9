"""`vpclab exec`: run a command in a host of a running design from another terminal, as
`docker exec` does: in the host's network and mount namespaces (its addresses, routes and
/etc/resolv.conf), with this terminal's standard streams, returning the command's exit code.

The run's record (``processes.json``, written by the emulation) names each host's process;
only a run whose owning ``vpclab`` process is alive is entered.
"""

from __future__ import annotations

import os
import subprocess
from typing import Optional

from vpclab.errors import InvalidInput
from vpclab.layout.names import Names

from .clean import live_run, run_names


def live_runs() -> dict[str, dict]:
    """The running designs on this machine: name -> the run's record."""
    return {name: state for name in run_names() if (state := live_run(Names(name))) is not None}


def host_pid(run: Optional[str], host: str) -> tuple[str, int]:
    """The run (the only one, if ``run`` is None) and the PID of ``host``'s process in it."""
    running = live_runs()
    if run is None:
        if len(running) != 1:
            listed = ", ".join(sorted(running)) or "none"
            raise InvalidInput(f"name the running design to enter (running: {listed})")
        run = next(iter(running))
    state = running.get(run)
    if state is None:
        raise InvalidInput(f"no running design '{run}' (running: {', '.join(sorted(running)) or 'none'})")
    hosts = state.get("hosts", {})
    pid = hosts.get(host)
    if pid is None:
        raise InvalidInput(f"no instance or host '{host}' in '{run}' (it has {', '.join(sorted(hosts))})")
    if not os.path.exists(f"/proc/{pid}"):
        raise InvalidInput(f"{host}'s process {pid} in '{run}' is gone")
    return run, pid


def run_in(pid: int, command: list[str]) -> int:
    """Run ``command`` in the network and mount namespaces of process ``pid``; its exit code."""
    return subprocess.call(["nsenter", "--target", str(pid), "--net", "--mount", "--", *command])
