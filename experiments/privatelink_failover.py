"""`vpclab experiment privatelink-failover`: a consumer calls a service through its interface
endpoint while one of the NLB's targets dies, then comes back. The consumer makes a call
every 1/rate s, each on a new connection (so the NLB's flow hash picks a target each time);
the controller's change log says when the health checks took the target out of service and
put it back. Until they do, the calls the hash gives the dead target fail."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from dataclasses import dataclass

from matplotlib.figure import Figure

from agents.launch import Process, command
from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

from .harness import ROOT, OwnTimings

BIN = 0.25  # seconds per bar of the picture


@dataclass
class PrivateLinkFailover(OwnTimings):
    name: str
    description: str
    topology: str
    consumer: str
    url: str
    load_balancer: str
    victim: str  # the target whose service dies
    rate: float = 20.0
    warmup: float = 3.0
    outage: float = 5.0
    after: float = 4.0
    timeout: float = 1.0

    def run_once(self, topology_path, seed: int, out_dir, log) -> dict:
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        lines = [] if report["as_expected"] else [f"NOT AS EXPECTED: {report['check']}"]
        removed, back = report["removed_after"], report["back_after"]
        lines.append(
            f"{report['victim']} died: {report['failed']} of {report['calls']} calls failed, the last "
            + (
                f"{report['last_failure_after']:.2f} s"
                if report["last_failure_after"] is not None
                else "none"
            )
            + " after; health checks took it out "
            + (f"{removed:.2f} s after" if removed is not None else "never")
            + "; back in service "
            + (f"{back:.2f} s after its restart" if back is not None else "never")
        )
        lines.append("answered by: " + ", ".join(f"{name} {n}" for name, n in report["answered_by"].items()))
        return lines


def run(scenario: PrivateLinkFailover, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    rng = random.Random(seed)
    topology = load_topology(topology_path or os.path.join(ROOT, scenario.topology))
    balancer = topology.load_balancer(scenario.load_balancer)
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    jitter = rng.uniform(0.0, 1 / scenario.rate)  # the fault does not line up with the calls
    duration = scenario.warmup + jitter + scenario.outage + scenario.after
    with Emulation(topology, log=log) as lab:
        servers = {name: _serve(lab, name, out_dir) for name in balancer.targets}
        client = lab.hosts.hosts[scenario.consumer].popen(
            command(Process.TLS_ECHO, "client", scenario.url)
            + ["--rate", str(scenario.rate), "--duration", str(duration), "--timeout", str(scenario.timeout)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(scenario.warmup + jitter)
            killed_at = time.time()
            servers[scenario.victim].kill()
            servers[scenario.victim].wait()
            log(f"*** {scenario.victim}'s service killed")
            time.sleep(scenario.outage)
            restarted_at = time.time()
            servers[scenario.victim] = _serve(lab, scenario.victim, out_dir)
            log(f"*** {scenario.victim}'s service restarted")
            output, _ = client.communicate(timeout=duration + 30)
        finally:
            for process in (client, *servers.values()):
                if process.poll() is None:
                    process.kill()
                process.wait()
        changes = lab.api.call("changes")["changes"]
    calls = [json.loads(line) for line in output.splitlines() if line.strip()]
    report = measure(scenario, topology.name, seed, calls, changes, killed_at, restarted_at)
    report["health_check"] = {
        "interval": balancer.health_check.interval,
        "unhealthy_threshold": balancer.health_check.unhealthy_threshold,
        "healthy_threshold": balancer.health_check.healthy_threshold,
    }
    report["as_expected"], report["check"] = check(report)
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump({k: v for k, v in report.items() if k != "series"}, handle, indent=2)
    plot(report, os.path.join(out_dir, "timeline.png"))
    log(f"*** report: {out_dir}/report.json, picture: {out_dir}/timeline.png")
    return report


def _serve(lab, name: str, out_dir: str) -> subprocess.Popen:
    process = lab.hosts.hosts[name].popen(
        command(Process.TLS_ECHO, "serve", "--name", name)
        + ["--log", os.path.join(out_dir, f"{name}-callers.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()  # serving
    return process


def measure(scenario, topology: str, seed: int, calls: list, changes: list, killed_at, restarted_at):
    """The calls and the health changes, in seconds since the kill."""
    series = [(c["at"] - killed_at, c["ok"], c["by"]) for c in calls]
    failures = [t for t, ok, _ in series if not ok]
    ended = [c["at"] - killed_at + c["ms"] / 1000 for c in calls if not c["ok"]]  # in flight may fail
    marks = [
        c
        for c in changes
        if c["operation"] == "target-health" and c["arguments"]["target"] == scenario.victim
    ]
    out = next((c for c in marks if not c["arguments"]["healthy"] and c["time"] >= killed_at), None)
    back = next((c for c in marks if c["arguments"]["healthy"] and c["time"] >= restarted_at), None)
    answered: dict[str, int] = {}
    for _, ok, by in series:
        if ok:
            answered[by] = answered.get(by, 0) + 1
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "topology": topology,
        "seed": seed,
        "consumer": scenario.consumer,
        "url": scenario.url,
        "victim": scenario.victim,
        "rate": scenario.rate,
        "calls": len(series),
        "failed": len(failures),
        "failed_before_kill": sum(1 for t in ended if t < 0),
        "first_failure_after": round(min(failures), 3) if failures else None,
        "last_failure_after": round(max(failures), 3) if failures else None,
        "removed_after": _confirmed(out, killed_at),
        "restart_after": round(restarted_at - killed_at, 3),
        "back_after": _confirmed(back, restarted_at),
        "victim_answers_after_restart": sum(
            1 for t, ok, by in series if ok and by == scenario.victim and t >= restarted_at - killed_at
        ),
        "answered_by": dict(sorted(answered.items())),
        "health_changes": [c["summary"] for c in marks],
        "series": series,
    }


def _confirmed(change, since: float):
    """Seconds from ``since`` until the cards confirmed ``change`` (None: no such change)."""
    if change is None:
        return None
    return round(change["time"] + change.get("elapsed_ms", 0) / 1000 - since, 3)


def check(report: dict) -> tuple[bool, str]:
    """The dead target leaves within its unhealthy threshold (plus an interval and a second of
    slack), no call fails after that, and it serves again after its restart."""
    health = report["health_check"]
    within = (health["unhealthy_threshold"] + 1) * health["interval"] + 1.0
    faults = []
    if report["removed_after"] is None or report["removed_after"] > within:
        faults.append(
            f"the dead target left after {report['removed_after']} s (expected within {within:.1f} s)"
        )
    elif (
        report["last_failure_after"] is not None
        and report["last_failure_after"] > report["removed_after"] + 0.5
    ):
        faults.append(f"a call failed {report['last_failure_after']} s after the kill, after the target left")
    if report["failed_before_kill"]:
        faults.append(f"{report['failed_before_kill']} calls failed before the kill")
    if report["back_after"] is None or not report["victim_answers_after_restart"]:
        faults.append("the target did not serve again after its restart")
    expected = f"the dead target leaves within {within:.1f} s, and serves again after its restart"
    return not faults, "; ".join(faults) or expected


def plot(report: dict, path: str) -> None:
    """Calls per quarter second, stacked by who answered (failures in red), with the kill, the
    health checks' verdicts and the restart."""
    series = report["series"]
    start = min(t for t, _, _ in series)
    end = max(t for t, _, _ in series)
    bins = int((end - start) / BIN) + 1
    targets = sorted({by for _, ok, by in series if ok})
    colours = ["#2a9d8f", "#e9c46a", "#8ab17d", "#264653"]
    counts = {name: [0] * bins for name in [*targets, "failed"]}
    for t, ok, by in series:
        counts[by if ok else "failed"][int((t - start) / BIN)] += 1
    edges = [start + n * BIN for n in range(bins)]
    figure = Figure(figsize=(10, 4))
    axis = figure.subplots()
    bottom = [0] * bins
    for n, name in enumerate([*targets, "failed"]):
        colour = "#d62728" if name == "failed" else colours[n % len(colours)]
        label = "failed (timeout or refused)" if name == "failed" else f"answered by {name}"
        axis.bar(edges, counts[name], width=BIN * 0.9, bottom=bottom, align="edge", color=colour, label=label)
        bottom = [b + c for b, c in zip(bottom, counts[name], strict=True)]
    marks = [
        (0.0, f"{report['victim']}'s service killed", "black"),
        (report["removed_after"], "health checks: unhealthy", "#7b2cbf"),
        (report["restart_after"], "restarted", "#1f77b4"),
    ]
    if report["back_after"] is not None:
        marks.append((report["restart_after"] + report["back_after"], "healthy again", "#7b2cbf"))
    on_line: dict = dict(transform=axis.get_xaxis_transform(), fontsize=8, backgroundcolor="white")
    for n, (at, said, colour) in enumerate(marks):
        if at is None:
            continue
        axis.axvline(at, color=colour, linestyle="--", linewidth=1.2)
        axis.text(at, 0.96 - 0.07 * (n % 2), f" {said} ({at:+.2f} s) ", color=colour, va="top", **on_line)
    axis.set_xlabel(
        f"seconds since the kill (calls by {report['consumer']} at {report['rate']:.0f}/s, "
        "each on a new connection)"
    )
    axis.set_ylabel(f"calls per {BIN} s")
    axis.set_ylim(0, max(bottom) * 1.45 + 1)
    axis.legend(loc="upper left", bbox_to_anchor=(0, 0.82), fontsize=8)
    health = report["health_check"]
    axis.set_title(
        f"{report['scenario']} on {report['topology']}: {report['failed']} of {report['calls']} calls "
        f"failed; health check every {health['interval']} s, unhealthy after {health['unhealthy_threshold']}",
        fontsize=9,
        loc="left",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
