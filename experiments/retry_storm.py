"""`vpclab experiment retry-storm`: the seed's 2022 cascade. A caller calls a middle tier that
calls a backend; the TGW blackhole cuts the middle tier off its backend. Run once per client
policy, all tiers using it: how many attempts each puts on the wire during the outage (the
amplification), what gets through, whether the middle tier's pool fills, and how soon the
caller recovers after the restore."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from matplotlib.figure import Figure

from agents.launch import Process, command
from nitro_switch.emulation import Emulation
from vpclab.errors import InvalidInput
from vpclab.intent.loader import load_topology

from .harness import ROOT

PORT = 8080
RECOVERED = 0.9  # the caller has recovered once 90 % of a second's requests succeed
EXPECTED = "naive amplifies >= 3x, the breaker <= 1.5x and recovers within 3 s of the restore"


@dataclass
class RetryStorm:
    name: str
    description: str
    topology: str
    caller: str
    middle: str
    backend: str
    inject: Callable
    restore: Callable
    fault: str
    policies: tuple[str, ...] = ("naive", "backoff", "breaker")
    rate: float = 50.0  # requests a second the caller's users make
    workers: int = 8  # the middle tier's pool (and as many more may queue)
    warmup: float = 3.0
    outage: float = 6.0
    after: float = 6.0

    def execute(self, topology_path=None, seed: int = 0, out_dir=None, log=print, alarm=None) -> dict:
        if alarm is not None:
            raise InvalidInput("retry-storm reports its own rates: no flow-log alarm")
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        verdict = [] if report["as_expected"] else [f"NOT AS EXPECTED: {EXPECTED}"]
        return verdict + [
            f"{p['policy']:8s} attempts {p['amplification']:4.1f}x the offered rate during the outage, "
            f"goodput {p['goodput_outage']:5.1f}/s (of {p['offered_per_s']:.0f}), middle pool full "
            f"{p['pool_full_s']} s, refused {p['refused']}; recovered "
            + (f"{p['recovered_after']:.0f} s after restore" if p["recovered_after"] is not None else "never")
            for p in report["policies"]
        ]


def run(scenario: RetryStorm, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    topology = load_topology(topology_path or os.path.join(ROOT, scenario.topology))
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    results = []
    with Emulation(topology, log=log) as lab:
        for policy in scenario.policies:
            log(f"*** policy {policy}")
            results.append(_one_policy(lab, scenario, policy))
    report = {
        "scenario": scenario.name,
        "description": scenario.description,
        "topology": topology.name,
        "seed": seed,
        "chain": f"{scenario.caller} -> {scenario.middle} -> {scenario.backend}",
        "fault": scenario.fault,
        "outage_s": scenario.outage,
        "policies": results,
    }
    breaker = next((p for p in results if p["policy"] == "breaker"), None)
    naive = next((p for p in results if p["policy"] == "naive"), None)
    report["as_expected"] = bool(
        naive
        and breaker
        and naive["amplification"] >= 3
        and breaker["amplification"] <= 1.5
        and breaker["recovered_after"] is not None
        and breaker["recovered_after"] <= 3
    )
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    plot(report, os.path.join(out_dir, "storm.png"))
    log(f"*** report: {out_dir}/report.json, picture: {out_dir}/storm.png")
    return report


def _serve(lab, instance: str, *options: str) -> subprocess.Popen:
    process = lab.hosts.hosts[instance].popen(
        command(Process.SERVICE, "serve", "--port", str(PORT), *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()  # listening
    return process


def _url(lab, instance: str) -> str:
    return f"http://{lab.topology.instance(instance).ip}:{PORT}/"


def _one_policy(lab, scenario: RetryStorm, policy: str) -> dict:
    backend = _serve(lab, scenario.backend)
    middle = _serve(
        lab,
        scenario.middle,
        *("--upstream", _url(lab, scenario.backend), "--policy", policy),
        *("--workers", str(scenario.workers), "--queue", str(scenario.workers)),
    )
    duration = scenario.warmup + scenario.outage + scenario.after
    client = lab.hosts.hosts[scenario.caller].popen(
        command(Process.SERVICE, "client", _url(lab, scenario.middle))
        + ["--rate", str(scenario.rate), "--duration", str(duration), "--policy", policy],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client.stdout.readline()  # started
        started = time.time()
        time.sleep(scenario.warmup)
        injected = time.time()
        scenario.inject(lab)
        time.sleep(max(0.0, injected + scenario.outage - time.time()))
        restored = time.time()
        scenario.restore(lab)
        series = json.loads(client.communicate(timeout=120)[0].strip().splitlines()[-1])
    finally:
        for process in (client, middle, backend):
            if process.poll() is None:
                process.kill()
        pool = [json.loads(line) for line in middle.communicate()[0].splitlines() if line.startswith('{"t"')]
        backend.communicate()
    return _analyse(policy, series, pool, started, injected, restored, scenario)


def _analyse(policy, series, pool, started, injected, restored, scenario) -> dict:
    """Per second, relative to the injection; the rates during the outage; the recovery."""
    for row in series:
        row["at"] = row["t"] - int(injected)
    for row in pool:
        row["at"] = row["t"] - int(injected)
    outage = [r for r in series if 1 <= r["at"] < scenario.outage]  # the whole seconds inside it
    offered = sum(r["offered"] for r in outage) / max(1, len(outage))
    attempts = sum(r["attempts"] for r in outage) / max(1, len(outage))
    goodput = sum(r["successes"] for r in outage) / max(1, len(outage))
    restore_at = restored - injected
    recovered = next(
        (
            r["at"] - restore_at
            for r in series
            if r["at"] >= restore_at and r["offered"] and r["successes"] >= RECOVERED * r["offered"]
        ),
        None,
    )
    full = [r for r in pool if 0 <= r["at"] < scenario.outage + 1 and r["busiest"] >= scenario.workers]
    return {
        "policy": policy,
        "offered_per_s": round(offered, 1),
        "attempts_per_s": round(attempts, 1),
        "amplification": round(attempts / offered, 2) if offered else 0.0,
        "goodput_outage": round(goodput, 1),
        "pool_full_s": len(full),
        "refused": sum(r["refused"] for r in pool),
        "recovered_after": None if recovered is None else max(0.0, round(recovered + 1, 1)),
        "restore_at": round(restore_at, 2),
        "series": series,
        "pool": pool,
    }


def plot(report: dict, path: str) -> None:
    """One row per policy: requests offered, attempts on the wire and successes per second,
    the outage shaded; the middle tier's busiest workers on the right axis."""
    rows = report["policies"]
    figure = Figure(figsize=(10, 1.2 + 2.3 * len(rows)))
    axes = figure.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for axis, result in zip(axes, rows, strict=True):
        at = [r["at"] for r in result["series"]]
        axis.axvspan(0, result["restore_at"], color="#d62728", alpha=0.08, label="TGW blackhole")
        axis.plot(
            at, [r["offered"] for r in result["series"]], color="#555555", linestyle="--", label="offered"
        )
        axis.plot(
            at, [r["attempts"] for r in result["series"]], color="#d62728", label="attempts on the wire"
        )
        axis.plot(at, [r["successes"] for r in result["series"]], color="#2a9d41", label="successes")
        axis.set_ylabel("requests / s")
        pool = axis.twinx()
        pool.step(
            [r["at"] for r in result["pool"]],
            [r["busiest"] for r in result["pool"]],
            color="#7b2cbf",
            alpha=0.6,
            where="post",
        )
        pool.set_ylabel("middle: busy workers", color="#7b2cbf", fontsize=8)
        pool.set_ylim(0, 2 * max(r["busiest"] for r in result["pool"]) + 1)
        recovered = result["recovered_after"]
        axis.set_title(
            f"{result['policy']}: {result['amplification']:.1f}x attempts during the outage, "
            f"{result['goodput_outage']:.0f}/s succeed; "
            + (
                f"recovered {recovered:.0f} s after the restore"
                if recovered is not None
                else "never recovered"
            ),
            fontsize=9,
            loc="left",
        )
    axes[0].legend(fontsize=7, loc="upper left", ncol=4)
    axes[-1].set_xlabel("seconds since the blackhole")
    figure.suptitle(f"{report['scenario']}: {report['chain']}, {report['fault']}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
