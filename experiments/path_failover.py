"""`vpclab experiment path-failover`: the 2022 TGW blackhole on a design with redundant paths,
run twice: as the file has it (a failover route, TGW primary, peering backup) and with every
failover route cut to its primary (no backup). Steady probes between a pair say how long the
pair was cut off; the controller's change log says when the route manager moved each route
(failover) and moved it back after the repair (fail-back)."""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import yaml
from matplotlib.figure import Figure

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

from .harness import PROBE_TIMEOUT, ROOT, OwnTimings, Probe, outage_row, probe_samples, start_probers

PROBE_RATE = 100.0  # a probe every 10 ms: the outage to within a probe
FAILOVER_WITHIN = 1.0  # seconds: the route manager moves the route, and the probes pass again
EXPECTED = (
    f"with the backup: failover within {FAILOVER_WITHIN:.0f} s and answers again before the repair; "
    "without: lost from the injection to the repair"
)


@dataclass
class PathFailover(OwnTimings):
    name: str
    description: str
    topology: str
    source: str
    target: str
    inject: Callable
    restore: Callable
    fault: str
    warmup: float = 2.0
    outage: float = 4.0
    after: float = 3.0

    def run_once(self, topology_path, seed: int, out_dir, log) -> dict:
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        lines = [] if report["as_expected"] else [f"NOT AS EXPECTED: {EXPECTED}"]
        for variant in report["variants"]:
            moves = (
                f"failover {variant['failover_after']:.2f} s after the injection, fail-back "
                + (f"{variant['failback_after']:.2f} s" if variant["failback_after"] is not None else "never")
                + " after the repair"
                if variant["failover_after"] is not None
                else "no failover"
            )
            lines.append(
                f"{variant['variant']:15s} {report['pair']}: cut off {variant['cut_off_s']:.2f} s "
                f"({variant['lost']}/{variant['sent']} probes lost); {moves}"
            )
        return lines


def without_backup(data: dict) -> dict:
    """The design with every failover route cut to its primary path (no backup to go to)."""
    cut = copy.deepcopy(data)
    for vpc in cut["vpcs"]:
        for table in vpc.get("route_tables", []):
            for route in table.get("routes", []):
                if "failover" in route:
                    route["failover"] = route["failover"][:1]
                    route.pop("active", None)
    return cut


def run(scenario: PathFailover, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    rng = random.Random(seed)
    path = topology_path or os.path.join(ROOT, scenario.topology)
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    cut_path = os.path.join(out_dir, "without-backup.yaml")
    with open(cut_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(without_backup(data), handle, sort_keys=False)
    variants = []
    for variant, design in (("with backup", path), ("without backup", cut_path)):
        log(f"*** {variant}")
        variants.append(_one_variant(scenario, variant, load_topology(design), rng, log))
    report = {
        "scenario": scenario.name,
        "description": scenario.description,
        "topology": variants[0]["topology"],
        "seed": seed,
        "pair": f"{scenario.source}->{scenario.target}",
        "fault": scenario.fault,
        "probe_rate": PROBE_RATE,
        "variants": variants,
    }
    report["as_expected"], report["check"] = check(report)
    samples = {v["variant"]: v.pop("samples") for v in variants}
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    plot(report, samples, os.path.join(out_dir, "failover.png"))
    log(f"*** report: {out_dir}/report.json, picture: {out_dir}/failover.png")
    return report


def _one_variant(scenario: PathFailover, variant: str, topology, rng, log) -> dict:
    jitter = rng.uniform(0.0, 0.1)  # the injection does not line up with the probe clock
    duration = scenario.warmup + jitter + scenario.outage + scenario.after
    probe = Probe(scenario.source, scenario.target)
    with Emulation(topology, log=log) as lab:
        (prober,) = start_probers(lab, [probe], duration, rng, PROBE_RATE)
        try:
            time.sleep(scenario.warmup + jitter)
            injected_at = time.time()
            scenario.inject(lab)
            time.sleep(scenario.outage)
            restored_at = time.time()
            scenario.restore(lab)
            samples = probe_samples(prober)
        finally:
            if prober.poll() is None:
                prober.kill()
            prober.wait()
        changes = lab.api.call("changes")["changes"]
    return measure(variant, topology.name, samples, changes, injected_at, restored_at)


def measure(variant: str, topology: str, samples: list, changes: list, injected_at, restored_at) -> dict:
    """What the probes saw and when the route manager moved routes, relative to the fault."""
    relative = [(sent - injected_at, rtt) for _, sent, rtt in samples]
    lost = [t for t, rtt in relative if rtt is None]
    moves = [c for c in changes if c["operation"] == "failover"]
    away = [c for c in moves if c["arguments"]["path"] > 0 and c["time"] >= injected_at]
    back = [c for c in moves if c["arguments"]["path"] == 0 and c["time"] >= restored_at]
    return {
        "variant": variant,
        "topology": topology,
        "sent": len(relative),
        "lost": len(lost),
        "lost_before_injection": sum(1 for t in lost if t < 0),
        "cut_off_s": round(max(lost) - min(lost) + 1 / PROBE_RATE, 3) if lost else 0.0,
        "last_loss_after": round(max(lost), 3) if lost else None,
        "restore_after": round(restored_at - injected_at, 3),
        "failover_after": _on_cards(away[0], injected_at) if away else None,
        "failback_after": _on_cards(back[0], restored_at) if back else None,
        "route_changes": [c["summary"] for c in moves],
        "samples": relative,
    }


def _on_cards(change: dict, since: float) -> float:
    """Seconds from ``since`` until the cards confirmed the change."""
    return round(change["time"] + change.get("elapsed_ms", 0) / 1000 - since, 3)


def check(report: dict) -> tuple[bool, str]:
    with_backup, without = report["variants"]
    faults = []
    if with_backup["failover_after"] is None or with_backup["failover_after"] > FAILOVER_WITHIN:
        faults.append(f"with the backup, failover after {with_backup['failover_after']} s")
    if with_backup["lost"] and with_backup["last_loss_after"] > FAILOVER_WITHIN:
        faults.append(f"with the backup, a probe lost {with_backup['last_loss_after']} s after the injection")
    if with_backup["failback_after"] is None:
        faults.append("with the backup, no fail-back after the repair")
    cut_to_repair = without["restore_after"] - PROBE_TIMEOUT
    if not without["lost"] or without["last_loss_after"] < cut_to_repair:
        faults.append("without the backup, the pair was not cut off until the repair")
    for variant in (with_backup, without):
        if variant["lost_before_injection"]:
            faults.append(
                f"{variant['variant']}: {variant['lost_before_injection']} lost before the injection"
            )
    return not faults, "; ".join(faults) or EXPECTED


def plot(report: dict, samples: dict, path: str) -> None:
    """One row per variant: each probe answered (green) or lost (red) over time, the fault and
    the repair, and when the route manager moved the route away and back."""
    variants = report["variants"]
    figure = Figure(figsize=(10, 1.6 + 1.6 * len(variants)))
    axes = figure.subplots(len(variants), 1, sharex=True, squeeze=False)[:, 0]
    for axis, variant in zip(axes, variants, strict=True):
        outage_row(
            axis,
            samples[variant["variant"]],
            report["fault"],
            variant["restore_after"],
            (
                (variant["failover_after"], 0.0, "failover to the peering"),
                (variant["failback_after"], variant["restore_after"], "fail-back to the TGW"),
            ),
            f"{variant['variant']}: {report['pair']} cut off {variant['cut_off_s']:.2f} s "
            f"({variant['lost']}/{variant['sent']} probes lost)",
        )
    axes[-1].set_xlabel(
        f"seconds since the injection (probes at {report['probe_rate']:.0f}/s, drawn when sent)"
    )
    figure.suptitle(f"{report['scenario']} on {report['topology']} (seed {report['seed']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
