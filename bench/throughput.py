"""TCP throughput through VXLAN (cross-server) vs two instances on one Nitro card (iperf3).

Target: cross-server / same-card >= 0.7. Prints the figures; writes results/throughput.{json,png}.
Usage: python bench/throughput.py [--seconds 5] [--runs 3]   (as root)
"""

import argparse
import json
import statistics
import subprocess

from _lib import HERE, save

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology


def iperf(client, server, address: str, seconds: int) -> float:
    """Mbit/s from one iperf3 run (processes started and killed by PID, never by name)."""
    listener = server.popen(["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if "5201" in server.cmd("ss -ltn"):
                break
        output = client.cmd(f"iperf3 -J -c {address} -t {seconds}")
        return json.loads(output)["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        listener.kill()
        listener.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    topology = load_topology(f"{HERE}/throughput.yaml")
    with Emulation(topology, log=lambda line: None) as emulation:
        hosts = emulation.hosts.hosts
        results = {"same card": [], "cross-server (VXLAN)": []}
        for _ in range(args.runs):
            results["same card"].append(iperf(hosts["client"], hosts["near"], "10.50.1.5", args.seconds))
            results["cross-server (VXLAN)"].append(
                iperf(hosts["client"], hosts["far"], "10.50.1.6", args.seconds)
            )
    medians = {name: statistics.median(values) for name, values in results.items()}
    ratio = medians["cross-server (VXLAN)"] / medians["same card"]
    for name, values in results.items():
        print(
            f"{name:22s} median {medians[name]:7.0f} Mbit/s   runs: " + ", ".join(f"{v:.0f}" for v in values)
        )
    print(f"ratio cross/same: {ratio:.2f} (target >= 0.7)")

    def plot(axes):
        axes.bar(list(medians), list(medians.values()), color=["#4c72b0", "#dd8452"])
        axes.set_ylabel("iperf3 TCP, Mbit/s (median)")
        axes.set_title(f"Throughput, instance MTU 1500: ratio {ratio:.2f} (target >= 0.7)")

    print(
        save(
            "throughput",
            {"runs": results, "median_mbps": medians, "ratio": ratio, "seconds": args.seconds},
            plot,
        )
    )


if __name__ == "__main__":
    main()
