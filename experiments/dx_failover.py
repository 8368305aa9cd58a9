"""`vpclab experiment dx-failover`: the Direct Connect link of a site that also has a VPN is cut
while an instance pings a host of the site; the site's router moves to the VPN at once (its
interface went down), AWS's side when its session's hold time runs out (``dx-state``), and
both move back to Direct Connect after the repair. Steady probes say how long the site was cut
off; the AWS ends' counters say which path carried its traffic, each way, every quarter second;
the flow logs' records of the instance's interface name the path (``vpclab-path``) each way."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from itertools import pairwise

from matplotlib.figure import Figure

from nitro_switch.commands import run as run_command
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
SAMPLE_EVERY = 0.25  # seconds between looks at the paths' counters
CARRYING = 4  # packets in a sample: the path carries the probes (BGP's keepalives are fewer)
PATHS = ("to the site by dx", "to the site by vpn", "from the site by dx", "from the site by vpn")


@dataclass
class DxFailover(OwnTimings):
    name: str
    description: str
    topology: str
    source: str  # the instance that pings
    target: str  # a host of the site
    link: str  # the Direct Connect link cut
    vpn: str  # the site's VPN connection, which carries on
    hold_time: int = 3  # BGP's hold time for the run (AWS: 30 s; experiments may ask for less)
    # long enough to hold whole flow log records (a record a second: each spans 2-3 seconds)
    warmup: float = 5.0
    outage: float = 10.0
    after: float = 8.0

    def run_once(self, topology_path, seed: int, out_dir, log) -> dict:
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        lines = [] if report["as_expected"] else [f"NOT AS EXPECTED: {report['check']}"]
        down, up = report["down_after"], report["up_after_repair"]
        lines.append(
            f"{report['pair']}: cut off {report['cut_off_s']:.2f} s ({report['lost']}/{report['sent']} "
            "probes lost); "
            + (f"{report['link']} down for AWS after {down:.2f} s" if down is not None else "never down")
            + (f", back {up:.2f} s after the repair" if up is not None else ", not back")
        )
        for phase in ("before", "during", "after"):
            lines.append(
                f"  {phase} the outage: "
                + ", ".join(report["paths"][phase])
                + "; flow logs: "
                + said_paths(report["flow_log_paths"][phase])
            )
        return lines


class PathCounters(threading.Thread):
    """Every SAMPLE_EVERY s: the packets the link and the VPN's tunnels carried each way, as
    the AWS ends' devices count them (their namespaces' sysfs)."""

    def __init__(self, lab: Emulation, link: str, vpn: str):
        super().__init__(name="path-counters", daemon=True)
        self.places = {
            "dx": (lab.names.netns(f"aws-{link}"), ["link"]),
            "vpn": (lab.names.netns(f"aws-{vpn}"), ["tunnel1", "tunnel2"]),
        }
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.stopping = threading.Event()

    def read(self) -> dict[str, int]:
        found = {}
        for way, (netns, devices) in self.places.items():
            files = [f"/sys/class/net/{d}/statistics/{k}_packets" for d in devices for k in ("tx", "rx")]
            numbers = [int(n) for n in run_command("cat", *files, netns=netns).split()]
            found[f"to the site by {way}"] = sum(numbers[0::2])
            found[f"from the site by {way}"] = sum(numbers[1::2])
        return found

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append((time.time(), self.read()))
            self.stopping.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)

    def rates(self, since: float) -> list[tuple[float, dict[str, float]]]:
        """Packets per second on each path between samples, at seconds since ``since``."""
        found = []
        for (before, old), (now, new) in pairwise(self.samples):
            found.append((now - since, {p: (new[p] - old[p]) / (now - before) for p in PATHS}))
        return found


def run(scenario: DxFailover, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    rng = random.Random(seed)
    topology = load_topology(topology_path or os.path.join(ROOT, scenario.topology))
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    jitter = rng.uniform(0.0, 0.5)  # the cut does not line up with BGP's keepalives
    duration = scenario.warmup + jitter + scenario.outage + scenario.after
    logs = flow_logs_dir(out_dir)
    with Emulation(topology, log=log, bgp_hold_time=scenario.hold_time, flow_logs_dir=logs) as lab:
        counters = PathCounters(lab, scenario.link, scenario.vpn)
        counters.start()
        probers = start_probers(lab, [Probe(scenario.source, scenario.target)], duration, rng, PROBE_RATE)
        try:
            time.sleep(scenario.warmup + jitter)
            cut_at = time.time()
            lab.sites.fail_link(scenario.link)
            log(f"*** Direct Connect {scenario.link} cut")
            time.sleep(scenario.outage)
            repaired_at = time.time()
            lab.sites.fail_link(scenario.link, up=True)
            log(f"*** Direct Connect {scenario.link} mended")
            samples = probe_samples(probers[0])
        finally:
            counters.stop()
            for prober in probers:
                if prober.poll() is None:
                    prober.kill()
                prober.wait()
        changes = [c for c in lab.api.call("changes")["changes"] if c["operation"] == "dx-state"]
    found = collect(logs, os.path.join(out_dir, "flowlogs.txt"))
    ends = (str(topology.instance(scenario.source).ip), str(topology.hybrid.host(scenario.target).ip))
    report = measure(scenario, samples, changes, counters.rates(cut_at), cut_at, repaired_at)
    phases = failover_phases(cut_at, scenario.hold_time + SLACK, repaired_at, repaired_at + scenario.after)
    report["flow_log_paths"] = logged_paths(found, ends, phases)
    report["flow_logs"] = {"records": len(found), "file": "flowlogs.txt"}
    records = logged_records(found, ends, cut_at)
    report.update({"scenario": scenario.name, "description": scenario.description, "seed": seed})
    report["topology"] = topology.name
    report["as_expected"], report["check"] = check(report)
    timeline, rates = report.pop("samples"), report.pop("rates")
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    plot(report, timeline, rates, records, os.path.join(out_dir, "timeline.png"))
    log(f"*** report: {out_dir}/report.json, timeline: {out_dir}/timeline.png")
    return report


def measure(scenario: DxFailover, samples, changes, rates, cut_at: float, repaired_at: float) -> dict:
    """What the probes saw, when AWS's side marked the link down and up, and which paths carried
    the site's traffic before the cut, in the outage's last seconds, and at the end."""
    mine = [c for c in changes if c["arguments"]["connection"] == scenario.link]
    repair = repaired_at - cut_at

    def carrying(start: float, end: float) -> list[str]:
        window = [r for t, r in rates if start <= t < end]
        return [p for p in PATHS if window and min(r[p] for r in window) * SAMPLE_EVERY >= CARRYING]

    return {
        "pair": f"{scenario.source}->{scenario.target}",
        "link": scenario.link,
        "vpn": scenario.vpn,
        "hold_time": scenario.hold_time,
        "probe_rate": PROBE_RATE,
        "repair_after": round(repair, 3),
        **outage(samples, mine, cut_at, repaired_at, PROBE_RATE),
        "paths": {
            "before": carrying(-scenario.warmup + 0.5, 0.0),
            "during": carrying(repair - 2.0, repair),
            # a second clear of the probes' end, whose last sample counts a part of a quarter
            "after": carrying(repair + scenario.after - 3.0, repair + scenario.after - 1.0),
        },
        "rates": rates,
    }


def check(report: dict) -> tuple[bool, str]:
    limit = report["hold_time"] + SLACK
    faults = outage_faults(report, report["link"], limit)
    wanted = {
        "before": ["to the site by dx", "from the site by dx"],
        "during": ["to the site by vpn", "from the site by vpn"],
        "after": ["to the site by dx", "from the site by dx"],
    }
    for phase, paths in wanted.items():
        if report["paths"][phase] != paths:
            faults.append(
                f"{phase} the outage the traffic took {report['paths'][phase] or 'no path'}, not {paths}"
            )
    vpn = [f"{report['vpn']}:tunnel{n}" for n in (1, 2)]
    wanted_logged = {"before": [report["link"]], "during": vpn, "after": [report["link"]]}
    faults += path_faults(report["flow_log_paths"], wanted_logged)
    expected = (
        f"the site cut off at most the hold time + {SLACK:.0f} s ({limit:.0f} s), its traffic on the VPN "
        "both ways until the repair, then on Direct Connect again with no probe lost; the flow logs "
        "name the same paths"
    )
    return not faults, "; ".join(faults) or expected


def plot(report: dict, timeline: list, rates: list, records: list, path: str) -> None:
    """Three rows: each probe answered (green) or lost (red), with the cut, the repair and AWS's
    moves; the packets per second each path carried, to the site above the axis and from it
    below; the flow log records of the pair, each a bar over its seconds on the path it names."""
    figure = Figure(figsize=(10, 7.0))
    probes, paths, logged = figure.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.4, 1.1]})
    repair = report["repair_after"]
    probes.axvspan(0, report["hold_time"], color="#999999", alpha=0.12)
    outage_row(
        probes,
        timeline,
        f"{report['link']} cut",
        repair,
        (
            (report["down_after"], 0.0, "AWS: link down, TGW on the VPN"),
            (report["up_after_repair"], repair, "AWS: link up, back to Direct Connect"),
        ),
        f"{report['pair']}: cut off {report['cut_off_s']:.2f} s ({report['lost']}/{report['sent']} probes "
        f"lost; grey: the hold time, {report['hold_time']} s)",
    )
    styles = {  # to the site above the axis, from the site below it
        "to the site by dx": ("#1f77b4", 1),
        "from the site by dx": ("#1f77b4", -1),
        "to the site by vpn": ("#e07b00", 1),
        "from the site by vpn": ("#e07b00", -1),
    }
    times = [t for t, _ in rates]
    names = {"dx": f"Direct Connect {report['link']}", "vpn": f"VPN {report['vpn']}"}
    for name, (color, sign) in styles.items():
        label = names[name.split()[-1]] if sign > 0 else None  # one entry per path: the sign says which way
        paths.plot(times, [sign * r[name] for _, r in rates], color=color, label=label)
    paths.axhline(0, color="#444444", linewidth=0.8)
    paths.axvline(0, color="black", linestyle="--", linewidth=1)
    paths.axvline(repair, color="#1f77b4", linestyle="--", linewidth=1)
    paths.set_ylabel("packets/s\n(to the site up, from it down)", fontsize=8)
    paths.set_title(
        f"which path carries the site's traffic: Direct Connect {report['link']} or VPN {report['vpn']}",
        fontsize=9,
        loc="left",
    )
    paths.legend(fontsize=8, loc="center right")
    records_row(
        logged,
        records,
        report["repair_after"],
        lambda name: "#1f77b4" if name == report["link"] else "#e07b00",
        f"flow log records of {report['pair']} (a bar per record over its seconds, on its vpclab-path): "
        "to the site above each line, from it below",
    )
    logged.set_xlabel(f"seconds since the cut (probes at {report['probe_rate']:.0f}/s, drawn when sent)")
    figure.suptitle(f"{report['scenario']} on {report['topology']} (seed {report['seed']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
