"""Run by bench/bringup_scale.py inside a checkout (this one, or the previous design's): bring
the design at argv[1] up, measure it, tear it down, print the figures as JSON.
Usage: python _bringup_worker.py DESIGN.yaml   (as root, with the checkout's root on sys.path)
"""

import json
import sys
import time

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

CHANGES = 5


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def available_kib() -> int:
    with open("/proc/meminfo", encoding="utf-8") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("MemAvailable:"))


def memory(emulation: Emulation) -> dict:
    servers = sum(pss_kib(pid) for server in emulation.servers for pid in server.pids())
    hosts = sum(pss_kib(pid) for pid in emulation.hosts.pids())
    controller = pss_kib(emulation.controller.pid) if emulation.controller else 0
    services = getattr(emulation.hosts, "services", None)  # the cards' metadata and DNS (one process)
    return {
        "servers_mib": servers / 1024,
        "instances_mib": hosts / 1024,
        "controller_mib": controller / 1024,
        "services_mib": pss_kib(services.pid) / 1024 if services else 0.0,
    }


def live_changes(emulation: Emulation) -> list[float]:
    nacl = {"vpc": "v0", "nacl": "db-nacl", "direction": "ingress"}
    rule = {"rule": 50, "protocol": "tcp", "ports": 22, "cidr": "10.0.0.0/8", "action": "deny"}
    elapsed = []
    for _ in range(CHANGES):
        for operation, arguments in (
            ("add-nacl-rule", {**nacl, "rule": rule}),
            ("remove-nacl-rule", {**nacl, "number": 50}),
        ):
            answer = emulation.api.change(operation, **arguments)
            assert answer.get("ok", True) and "elapsed_ms" in answer, answer
            elapsed.append(answer["elapsed_ms"])
    return elapsed


def measure(path: str) -> dict:
    topology = load_topology(path)
    progress: list[tuple[float, str]] = []
    started = time.monotonic()

    def log(line: str) -> None:
        progress.append((time.monotonic() - started, line))

    before = available_kib()
    emulation = Emulation(topology, log=log, ready_timeout=600)
    emulation.build()
    seconds = time.monotonic() - started
    try:
        time.sleep(1)  # let the daemons settle before reading their memory
        figures = memory(emulation) | {"machine_mib": (before - available_kib()) / 1024}
        figures["change_ms"] = live_changes(emulation)
        flows = emulation.card_status()
        figures["flows_max"] = max(
            card.get("flows", 0) for name, card in flows.items() if not name.startswith("_")
        )
    finally:
        emulation.teardown()
    return figures | {"seconds": seconds, "progress": [(round(t, 2), line[:100]) for t, line in progress]}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
