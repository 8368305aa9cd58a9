"""New TCP connections per second through a transit gateway, against the same within a VPC.

AWS clamps the MSS of every TCP connection through a TGW; vpclab's cards do it in their
kernel (nftables, on a veth that sends each SYN and SYN-ACK back), so no connection makes a
round trip to the controller. One client opens connections (connect, a request, its answer,
close) from THREADS threads for SECONDS to an instance of its own VPC and to one behind the
TGW on the same server, in turn, RUNS times each: the within-VPC rate is the baseline measured
in the same run. Target (issue 33): through the TGW >= 0.8 x within the VPC.
Usage: python bench/connections.py [--seconds 5] [--runs 3] [--threads 8]   (as root)
"""

import argparse
import json
import statistics
import subprocess
import sys

from _lib import HERE, save

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology
from vpclab.verify.live import start_listener, stop_listeners

TARGETS = {"within the VPC": "near", "through the TGW": "far"}


def rate(client, address: str, seconds: float, threads: int) -> dict:
    worker = [sys.executable, f"{HERE}/_connect_worker.py", address, str(seconds), str(threads)]
    process = client.popen(worker, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output, errors = process.communicate(timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"the connection worker failed: {errors.strip()}")
    return json.loads(output)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    topology = load_topology(f"{HERE}/connections.yaml")
    runs: dict[str, list[dict]] = {label: [] for label in TARGETS}
    with Emulation(topology, log=lambda line: None) as emulation:
        hosts = emulation.hosts.hosts
        listeners = [start_listener(hosts[name], name, {6: {443}}) for name in TARGETS.values()]
        try:
            for _ in range(args.runs):
                for label, name in TARGETS.items():
                    address = str(topology.instance(name).ip)
                    runs[label].append(rate(hosts["client"], address, args.seconds, args.threads))
        finally:
            stop_listeners(listeners)
    medians = {label: statistics.median(r["per_second"] for r in values) for label, values in runs.items()}
    ratio = medians["through the TGW"] / medians["within the VPC"]
    for label, values in runs.items():
        each = [f"{r['per_second']:,.0f} ({r['failed']} failed, {r['median_ms']:.1f} ms)" for r in values]
        print(f"{label:16s} median {medians[label]:7,.0f} connections/s   runs: " + ", ".join(each))
    print(
        f"ratio TGW/within: {ratio:.2f} (target >= 0.8); "
        f"{args.threads} client threads, {args.seconds:g} s a run"
    )

    def plot(axes):
        axes.bar(list(medians), list(medians.values()), color=["#4c72b0", "#dd8452"])
        axes.set_ylabel("new TCP connections per second (median)")
        axes.set_title(f"Through a TGW: {ratio:.2f} x the rate within a VPC (MSS clamped in the kernel)")

    data = {"runs": runs, "median_per_second": medians, "ratio": ratio, "threads": args.threads}
    print(save("connections", data, plot))


if __name__ == "__main__":
    main()
