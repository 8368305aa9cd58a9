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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from matplotlib.figure import Figure

from agents.flowlog_records import NO_PATH
from agents.launch import Process, command
from nitro_switch.emulation import Emulation
from vpclab.errors import InvalidInput
from vpclab.intent.loader import load_topology

from .flowlogs import WAYS, Alarm, Watcher, alarm_time, collect, fires_before, first_reject, flow_logs_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE_RATE = 20.0  # probes per second per pair
PROBE_TIMEOUT = 0.5  # an answer later than this counts as a loss


UNAFFECTED = "unaffected"  # no probe lost, from warm-up to the end
INTERRUPTED = "lost from injection to restore"  # a hole from the fault to the repair, then answers
START_GRACE = 2 * PROBE_TIMEOUT  # a fault shows within this, and a repair too


@dataclass
class Probe:
    source: str
    target: str
    protocol: str = "icmp"  # icmp, udp, tcp (one long-lived stream) or tcp-new (a connection each)
    port: Optional[int] = None
    expect: str = UNAFFECTED  # or INTERRUPTED
    why: str = ""  # the reason, as the report and the picture say it

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
    fault: str = "fault injected"  # written on the injection line: "srv2 link down"
    repair: str = "restored"  # written on the restore line: "srv2 link up"
    warmup: float = 2.0
    outage: float = 3.0
    after: float = 3.0

    def execute(self, topology_path=None, seed: int = 0, out_dir=None, log=print, alarm=None) -> dict:
        return run(self, topology_path, seed, out_dir, log, alarm)

    @staticmethod
    def summary(report: dict) -> list[str]:
        """One line per probed pair: its loss, and whether that is what was expected."""
        lines = []
        for pair in report["pairs"]:
            if pair["lost"]:
                window = (
                    f"lost {pair['lost']}/{pair['sent']}, detected after {pair['time_to_detect']} s, "
                    f"recovered {pair['time_to_recover']} s after restore"
                )
            else:
                window = f"no loss ({pair['sent']} probes)"
            verdict = "as expected" if pair["as_expected"] else f"NOT AS EXPECTED: {pair['check']}"
            lines.append(f"{pair['pair']:28s} {window}; expected {pair['expected']}: {verdict}")
        return lines


def run(
    scenario: Scenario,
    topology_path: Optional[str] = None,
    seed: int = 0,
    out_dir: Optional[str] = None,
    log=print,
    alarm: Optional[Alarm] = None,
) -> dict:
    """Run ``scenario``; returns the report (also written with the plot and the flow logs into
    ``out_dir``). ``alarm``: when a reject-rate alarm on the flow logs would have fired."""
    rng = random.Random(seed)
    path = topology_path or os.path.join(ROOT, scenario.topology)
    topology = load_topology(path)
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    jitter = rng.uniform(0.0, 0.5)  # the injection does not line up with the probe clock
    duration = scenario.warmup + jitter + scenario.outage + scenario.after
    with (
        Emulation(topology, log=log, flow_logs_dir=flow_logs_dir(out_dir)) as emulation,
        Watcher(emulation.flow_logs_dir) as watcher,
    ):
        listeners = start_listeners(emulation, scenario.probes)
        probers = start_probers(emulation, scenario.probes, duration, rng)
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
            samples = [probe_samples(process) for process in probers]
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
    logged = emulation.topology  # the design with its flow logs
    found = collect(flow_logs_dir(out_dir), os.path.join(out_dir, "flowlogs.txt"))
    for probe, pair in zip(scenario.probes, report["pairs"], strict=True):
        addresses = (str(logged.instance(probe.source).ip), str(logged.instance(probe.target).ip))
        pair["flow_log"] = first_reject(watcher.seen, addresses, injected_at)
    report["flow_logs"] = {"records": len(found), "file": "flowlogs.txt"}
    if alarm is not None:
        report["alarm"] = {
            "condition": alarm.condition,
            "fired_after": alarm_time(watcher.seen, alarm, injected_at),
            "fired_before_injection": fires_before(watcher.seen, alarm, injected_at),
        }
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, default=str)
    plot_timeline(report, samples, injected_at, os.path.join(out_dir, "timeline.png"))
    log(f"*** report: {out_dir}/report.json, timeline: {out_dir}/timeline.png")
    return report


def start_listeners(emulation, probes: list[Probe]) -> list:
    processes = []
    for target in sorted({p.target for p in probes if p.port}):
        tcp = ",".join(str(p.port) for p in probes if p.target == target and p.protocol.startswith("tcp"))
        udp = ",".join(str(p.port) for p in probes if p.target == target and p.protocol == "udp")
        process = emulation.hosts.hosts[target].popen(
            command(Process.PROBE, "listen", "--tcp", tcp, "--udp", udp),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        process.stdout.readline()
        processes.append(process)
    return processes


def start_probers(emulation, probes: list[Probe], duration: float, rng, rate: float = PROBE_RATE) -> list:
    processes = []
    for probe in rng.sample(probes, len(probes)):  # start order is seeded
        address = str(emulation.topology.endpoint(probe.target).ip)  # an instance, or a site's host
        target = f"{address}:{probe.port}" if probe.port else address
        process = emulation.hosts.hosts[probe.source].popen(
            command(
                Process.PROBER,
                probe.protocol,
                target,
                "--rate",
                str(rate),
                "--duration",
                str(duration),
                "--timeout",
                str(PROBE_TIMEOUT),
            ),
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


def probe_samples(process) -> list:
    output, errors = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"probe {process.probe.label} failed: {errors.strip() or output.strip()}")
    return json.loads(output.strip().splitlines()[-1])


def analyse(
    scenario, topology: str, seed, injected_at, injected_done, restored_at, samples, injection, restoration
) -> dict:
    """Per pair: packets sent/lost, the loss window, time to detect and to recover, and whether
    that is what the scenario expects of the pair (checked by ``check``)."""
    pairs = []
    restore_after = restored_at - injected_at
    for probe, pair_samples in zip(scenario.probes, samples, strict=True):
        relative = [(sent - injected_at, rtt) for _, sent, rtt in pair_samples]
        lost_after = [t for t, rtt in relative if rtt is None and t >= 0]
        ok_after_restore = [t for t, rtt in relative if rtt is not None and t >= restore_after]
        first_loss = min(lost_after) if lost_after else 0.0
        recovered = None
        if lost_after:
            later = [t for t in ok_after_restore if t > max(lost_after)]
            recovered = round(min(later) - restore_after, 3) if later else None
        pair = {
            "pair": probe.label,
            "sent": len(relative),
            "lost": sum(1 for _, rtt in relative if rtt is None),
            "lost_before_injection": sum(1 for t, rtt in relative if rtt is None and t < 0),
            "loss_window": [round(first_loss, 3), round(max(lost_after), 3)] if lost_after else None,
            "time_to_detect": round(first_loss + PROBE_TIMEOUT, 3) if lost_after else None,
            "time_to_recover": recovered,
            "survived": not lost_after,
            "expected": probe.expect,
            "why": probe.why,
        }
        pair["as_expected"], pair["check"] = check(probe.expect, pair, relative, restore_after)
        pairs.append(pair)
    return {
        "topology": topology,
        "scenario": scenario.name,
        "description": scenario.description,
        "fault": scenario.fault,
        "repair": scenario.repair,
        "seed": seed,
        "probe_rate": PROBE_RATE,
        "probe_timeout": PROBE_TIMEOUT,
        "injection_time": injected_at,
        "injection_took": round(injected_done - injected_at, 3),
        "restore_time": restored_at,
        "restore_after": round(restore_after, 3),
        "injection": injection,
        "restoration": restoration,
        "as_expected": all(pair["as_expected"] for pair in pairs),
        "pairs": pairs,
    }


def check(expect: str, pair: dict, relative: list, restore_after: float) -> tuple[bool, str]:
    """Whether a pair did what the scenario expects, and the facts that decide it.

    ``relative``: (send time since injection, rtt or None) per probe. UNAFFECTED: no probe lost.
    INTERRUPTED: nothing lost before the injection; every probe sent from START_GRACE after the
    injection until one timeout before the restore lost (a later one may be answered after the
    repair); the last loss sent within START_GRACE after the restore; answers again after it."""
    if expect == UNAFFECTED:
        if pair["lost"] == 0:
            return True, f"no probe lost ({pair['sent']} sent)"
        return False, f"{pair['lost']} of {pair['sent']} probes lost, none expected"
    if expect != INTERRUPTED:
        return False, f"unknown expectation {expect!r} (known: {UNAFFECTED!r}, {INTERRUPTED!r})"
    outage = (START_GRACE, restore_after - PROBE_TIMEOUT)  # later probes may live to see the repair
    answered_in_outage = [t for t, rtt in relative if rtt is not None and outage[0] <= t < outage[1]]
    faults = []
    if pair["lost_before_injection"]:
        faults.append(f"{pair['lost_before_injection']} lost before the injection")
    if pair["loss_window"] is None:
        faults.append("nothing lost after the injection")
    else:
        if answered_in_outage:
            faults.append(f"{len(answered_in_outage)} answered during the outage")
        if pair["loss_window"][1] > restore_after + START_GRACE:
            faults.append(f"still lost {pair['loss_window'][1] - restore_after:.2f} s after the restore")
        if pair["time_to_recover"] is None:
            faults.append("never answered again after the restore")
    if faults:
        return False, "; ".join(faults)
    start, end = pair["loss_window"]
    return True, (
        f"lost from {start:.2f} s to {end:.2f} s after the injection, "
        f"answered again {pair['time_to_recover']:.2f} s after the restore"
    )


class OwnTimings:
    """An experiment that measures its own timings: no flow-log alarm (its subclass runs it,
    ``run_once``)."""

    name: str

    def execute(self, topology_path=None, seed: int = 0, out_dir=None, log=print, alarm=None) -> dict:
        if alarm is not None:
            raise InvalidInput(f"{self.name} reports its own timings: no flow-log alarm")
        return self.run_once(topology_path, seed, out_dir, log)

    def run_once(self, topology_path, seed: int, out_dir, log) -> dict:
        raise NotImplementedError


def outage(samples, changes: list[dict], cut_at: float, repaired_at: float, rate: float) -> dict:
    """A failover's numbers from steady probes (``samples``: (sequence, sent, rtt or None))
    and the controller's moves (``changes``, the ones about what was cut): probes sent and
    lost (before the cut, after the repair), how long the pair was cut off, its last loss, and
    when the controller saw the fault and the repair; ``samples`` relative to the cut."""
    relative = [(sent - cut_at, rtt) for _, sent, rtt in samples]
    lost = [t for t, rtt in relative if rtt is None]
    down = [c for c in changes if not c["arguments"]["up"] and c["time"] >= cut_at]
    up = [c for c in changes if c["arguments"]["up"] and c["time"] >= repaired_at]
    return {
        "sent": len(relative),
        "lost": len(lost),
        "lost_before_cut": sum(1 for t in lost if t < 0),
        "lost_after_repair": sum(1 for t in lost if t >= repaired_at - cut_at),
        "cut_off_s": round(max(lost) - min(lost) + 1 / rate, 3) if lost else 0.0,
        "last_loss_after": round(max(lost), 3) if lost else None,
        "down_after": round(down[0]["time"] - cut_at, 3) if down else None,
        "why_down": down[0].get("summary") if down else None,
        "up_after_repair": round(up[0]["time"] - repaired_at, 3) if up else None,
        "samples": relative,
    }


def outage_faults(found: dict, what: str, limit: float) -> list[str]:
    """What a failover's numbers (``outage``) miss of the usual expectations: the controller
    saw ``what`` go down and come back, no probe was lost later than ``limit`` seconds after
    the cut, none outside the outage."""
    faults = []
    if found["down_after"] is None:
        faults.append(f"AWS's side never saw {what} down")
    if found["lost"] and found["last_loss_after"] > limit:
        faults.append(f"a probe lost {found['last_loss_after']} s after the cut (limit {limit} s)")
    if found["up_after_repair"] is None:
        faults.append(f"{what} not back after the repair")
    if found["lost_before_cut"] or found["lost_after_repair"]:
        faults.append(f"{found['lost_before_cut'] + found['lost_after_repair']} lost outside the outage")
    return faults


def outage_row(axis, relative: list, fault: str, repair_at: float, moves, title: str) -> None:
    """One row of a failover timeline: each probe answered (green) or lost (red) when sent, the
    fault at 0 and the repair at ``repair_at`` written on their lines, and each move the
    controller made, ``moves``: (seconds since, since when, what it said)."""
    ok = [t for t, rtt in relative if rtt is not None]
    lost = [t for t, rtt in relative if rtt is None]
    axis.scatter(ok, [1] * len(ok), s=4, color="#2a9d41", label="answered")
    axis.scatter(lost, [0] * len(lost), s=4, color="#d62728", label="lost")
    axis.axvline(0, color="black", linestyle="--", linewidth=1)
    axis.axvline(repair_at, color="#1f77b4", linestyle="--", linewidth=1)
    on_line = dict(transform=axis.get_xaxis_transform(), fontsize=8, va="center", backgroundcolor="white")
    axis.text(0, 0.5, f" {fault} ", fontweight="bold", **on_line)
    axis.text(repair_at, 0.5, " repaired ", color="#1f77b4", **on_line)
    for n, (moved, since, said) in enumerate(moves):
        if moved is not None:  # the first move's words end at its line, the next start there
            axis.axvline(since + moved, color="#7b2cbf", linewidth=2, alpha=0.7)
            side = "right" if n % 2 == 0 else "left"
            axis.text(since + moved, 0.94, f" {said} (+{moved:.2f} s) ", color="#7b2cbf", ha=side, **on_line)
    axis.set_yticks([0, 1], ["lost", "ok"])
    axis.set_ylim(-0.5, 1.5)
    axis.set_title(title, fontsize=9, loc="left")


def records_row(axis, records: list, repair_at: float, color: Callable[[str], str], title: str) -> None:
    """One row of a failover timeline: a pair's flow log records (``flowlogs.logged_records``)
    as bars over their seconds, one line per path they name (``vpclab-path``), to the site
    above the line and from it below, in ``color(path)``; the fault at 0, the repair."""
    names = sorted({p for *_, paths in records for p in paths if p != NO_PATH})
    level = {name: n for n, name in enumerate(names)}
    for way, start, end, paths in records:
        for name in (p for p in paths if p in level):
            offset = 0.15 if way == WAYS[0] else -0.15
            axis.plot(
                [start, end],
                [level[name] + offset] * 2,
                color=color(name),
                linewidth=4,
                solid_capstyle="butt",
            )
    axis.axvline(0, color="black", linestyle="--", linewidth=1)
    axis.axvline(repair_at, color="#1f77b4", linestyle="--", linewidth=1)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    axis.set_ylim(-0.6, max(len(names), 1) - 0.4)
    axis.set_title(title, fontsize=9, loc="left")


def plot_timeline(report: dict, samples: list, injected_at: float, path: str) -> None:
    """One row per pair: each probe at the moment it was answered (green) or timed out (red),
    so a loss band runs until the last lost probe gave up; the fault and the repair are written
    on their lines; each row's title says what was expected and whether it happened."""
    rows = len(samples)
    figure = Figure(figsize=(9, 1.5 + 1.2 * rows))
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)
    timeout = report["probe_timeout"]
    for axis, pair, pair_samples in zip(axes[:, 0], report["pairs"], samples, strict=True):
        ok = [s - injected_at + rtt / 1000 for _, s, rtt in pair_samples if rtt is not None]
        lost = [s - injected_at + timeout for _, s, rtt in pair_samples if rtt is None]
        axis.scatter(ok, [1] * len(ok), s=6, color="#2a9d41", label="answered")
        axis.scatter(lost, [0] * len(lost), s=6, color="#d62728", label="lost (at its timeout)")
        axis.axvline(0, color="black", linestyle="--", linewidth=1)
        axis.axvline(report["restore_after"], color="#1f77b4", linestyle="--", linewidth=1)
        seen = pair.get("flow_log")
        if seen:  # when the first REJECT record of this pair was written
            axis.axvline(seen["time_to_detect"], color="#e07b00", linestyle=":", linewidth=1.5)
            axis.text(
                seen["time_to_detect"],
                0.08,  # under the lost row, clear of the labels on the lines
                f" flow log: REJECT by {seen['rule']} ",
                transform=axis.get_xaxis_transform(),
                fontsize=7.5,
                color="#e07b00",
                va="center",
                backgroundcolor="white",
            )
        fired = report.get("alarm", {}).get("fired_after")
        if fired is not None:
            axis.axvline(fired, color="#7b2cbf", linewidth=2, alpha=0.7)
        axis.set_yticks([0, 1], ["lost", "ok"])
        axis.set_ylim(-0.5, 1.5)
        verdict = "as expected" if pair["as_expected"] else "NOT AS EXPECTED"
        axis.set_title(
            f"{pair['pair']}: {pair['lost']}/{pair['sent']} lost; expected {pair['expected']}"
            + (f" ({pair['why']})" if pair["why"] else "")
            + f": {verdict}",
            fontsize=8.5,
            loc="left",
            color="black" if pair["as_expected"] else "#d62728",
        )
    top = axes[0, 0]
    on_lines = dict(transform=top.get_xaxis_transform(), fontsize=8.5, va="center", backgroundcolor="white")
    top.text(0, 0.62, f" {report['fault']} ", fontweight="bold", **on_lines)  # two heights: a long
    top.text(report["restore_after"], 0.38, f" {report['repair']} ", color="#1f77b4", **on_lines)  # fault
    alarm = report.get("alarm")
    if alarm is not None:
        fired = alarm["fired_after"]
        said = (
            f"alarm {alarm['condition']} fires"
            if fired is not None
            else f"alarm {alarm['condition']}: never fired"
        )
        if alarm.get("fired_before_injection"):
            said += " (and before the injection)"
        top.text(fired if fired is not None else 0, 0.88, f" {said} ", color="#7b2cbf", **on_lines)
    axes[-1, 0].set_xlabel("seconds since the injection (a probe is drawn when it was answered or timed out)")
    figure.suptitle(f"{report['scenario']} on {report['topology']} (seed {report['seed']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
