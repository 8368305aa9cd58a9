"""One harness for every experiment: build -> warm up -> inject -> observe -> restore ->
observe -> tear down; steady probes between chosen instance pairs measure what happened.

Each run writes ``report.json`` and ``timeline.png`` into its output folder. Times in the
report are seconds relative to the injection (probes carry their hosts' timestamps).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from matplotlib.figure import Figure

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE_RATE = 20.0  # probes per second per pair
PROBE_TIMEOUT = 0.5  # an answer later than this counts as a loss


@dataclass
class Probe:
    source: str
    target: str
    protocol: str = "icmp"  # icmp, udp, or tcp (one long-lived stream)
    port: Optional[int] = None

    @property
    def label(self) -> str:
        return f"{self.source}->{self.target} {self.protocol}" + (f"/{self.port}" if self.port else "")


@dataclass
class Scenario:
    name: str
    description: str
    topology: str  # path relative to the repository
    probes: list[Probe]
    inject: Callable[[Emulation], object]
    restore: Callable[[Emulation], object]
    warmup: float = 2.0
    outage: float = 3.0
    after: float = 3.0
    expect: dict = field(default_factory=dict)  # what a reader should see, for the report


def run(
    scenario: Scenario,
    topology_path: Optional[str] = None,
    seed: int = 0,
    out_dir: Optional[str] = None,
    log=print,
) -> dict:
    """Run ``scenario``; returns the report (also written with the plot into ``out_dir``)."""
    rng = random.Random(seed)
    path = topology_path or os.path.join(ROOT, scenario.topology)
    topology = load_topology(path)
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    jitter = rng.uniform(0.0, 0.5)  # the injection does not line up with the probe clock
    duration = scenario.warmup + jitter + scenario.outage + scenario.after
    with Emulation(topology, log=log) as emulation:
        listeners = _listeners(emulation, scenario.probes)
        probers = _start_probers(emulation, scenario.probes, duration, rng)
        try:
            time.sleep(scenario.warmup + jitter)
            injected_at = time.time()
            log(f"*** inject: {scenario.description}")
            injection = scenario.inject(emulation)
            injected_done = time.time()
            time.sleep(scenario.outage)
            restored_at = time.time()
            log("*** restore")
            restoration = scenario.restore(emulation)
            samples = [_collect(process) for process in probers]
        finally:
            for process in probers + listeners:
                if process.poll() is None:
                    process.kill()
                process.wait()
    report = analyse(
        scenario,
        topology.name,
        seed,
        injected_at,
        injected_done,
        restored_at,
        samples,
        injection,
        restoration,
    )
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, default=str)
    plot_timeline(report, samples, injected_at, os.path.join(out_dir, "timeline.png"))
    log(f"*** report: {out_dir}/report.json, timeline: {out_dir}/timeline.png")
    return report


def _listeners(emulation, probes: list[Probe]) -> list:
    processes = []
    for target in sorted({p.target for p in probes if p.port}):
        tcp = ",".join(str(p.port) for p in probes if p.target == target and p.protocol == "tcp")
        udp = ",".join(str(p.port) for p in probes if p.target == target and p.protocol == "udp")
        process = emulation.hosts.hosts[target].popen(
            [sys.executable, "-m", "nitro_switch.probe", "listen", "--tcp", tcp, "--udp", udp],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        process.stdout.readline()
        processes.append(process)
    return processes


def _start_probers(emulation, probes: list[Probe], duration: float, rng) -> list:
    processes = []
    for probe in rng.sample(probes, len(probes)):  # start order is seeded
        address = str(emulation.topology.instance(probe.target).ip)
        target = f"{address}:{probe.port}" if probe.port else address
        process = emulation.hosts.hosts[probe.source].popen(
            [
                sys.executable,
                "-m",
                "experiments.prober",
                probe.protocol,
                target,
                "--rate",
                str(PROBE_RATE),
                "--duration",
                str(duration),
                "--timeout",
                str(PROBE_TIMEOUT),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        process.probe = probe
        processes.append(process)
    for process in processes:
        first = process.stdout.readline()
        if first.strip() != "started":
            raise RuntimeError(f"probe {process.probe.label} did not start: {first.strip()}")
    return sorted(processes, key=lambda p: probes.index(p.probe))


def _collect(process) -> list:
    output, errors = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"probe {process.probe.label} failed: {errors.strip() or output.strip()}")
    return json.loads(output.strip().splitlines()[-1])


def analyse(
    scenario, topology: str, seed, injected_at, injected_done, restored_at, samples, injection, restoration
) -> dict:
    """Per pair: packets sent/lost, the loss window, time to detect and to recover."""
    pairs = []
    for probe, pair_samples in zip(scenario.probes, samples, strict=True):
        relative = [(sent - injected_at, rtt) for _, sent, rtt in pair_samples]
        lost_after = [t for t, rtt in relative if rtt is None and t >= 0]
        ok_after_restore = [t for t, rtt in relative if rtt is not None and t >= restored_at - injected_at]
        first_loss = min(lost_after) if lost_after else 0.0
        recovered = None
        if lost_after:
            later = [t for t in ok_after_restore if t > max(lost_after)]
            recovered = round(min(later) - (restored_at - injected_at), 3) if later else None
        pairs.append(
            {
                "pair": probe.label,
                "sent": len(relative),
                "lost": sum(1 for _, rtt in relative if rtt is None),
                "lost_before_injection": sum(1 for t, rtt in relative if rtt is None and t < 0),
                "loss_window": [round(first_loss, 3), round(max(lost_after), 3)] if lost_after else None,
                "time_to_detect": round(first_loss + PROBE_TIMEOUT, 3) if lost_after else None,
                "time_to_recover": recovered,
                "survived": not lost_after,
            }
        )
    return {
        "topology": topology,
        "scenario": scenario.name,
        "description": scenario.description,
        "seed": seed,
        "probe_rate": PROBE_RATE,
        "probe_timeout": PROBE_TIMEOUT,
        "injection_time": injected_at,
        "injection_took": round(injected_done - injected_at, 3),
        "restore_time": restored_at,
        "restore_after": round(restored_at - injected_at, 3),
        "injection": injection,
        "restoration": restoration,
        "expect": scenario.expect,
        "pairs": pairs,
    }


def plot_timeline(report: dict, samples: list, injected_at: float, path: str) -> None:
    rows = len(samples)
    figure = Figure(figsize=(9, 1.3 + 1.1 * rows))
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)
    for axis, pair, pair_samples in zip(axes[:, 0], report["pairs"], samples, strict=True):
        ok = [(s - injected_at) for _, s, rtt in pair_samples if rtt is not None]
        lost = [(s - injected_at) for _, s, rtt in pair_samples if rtt is None]
        axis.scatter(ok, [1] * len(ok), s=6, color="#2a9d41", label="answered")
        axis.scatter(lost, [0] * len(lost), s=6, color="#d62728", label="lost")
        axis.axvline(0, color="black", linestyle="--", linewidth=1)
        axis.axvline(report["restore_after"], color="#1f77b4", linestyle="--", linewidth=1)
        axis.set_yticks([0, 1], ["lost", "ok"])
        axis.set_ylim(-0.5, 1.5)
        axis.set_title(f"{pair['pair']}: {pair['lost']}/{pair['sent']} lost", fontsize=9, loc="left")
    axes[0, 0].text(0, 1.6, " inject", fontsize=8)
    axes[0, 0].text(report["restore_after"], 1.6, " restore", fontsize=8, color="#1f77b4")
    axes[-1, 0].set_xlabel("seconds since injection")
    figure.suptitle(f"{report['scenario']} on {report['topology']} (seed {report['seed']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
