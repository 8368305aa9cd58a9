"""PrivateLink, live: a shop's instance calls https://api.payments.example (its endpoint's
private DNS name) across overlapping CIDRs; the NLB spreads connections over its targets,
which see the NLB's address; the provider cannot call back; the health checks take a dead
target out of service and bring it back."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter

from live_helpers import live, topology

from agents.launch import Process, command
from nitro_switch.emulation import Emulation
from vpclab.verify import report, verify

pytestmark = live
quiet = lambda line: None
NODES = {"10.0.1.5", "10.0.2.5"}  # the NLB's addresses in payments


def serve(lab, name: str, log: str) -> subprocess.Popen:
    process = lab.hosts.hosts[name].popen(
        command(Process.TLS_ECHO, "serve", "--name", name, "--log", log),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "serving" in process.stdout.readline()
    return process


def calls(lab, name: str, url: str, count: int) -> list[dict]:
    """``count`` calls from instance ``name``, each on a new connection."""
    client = lab.hosts.hosts[name].popen(
        command(Process.TLS_ECHO, "client", url, "--rate", "20") + ["--duration", str(count / 20)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, _ = client.communicate(timeout=60)
    return [json.loads(line) for line in out.splitlines()]


def health(lab) -> dict:
    return {row["target"]: row["healthy"] for row in lab.api.call("targets")["targets"]}


def wait_for(condition, timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - start


def test_a_consumer_calls_the_provider_through_its_endpoint(tmp_path):
    with Emulation(topology("payments.yaml"), log=quiet) as lab:
        app1, app2, pay1 = (lab.hosts.hosts[name] for name in ("app1", "app2", "pay1"))
        logs = {name: str(tmp_path / f"{name}.log") for name in ("pay1", "pay2")}
        servers = [serve(lab, name, log) for name, log in logs.items()]
        try:
            assert sorted(
                app1.cmd("getent ahostsv4 api.payments.example | awk '{print $1}' | sort -u").split()
            ) == [
                "10.0.1.5",
                "10.0.2.5",
            ]
            assert pay1.cmd("getent hosts api.payments.example; echo $?").strip() == "2"  # the shop's only
            body = app1.cmd("curl -sk -m 3 https://api.payments.example/").strip()
            assert body in ("pay1", "pay2")
            answers = calls(lab, "app1", "https://api.payments.example/", 40)
            answers += calls(lab, "app2", "https://10.0.1.5/", 20)
            assert all(answer["ok"] for answer in answers), answers
            by = Counter(answer["by"] for answer in answers)
            assert set(by) == {"pay1", "pay2"} and min(by.values()) >= 10, by  # the flow hash
            for log in logs.values():
                with open(log, encoding="utf-8") as handle:
                    assert set(handle.read().split()) <= NODES  # the NLB's address, never 10.0.x.4
            # the endpoint's SG admits 443 only; the provider cannot open a connection back
            assert (
                app1.cmd("curl -s -m 1 -o /dev/null -w '%{http_code}' http://10.0.1.5:80/").strip() == "000"
            )
            assert pay1.cmd("curl -sk -m 1 -o /dev/null -w '%{http_code}' https://10.0.1.5/").strip() == "000"

            # the health checks: pay2's service dies, the NLB stops sending it new connections
            assert wait_for(lambda: health(lab) == {"pay1": True, "pay2": True}, 3) >= 0
            servers[1].kill()
            servers[1].wait()
            removed_after = wait_for(lambda: not health(lab)["pay2"], 5)
            assert removed_after < 2.5  # 2 failed checks, 0.5 s apart
            marked = lambda: any(c["operation"] == "target-health" for c in lab.applied_changes())
            wait_for(marked, 2)  # the change that takes pay2 out of the flow hash
            answers = calls(lab, "app1", "https://api.payments.example/", 20)
            assert [a["by"] for a in answers] == ["pay1"] * 20
            servers[1] = serve(lab, "pay2", logs["pay2"])
            wait_for(lambda: health(lab)["pay2"], 5)  # 3 successful checks
        finally:
            for process in servers:
                process.kill()
                process.wait()


def test_verify_probes_the_endpoints_and_agrees():
    verification = verify(topology("payments.yaml"), log=quiet)
    assert verification.agrees, report(verification, False)
    through = [r for r in verification.results if r.target in ("pay-ep/app-a", "pay-ep/app-b")]
    assert through and {r.answered_by for r in through if r.live} <= {"pay1", "pay2"}
    assert any(r.live for r in through) and not all(r.live for r in through)  # 443 only
