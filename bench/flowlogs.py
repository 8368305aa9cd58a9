"""What flow logs cost, and what their collector sustains.

1. Throughput: iperf3 TCP between web1 (srv1) and db1 (srv2) of topologies/flow-logs.yaml
   (VXLAN, instances at MTU 9001), with its flow logs (every packet of the stream is sampled to IPFIX by both
   cards) and without them (the same design, its `flow_logs:` left out), and, in the same run,
   a bare veth pair (the machine's limit).
2. The collector: IPFIX messages shaped like OVS's (20 records each, a new 5-tuple per record)
   sent over loopback at rising rates; a rate counts as sustained if it decodes 99 % of them.
Prints the figures; writes results/flowlogs.{json,png}.
Both designs are up at once and measured in turn (the machine's drift between runs is larger
than the cost). Usage: python bench/flowlogs.py [--seconds 5] [--runs 5]   (as root)
"""

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import yaml
from _lib import ROOT, save
from throughput import BareVeth

from agents.flowlog_collector import READY
from agents.ipfix import encode
from agents.launch import Process, command
from controller.hyperplane.core import Core
from experiments.iperf import tcp_mbps
from nitro_switch.emulation import Emulation
from vpclab.intent.changes import Intent
from vpclab.intent.loader import load_topology
from vpclab.layout.pipeline import SampleKey

DESIGN = os.path.join(ROOT, "topologies", "flow-logs.yaml")
PORT = 3306  # what db-sg admits from the web subnet
RECORDS_PER_MESSAGE = 20
RATES = (10_000, 20_000, 40_000, 80_000, 160_000)  # records/s offered to the collector
STEP_SECONDS = 2.0
SUSTAINED = 0.99


def alternating(designs: dict[str, str], seconds: int, runs: int) -> dict[str, list[float]]:
    """Mbit/s of ``runs`` iperf3 runs per design, both designs up at once and measured in
    turn, so that the machine's drift falls on both alike."""
    results: dict[str, list[float]] = {name: [] for name in designs}
    with contextlib.ExitStack() as stack:
        labs = {
            name: stack.enter_context(Emulation(load_topology(path), log=lambda line: None))
            for name, path in designs.items()
        }
        for lab in labs.values():  # warm-up: the first packets take the slow path
            tcp_mbps(
                lab.hosts.hosts["web1"], lab.hosts.hosts["db1"], str(lab.topology.instance("db1").ip), 1, PORT
            )
        for _ in range(runs):
            for name, lab in labs.items():
                hosts, address = lab.hosts.hosts, str(lab.topology.instance("db1").ip)
                results[name].append(tcp_mbps(hosts["web1"], hosts["db1"], address, seconds, PORT))
    return results


def collector_rate(rate: int, intent_file: str, out_dir: str, port: int) -> dict:
    """Offer ``rate`` records/s for STEP_SECONDS; how many did the collector decode?"""
    collector = subprocess.Popen(
        command(Process.FLOWLOG_COLLECTOR, "bench", "--intent", intent_file)
        + ["--out", out_dir, "--cards", "srv1", "--here", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert collector.stdout.readline().strip() == READY
    domain = SampleKey.make(SampleKey.ACCEPT_BY_STATE, SampleKey.SENDING)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    messages = int(rate * STEP_SECONDS / RECORDS_PER_MESSAGE)
    started = time.monotonic()
    for n in range(messages):
        records = [
            {
                "source": "10.0.1.4",
                "destination": "10.0.2.4",
                "protocol": 6,
                "source_port": 1024 + (n * RECORDS_PER_MESSAGE + r) % 60000,
                "destination_port": PORT,
                "packets": 10,
                "bytes": 14480,
                "point": 1,
                "interface": "web1",
                "destination_mac": "02:00:00:00:00:01",
                "start_delta_us": 900_000,
                "end_delta_us": 0,
            }
            for r in range(RECORDS_PER_MESSAGE)
        ]
        sender.sendto(encode(domain, int(time.time()), 256, records, n), ("127.0.0.1", port))
        late = started + (n + 1) / (rate / RECORDS_PER_MESSAGE) - time.monotonic()
        if late > 0:
            time.sleep(late)
    offered_for = time.monotonic() - started
    time.sleep(0.5)
    collector.send_signal(signal.SIGTERM)
    said = collector.communicate(timeout=60)[0].split()
    decoded = int(said[said.index("samples,") - 1])
    return {
        "offered_per_s": rate,
        "sent_per_s": round(messages * RECORDS_PER_MESSAGE / offered_for),
        "decoded": decoded,
        "sent": messages * RECORDS_PER_MESSAGE,
    }


def plot(axes, medians: dict, cost: float, steps: list, sustained: int) -> None:
    """Throughput with and without flow logs (left); what the collector decodes (right)."""
    left, right = axes
    bars = left.bar(list(medians), list(medians.values()), color=["#999999", "#4c72b0", "#dd8452"])
    left.bar_label(bars, labels=[f"{v:,.0f}" for v in medians.values()])
    left.set_yscale("log")
    left.set_ylabel("iperf3 TCP across servers, Mbit/s (median, log scale)")
    said = f"cost {cost:.0%} of the throughput" if cost > 0 else f"cost nothing measurable ({cost:+.0%})"
    left.set_title(f"Flow logs {said} (both cards sample every packet)")
    left.tick_params(axis="x", labelsize=8)
    sent = [s["sent_per_s"] for s in steps]
    right.plot(sent, sent, color="#999999", linestyle="--", label="offered")
    right.plot(sent, [s["decoded"] / STEP_SECONDS for s in steps], marker="o", label="decoded")
    right.set_xlabel("IPFIX records offered per second")
    right.set_ylabel("records decoded per second")
    right.set_title(f"The collector decodes >= 99 % up to {sustained:,} records/s")
    right.legend()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with BareVeth() as veth:
        results["bare veth"] = [
            tcp_mbps(veth.a, veth.b, veth.ADDRESS_B, args.seconds) for _ in range(args.runs)
        ]
    with tempfile.TemporaryDirectory() as folder:
        data = yaml.safe_load(open(DESIGN, encoding="utf-8"))
        data.pop("flow_logs")
        data["name"] = "flow-logs-off"
        plain = os.path.join(folder, "flow-logs-off.yaml")
        with open(plain, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle)
        results.update(
            alternating(
                {"no flow logs": plain, "flow logs (every packet sampled)": DESIGN}, args.seconds, args.runs
            )
        )
        intent_file = os.path.join(folder, "intent.json")
        intent = Intent.from_file(DESIGN)
        intent.save(intent_file, [])
        Core(intent, [], intent_file)  # writes origins.json beside it, as Hyperplane does at start
        steps = [collector_rate(rate, intent_file, os.path.join(folder, "logs"), 47390) for rate in RATES]
    medians = {name: statistics.median(values) for name, values in results.items()}
    cost = 1 - medians["flow logs (every packet sampled)"] / medians["no flow logs"]
    for name, values in results.items():
        print(
            f"{name:34s} median {medians[name]:7.0f} Mbit/s   runs: " + ", ".join(f"{v:.0f}" for v in values)
        )
    print(f"throughput cost of flow logs: {cost:.0%}")
    sustained = max((s["sent_per_s"] for s in steps if s["decoded"] >= SUSTAINED * s["sent"]), default=0)
    for step in steps:
        print(
            f"collector offered {step['offered_per_s']:7d} records/s (sent {step['sent_per_s']:7d}/s): "
            f"decoded {step['decoded']}/{step['sent']} ({step['decoded'] / step['sent']:.1%})"
        )
    print(f"collector sustains {sustained} records/s (>= {SUSTAINED:.0%} decoded)")

    print(
        save(
            "flowlogs",
            {
                "throughput_mbps": results,
                "median_mbps": medians,
                "cost": cost,
                "collector": steps,
                "sustained_records_per_s": sustained,
            },
            lambda axes: plot(axes, medians, cost, steps, sustained),
            panels=2,
        )
    )


if __name__ == "__main__":
    main()
