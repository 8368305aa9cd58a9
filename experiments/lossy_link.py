"""`vpclab experiment lossy-link`: a server's underlay link drops a rising share of packets;
what UDP probes measure of it, and what TCP makes of it (goodput, retransmissions).

The loss comes from nftables on the underlay bridge (``faults.Impairment``), each way, so a
round trip crosses it twice: the probes' round-trip loss r gives the link's loss as
1 - sqrt(1 - r), which must be within LOSS_TOLERANCE of what was set.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
from dataclasses import dataclass
from typing import Optional

from matplotlib.figure import Figure

from nitro_switch.emulation import Emulation
from nitro_switch.faults import Impairment, impair_link
from vpclab.errors import InvalidInput
from vpclab.intent.loader import load_topology

from .harness import ROOT, Probe, probe_samples, start_listeners, start_probers
from .iperf import iperf3

LOSS_TOLERANCE = 0.05  # the measured one-way loss within 5 points of the set one
PROBE_RATE = 100.0  # 400 probes a level: the round trip loss within about 2.5 points
PROBE_SECONDS = 4.0
TCP_SECONDS = 3


@dataclass
class LossyLink:
    name: str
    description: str
    topology: str  # relative to the repository
    server: str  # whose underlay link is impaired
    source: str  # an instance on another server
    target: str  # an instance on ``server``
    losses: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)

    def execute(self, topology_path=None, seed: int = 0, out_dir=None, log=print, alarm=None) -> dict:
        if alarm is not None:
            raise InvalidInput("lossy-link has no injection for an alarm to mark")
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        return [
            f"loss {level['loss_set']:5.0%} each way: probes lost {level['round_trip_loss']:6.1%} round trip"
            f" = {level['one_way_loss']:5.1%} each way; TCP {level['tcp_mbps']:6.1f} Mbit/s"
            f" ({level['tcp_retransmits']} retransmits); RTT p99 {level['rtt_p99_ms']:.2f} ms"
            + ("" if level["as_expected"] else f": NOT AS EXPECTED ({level['check']})")
            for level in report["levels"]
        ]


def run(scenario: LossyLink, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    rng = random.Random(seed)
    topology = load_topology(topology_path or os.path.join(ROOT, scenario.topology))
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    probe = Probe(scenario.source, scenario.target, "udp", port=7)
    levels = []
    with Emulation(topology, log=log) as lab:
        listeners = start_listeners(lab, [probe])
        try:
            for loss in rng.sample(scenario.losses, len(scenario.losses)):  # a seeded order
                impair_link(lab, scenario.server, Impairment(loss) if loss else None)
                log(f"*** {scenario.server}'s link drops {loss:.0%} each way")
                levels.append(_measure(lab, scenario, probe, loss, rng))
        finally:
            impair_link(lab, scenario.server, None)
            for process in listeners:
                process.kill()
                process.wait()
    levels.sort(key=lambda level: level["loss_set"])
    report = {
        "scenario": scenario.name,
        "description": scenario.description,
        "topology": topology.name,
        "seed": seed,
        "server": scenario.server,
        "pair": f"{scenario.source}->{scenario.target}",
        "levels": levels,
        "as_expected": all(level["as_expected"] for level in levels),
    }
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    plot(report, os.path.join(out_dir, "loss.png"))
    log(f"*** report: {out_dir}/report.json, picture: {out_dir}/loss.png")
    return report


def _measure(lab, scenario: LossyLink, probe: Probe, loss: float, rng) -> dict:
    (prober,) = start_probers(lab, [probe], PROBE_SECONDS, rng, PROBE_RATE)
    samples = probe_samples(prober)
    rtts = sorted(rtt for _, _, rtt in samples if rtt is not None)
    lost = sum(1 for _, _, rtt in samples if rtt is None)
    round_trip = lost / len(samples)
    one_way = 1 - math.sqrt(1 - round_trip)
    mbps, retransmits = _tcp(lab, scenario)
    level = {
        "loss_set": loss,
        "probes_sent": len(samples),
        "probes_lost": lost,
        "round_trip_loss": round(round_trip, 4),
        "one_way_loss": round(one_way, 4),
        "rtt_p50_ms": round(statistics.median(rtts), 3) if rtts else None,
        "rtt_p99_ms": round(rtts[min(len(rtts) - 1, int(0.99 * len(rtts)))], 3) if rtts else None,
        "tcp_mbps": round(mbps, 1),
        "tcp_retransmits": retransmits,
    }
    level["as_expected"] = abs(one_way - loss) <= LOSS_TOLERANCE
    level["check"] = f"{one_way:.1%} each way measured, {loss:.0%} set (tolerance {LOSS_TOLERANCE:.0%})"
    return level


def _tcp(lab, scenario: LossyLink) -> tuple[float, int]:
    """One iperf3 TCP run through the link: Mbit/s received, segments retransmitted."""
    hosts = lab.hosts.hosts
    address = str(lab.topology.instance(scenario.target).ip)
    end = iperf3(hosts[scenario.source], hosts[scenario.target], f"-c {address} -t {TCP_SECONDS}")["end"]
    return end["sum_received"]["bits_per_second"] / 1e6, int(end["sum_sent"].get("retransmits", 0))


def plot(report: dict, path: str, tolerance: Optional[float] = LOSS_TOLERANCE) -> None:
    """Left: the loss the probes measured against the loss set (the diagonal is exact);
    right: what TCP carried at each loss."""
    levels = report["levels"]
    set_ = [100 * level["loss_set"] for level in levels]
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2)
    left.plot([0, max(set_)], [0, max(set_)], color="#999999", linestyle="--", label="as set")
    if tolerance:
        left.fill_between(
            [0, max(set_)],
            [-100 * tolerance, max(set_) - 100 * tolerance],
            [100 * tolerance, max(set_) + 100 * tolerance],
            color="#999999",
            alpha=0.15,
            label=f"±{100 * tolerance:.0f} points",
        )
    left.plot(set_, [100 * level["one_way_loss"] for level in levels], marker="o", label="measured, each way")
    left.plot(
        set_, [100 * level["round_trip_loss"] for level in levels], marker="s", label="measured, round trip"
    )
    left.set_xlabel("loss set on the link, % each way")
    left.set_ylabel("loss the UDP probes measured, %")
    left.set_title("The link drops what it is told to")
    left.legend(fontsize=8)
    bars = right.bar([f"{s:g} %" for s in set_], [level["tcp_mbps"] for level in levels], color="#4c72b0")
    right.bar_label(bars, labels=[f"{level['tcp_retransmits']} retr." for level in levels], fontsize=8)
    right.set_xlabel("loss set on the link, each way")
    right.set_ylabel("iperf3 TCP goodput, Mbit/s")
    drop = 1 - levels[-1]["tcp_mbps"] / levels[0]["tcp_mbps"] if levels[0]["tcp_mbps"] else 0
    right.set_title(f"TCP loses {drop:.0%} of its goodput at {set_[-1]:g} % loss")
    figure.suptitle(
        f"{report['scenario']}: {report['server']}'s underlay link, {report['pair']} (seed {report['seed']})"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
