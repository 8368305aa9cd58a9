"""TCP throughput and ping RTT: two instances on one Nitro card, two on different servers
(VXLAN), and, measured in the same run, a bare veth pair between two namespaces (the machine's
limit for the data plane). All at MTU 1500.

Targets: cross-server / same-card >= 0.7 (issue 16 asks for 0.8, same-card >= 40 % of the bare
veth, RTT <= 5x the bare veth). RTT: 200 pings 10 ms apart after one warm-up ping (the first
packet of a flow takes the slow path). Prints the figures; writes results/throughput.{json,png}.
Usage: python bench/throughput.py [--seconds 5] [--runs 3]   (as root)
"""

import argparse
import os
import re
import statistics
import subprocess

from _lib import HERE, save

from experiments.iperf import tcp_mbps
from nitro_switch.emulation import Emulation
from nitro_switch.server import DATAPATH_PROFILES
from vpclab.intent.loader import load_topology

PINGS = 200
RTT = re.compile(r"time=([0-9.]+) ms")


def rtts(ping_from, address: str) -> list[float]:
    """Milliseconds of PINGS pings from ``ping_from(command)`` (a host's cmd), after a warm-up."""
    ping_from(f"ping -c 1 -W 1 {address}")
    return [float(t) for t in RTT.findall(ping_from(f"ping -c {PINGS} -i 0.01 {address}"))]


class Namespace:
    """A namespace of this run, with a Mininet host's ``cmd`` and ``popen``."""

    def __init__(self, name: str):
        self.name = name

    def cmd(self, command: str) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, *command.split()], capture_output=True, text=True
        )
        return done.stdout

    def popen(self, args: list, **options) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *args], **options)


class BareVeth:
    """Two namespaces of this run, ``a`` (10.99.0.1) and ``b`` (10.99.0.2), joined by one veth
    pair (removed after)."""

    ADDRESS_B = "10.99.0.2"

    def __init__(self):
        self.a, self.b = (Namespace(f"vpclab-bench-{os.getpid()}-{end}") for end in "ab")

    def __enter__(self):
        for end in (self.a, self.b):
            subprocess.run(["ip", "netns", "add", end.name], check=True)
        link = ["ip", "link", "add", "va", "netns", self.a.name, "type", "veth"]
        subprocess.run(link + ["peer", "name", "vb", "netns", self.b.name], check=True)
        for end, device, address in ((self.a, "va", "10.99.0.1"), (self.b, "vb", self.ADDRESS_B)):
            end.cmd(f"ip addr add {address}/24 dev {device}")
            end.cmd(f"ip link set {device} up")
            end.cmd("ip link set lo up")
        return self

    def __exit__(self, *exc):
        for end in (self.a, self.b):
            subprocess.run(["ip", "netns", "delete", end.name], check=False)


PATHS = {"same card": ("near", "10.50.1.5"), "cross-server": ("far", "10.50.1.6")}


def vswitchd_mib(emulation: Emulation) -> float:
    """Pss of the servers' ovs-vswitchd, MiB (what a profile's ports cost)."""
    total = 0
    for server in emulation.servers:
        with open(f"/proc/{server.daemon_pid('ovs-vswitchd')}/smaps_rollup", encoding="utf-8") as handle:
            total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    topology = load_topology(f"{HERE}/throughput.yaml")
    results: dict[str, list[float]] = {"bare veth": []}
    pings: dict[str, list[float]] = {}
    memory: dict[str, float] = {}
    with BareVeth() as veth:
        pings["bare veth"] = rtts(veth.a.cmd, veth.ADDRESS_B)
        for _ in range(args.runs):
            results["bare veth"].append(tcp_mbps(veth.a, veth.b, veth.ADDRESS_B, args.seconds))
    for profile in DATAPATH_PROFILES:
        with Emulation(topology, log=lambda line: None, profile=profile) as emulation:
            hosts = emulation.hosts.hosts
            memory[profile] = vswitchd_mib(emulation)
            for path, (_, address) in PATHS.items():
                pings[f"{path}, {profile}"] = rtts(hosts["client"].cmd, address)
            for _ in range(args.runs):
                for path, (target, address) in PATHS.items():
                    measured = tcp_mbps(hosts["client"], hosts[target], address, args.seconds)
                    results.setdefault(f"{path}, {profile}", []).append(measured)
    medians = {name: statistics.median(values) for name, values in results.items()}
    ratio = medians["cross-server, standard"] / medians["same card, standard"]
    latency = {
        name: {"median_ms": statistics.median(values), "p99_ms": statistics.quantiles(values, n=100)[98]}
        for name, values in pings.items()
    }
    bare = latency["bare veth"]["median_ms"]
    for name, values in results.items():
        print(
            f"{name:24s} median {medians[name]:7.0f} Mbit/s "
            f"({medians[name] / medians['bare veth']:6.1%} of the bare veth)   runs: "
            + ", ".join(f"{v:.0f}" for v in values)
            + f";  ping median {latency[name]['median_ms']:.3f} ms "
            f"({latency[name]['median_ms'] / bare:.1f}x), p99 {latency[name]['p99_ms']:.3f} ms"
        )
    ports = len(topology.instances) + len(topology.servers)  # instance ports and uplinks
    extra = (memory["afxdp"] - memory["standard"]) / ports
    print(f"ratio cross/same (standard): {ratio:.2f} (target >= 0.7)")
    print(
        f"ovs-vswitchd Pss, all servers: standard {memory['standard']:.0f} MiB, "
        f"afxdp {memory['afxdp']:.0f} MiB ({extra:.0f} MiB more per port)"
    )

    def plot(axes):
        left, right = axes
        colours = ["#999999"] + ["#4c72b0", "#dd8452"] * len(DATAPATH_PROFILES)
        labels = [name.replace(", ", "\n") for name in medians]
        left.bar(labels, list(medians.values()), color=colours)
        left.set_ylabel("iperf3 TCP, Mbit/s (median)")
        best = max(medians[f"same card, {p}"] for p in DATAPATH_PROFILES) / medians["bare veth"]
        left.set_title(f"Throughput at MTU 1500: vpclab at most {best:.0%} of a bare veth")
        right.bar(labels, [v["median_ms"] for v in latency.values()], color=colours, label="median")
        right.scatter(
            labels,
            [v["p99_ms"] for v in latency.values()],
            color="black",
            marker="_",
            s=400,
            label="p99",
        )
        right.set_ylabel("ping RTT, ms")
        right.set_title("Round trip: the userspace datapath's cost")
        right.legend()

    print(
        save(
            "throughput",
            {
                "runs": results,
                "median_mbps": medians,
                "ratio": ratio,
                "seconds": args.seconds,
                "rtt": latency,
                "vswitchd_mib": memory,
                "afxdp_extra_mib_per_port": extra,
            },
            plot,
            panels=2,
        )
    )


if __name__ == "__main__":
    main()
