"""iperf3 between two hosts of an emulation (anything with a Mininet host's ``cmd`` and
``popen``): the listener is started and ended by its own PID, never by program name (a name
would also reach another run's iperf3, and Mininet's helpers go by name)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time

PORT = 5201  # iperf3's own


def iperf3(client, server, arguments: str, port: int = PORT) -> dict:
    """One run from ``client`` to ``server`` on ``port``, as iperf3's JSON report."""
    listener = server.popen(["iperf3", "-s", "-1", "-p", str(port)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if f":{port}" in server.cmd("ss -ltn"):
                break
            time.sleep(0.05)
        return json.loads(client.cmd(f"iperf3 -J -p {port} {arguments}"))
    finally:
        with contextlib.suppress(ProcessLookupError):
            listener.kill()
        listener.wait()


def tcp_mbps(client, server, address: str, seconds: float, port: int = PORT) -> float:
    """Mbit/s the receiver got in one TCP run."""
    report = iperf3(client, server, f"-c {address} -t {seconds}", port)
    return report["end"]["sum_received"]["bits_per_second"] / 1e6
