import os
import shutil
import subprocess
import sys
import time

import pytest

from vpclab.intent.loader import load_topology

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

live = pytest.mark.live  # conftest.py fails these (never skips them) without root and OVS


def live_machine_problem() -> str | None:
    """Why this machine cannot run the live tests, or None."""
    if os.geteuid() != 0:
        return "the live tests need root (network namespaces, OVS): run `make test` as root"
    if not shutil.which("ovs-vswitchd"):
        return "the live tests need Open vSwitch: run `make install`"
    return None


def topology(name: str):
    return load_topology(os.path.join(ROOT, "topologies", name))


def leftovers(short: str | None = None) -> dict:
    """What of vpclab's is still on the machine (namespaces, interfaces, processes)."""
    namespaces = [
        n
        for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
        if n.startswith(f"vpclab-{short}-" if short else "vpclab-")
    ]
    links = [
        line
        for line in subprocess.run(
            ["ip", "-o", "link", "show"], capture_output=True, text=True
        ).stdout.splitlines()
        if ": vpl" in line and (short is None or f": vpl{short}" in line)
    ]
    return {"namespaces": namespaces, "interfaces": links}


def serve_http(host, port: int = 80):
    """A web server in ``host`` (python's http.server), answering once it listens."""
    server = host.popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "0.0.0.0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while f":{port} " not in host.cmd(f"ss -ltnH 'sport = :{port}'") and time.monotonic() < deadline:
        time.sleep(0.1)
    return server


def wait_until(condition, seconds: float) -> float:
    """Seconds until ``condition()`` held (fails the test after ``seconds``)."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - began


def joined_namespaces(left: str, right: str, left_end: str, right_end: str) -> None:
    """Two fresh namespaces of a test (any of a crashed run's first removed), joined by a veth
    whose ends are ``left_end`` and ``right_end``; loopbacks up, the veth's ends down."""
    remove_namespaces(left, right)
    for ns in (left, right):
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    subprocess.run(
        [
            "ip",
            "link",
            "add",
            left_end,
            "netns",
            left,
            "type",
            "veth",
            "peer",
            "name",
            right_end,
            "netns",
            right,
        ],
        check=True,
    )


def remove_namespaces(*names: str) -> None:
    for ns in names:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
