"""`vpclab experiment vpn-tunnel-down`: tunnel 1 of each VPN connection is cut while an instance
pings a host of each site; the second tunnel carries on once AWS's side notices (a BGP
session's hold time, or dead peer detection on a static VPN), and after the repair the VGW
moves back. Steady probes say how long each site was cut off; the controller's change log says
when each tunnel went down and came back as AWS's side saw it (``tunnel-state``); the flow logs'
records of the instance's interface name the tunnel each way (``vpclab-path``)."""

from __future__ import annotations

import functools
import json
import os
import random
import time
from dataclasses import dataclass

from matplotlib.figure import Figure

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

from .flowlogs import (
    collect,
    failover_phases,
    flow_logs_dir,
    logged_paths,
    logged_records,
    path_faults,
    said_paths,
)
from .harness import (
    ROOT,
    OwnTimings,
    Probe,
    outage,
    outage_faults,
    outage_row,
    probe_samples,
    records_row,
    start_probers,
)

PROBE_RATE = 50.0  # a probe every 20 ms
SLACK = 1.0  # seconds past the hold time a failover may take (issue 32)


@dataclass
class TunnelFailover(OwnTimings):
    name: str
    description: str
    topology: str
    source: str  # the instance that pings
    sites: tuple[tuple[str, str], ...]  # (VPN connection, a host of its site)
    tunnel: int = 1  # the tunnel cut
    hold_time: int = 3  # BGP's hold time and DPD's timeout for the run (AWS: 30 s)
    # long enough to hold whole flow log records (a record a second: each spans 2-3 seconds)
    warmup: float = 5.0
    outage: float = 10.0
    after: float = 8.0

    def run_once(self, topology_path, seed: int, out_dir, log) -> dict:
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        lines = [] if report["as_expected"] else [f"NOT AS EXPECTED: {report['check']}"]
        for pair in report["pairs"]:
            down = pair["down_after"]
            lines.append(
                f"{pair['pair']} over {pair['connection']}: cut off {pair['cut_off_s']:.2f} s "
                f"({pair['lost']}/{pair['sent']} probes lost); "
                + (
                    f"tunnel {report['tunnel']} down for AWS after {down:.2f} s"
                    if down is not None
                    else "never down"
                )
                + (
                    f", back {pair['up_after_repair']:.2f} s after the repair"
                    if pair["up_after_repair"] is not None
                    else ", not back"
                )
            )
            for phase, named in pair["flow_log_paths"].items():
                lines.append(f"  flow logs {phase} the outage: {said_paths(named)}")
        return lines


def run(scenario: TunnelFailover, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    rng = random.Random(seed)
    topology = load_topology(topology_path or os.path.join(ROOT, scenario.topology))
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    jitter = rng.uniform(0.0, 0.5)  # the cut does not line up with BGP's keepalives
    duration = scenario.warmup + jitter + scenario.outage + scenario.after
    probes = [Probe(scenario.source, host) for _, host in scenario.sites]
    logs = flow_logs_dir(out_dir)
    with Emulation(topology, log=log, bgp_hold_time=scenario.hold_time, flow_logs_dir=logs) as lab:
        probers = start_probers(lab, probes, duration, rng, PROBE_RATE)
        try:
            time.sleep(scenario.warmup + jitter)
            cut_at = time.time()
            for connection, _ in scenario.sites:
                lab.sites.fail_tunnel(connection, scenario.tunnel)
            log(f"*** tunnel {scenario.tunnel} of {', '.join(c for c, _ in scenario.sites)} cut")
            time.sleep(scenario.outage)
            repaired_at = time.time()
            for connection, _ in scenario.sites:
                lab.sites.fail_tunnel(connection, scenario.tunnel, up=True)
            log(f"*** tunnel {scenario.tunnel} mended")
            samples = [probe_samples(prober) for prober in probers]
        finally:
            for prober in probers:
                if prober.poll() is None:
                    prober.kill()
                prober.wait()
        changes = [c for c in lab.api.call("changes")["changes"] if c["operation"] == "tunnel-state"]
    logged = collect(logs, os.path.join(out_dir, "flowlogs.txt"))
    phases = failover_phases(cut_at, scenario.hold_time + SLACK, repaired_at, repaired_at + scenario.after)
    source = str(topology.instance(scenario.source).ip)
    pairs, records = [], {}
    for (connection, host), found in zip(scenario.sites, samples, strict=True):
        pair = measure(
            f"{scenario.source}->{host}", connection, scenario.tunnel, found, changes, cut_at, repaired_at
        )
        ends = (source, str(topology.hybrid.host(host).ip))
        pair["flow_log_paths"] = logged_paths(logged, ends, phases)
        records[pair["pair"]] = logged_records(logged, ends, cut_at)
        pairs.append(pair)
    report = {
        "scenario": scenario.name,
        "description": scenario.description,
        "topology": topology.name,
        "seed": seed,
        "tunnel": scenario.tunnel,
        "hold_time": scenario.hold_time,
        "probe_rate": PROBE_RATE,
        "repair_after": round(repaired_at - cut_at, 3),
        "pairs": pairs,
        "flow_logs": {"records": len(logged), "file": "flowlogs.txt"},
    }
    report["as_expected"], report["check"] = check(report)
    timelines = {pair["pair"]: pair.pop("samples") for pair in pairs}
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    plot(report, timelines, records, os.path.join(out_dir, "timeline.png"))
    log(f"*** report: {out_dir}/report.json, timeline: {out_dir}/timeline.png")
    return report


def measure(
    pair: str, connection: str, tunnel: int, samples, changes, cut_at: float, repaired_at: float
) -> dict:
    """What the probes saw, and when AWS's side marked the tunnel down and up, relative to the cut."""
    mine = [
        c for c in changes if (c["arguments"]["connection"], c["arguments"]["tunnel"]) == (connection, tunnel)
    ]
    return {"pair": pair, "connection": connection, **outage(samples, mine, cut_at, repaired_at, PROBE_RATE)}


def check(report: dict) -> tuple[bool, str]:
    limit = report["hold_time"] + SLACK
    faults = [
        f"{pair['pair']}: {fault}"
        for pair in report["pairs"]
        for fault in outage_faults(pair, f"tunnel {report['tunnel']}", limit)
    ]
    for pair in report["pairs"]:
        cut, other = (f"{pair['connection']}:tunnel{n}" for n in (report["tunnel"], 3 - report["tunnel"]))
        wanted = {"before": [cut], "during": [other], "after": [cut]}
        faults += path_faults(pair["flow_log_paths"], wanted, f"{pair['pair']}: ")
    expected = (
        f"each site cut off at most the hold time + {SLACK:.0f} s ({limit:.0f} s), then on tunnel 2; "
        "tunnel 1 back after the repair with no probe lost; the flow logs name the same tunnels"
    )
    return not faults, "; ".join(faults) or expected


def _path_color(cut: str, name: str) -> str:
    return "#1f77b4" if name == cut else "#e07b00"  # the cut tunnel's as the link's in dx-failover


def plot(report: dict, timelines: dict, records: dict, path: str) -> None:
    """Two rows per site: each probe answered (green) or lost (red) over time, the cut and the
    repair, and when AWS's side marked the tunnel down and up; below, the flow log records of
    the pair on the tunnel each names."""
    pairs = report["pairs"]
    figure = Figure(figsize=(10, 1.6 + 2.9 * len(pairs)))
    axes = figure.subplots(2 * len(pairs), 1, sharex=True, squeeze=False)[:, 0]
    repair = report["repair_after"]
    for axis, logged, pair in zip(axes[0::2], axes[1::2], pairs, strict=True):
        axis.axvspan(
            0, report["hold_time"], color="#999999", alpha=0.12, label=f"hold time {report['hold_time']} s"
        )
        outage_row(
            axis,
            timelines[pair["pair"]],
            f"tunnel {report['tunnel']} cut",
            repair,
            (
                (pair["down_after"], 0.0, "AWS: tunnel down, VGW on tunnel 2"),
                (pair["up_after_repair"], repair, "AWS: tunnel up, back to tunnel 1"),
            ),
            f"{pair['pair']} over {pair['connection']}: cut off {pair['cut_off_s']:.2f} s "
            f"({pair['lost']}/{pair['sent']} probes lost; grey: the hold time, {report['hold_time']} s)",
        )
        cut = f"{pair['connection']}:tunnel{report['tunnel']}"
        records_row(
            logged,
            records[pair["pair"]],
            repair,
            functools.partial(_path_color, cut),
            f"flow log records of {pair['pair']} (a bar per record over its seconds, on its tunnel): "
            "to the site above each line, from it below",
        )
    axes[-1].set_xlabel(f"seconds since the cut (probes at {report['probe_rate']:.0f}/s, drawn when sent)")
    figure.suptitle(f"{report['scenario']} on {report['topology']} (seed {report['seed']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
