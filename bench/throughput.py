"""TCP throughput and ping RTT: two instances on one Nitro card, two on different servers
(VXLAN), and, measured in the same run, a bare veth pair between two namespaces (the machine's
limit for the data plane), each at MTU 9001 (AWS's, vpclab's default) and 1500; the afxdp
profile at 1500 (its ports pass no jumbo frame).

Targets: cross-server / same-card >= 0.7 (issue 16 asks for 0.8, same-card >= 40 % of the bare
veth at the same MTU, RTT <= 5x the bare veth). RTT: 200 pings 10 ms apart after one warm-up
ping (the first packet of a flow takes the slow path). Prints the figures; writes
results/throughput.{json,png}.
Usage: python bench/throughput.py [--seconds 5] [--runs 3]   (as root)
"""

import argparse
import os
import re
import statistics
import subprocess

import yaml
from _lib import HERE, save

from experiments.iperf import tcp_mbps
from nitro_switch.emulation import Emulation
from vpclab.intent.loader import topology_from_data
from vpclab.intent.model import INSTANCE_MTU, INTERNET_MTU

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

    def mtu(self, mtu: int) -> None:
        for end, device in ((self.a, "va"), (self.b, "vb")):
            end.cmd(f"ip link set {device} mtu {mtu}")

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


MTUS = (INSTANCE_MTU, INTERNET_MTU)
VARIANTS = (("standard", INSTANCE_MTU), ("standard", INTERNET_MTU), ("afxdp", INTERNET_MTU))


def design(mtu: int):
    """bench/throughput.yaml with every instance at ``mtu`` (its own name per MTU)."""
    with open(f"{HERE}/throughput.yaml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["name"] = f"{data['name']}-{mtu}"
    for instance in data["vpcs"][0]["instances"]:
        instance["mtu"] = mtu
    return topology_from_data(f"{HERE}/throughput.yaml", data)


def plot(axes, medians: dict, latency: dict) -> None:
    """Throughput (left) and round trip (right) of every variant, the bare veth first."""
    left, right = axes
    shade = {"bare": "#999999", "same": "#4c72b0", "cross-server": "#dd8452"}
    colours = [shade[name.split()[0].rstrip(",")] for name in medians]
    labels = [
        name.replace(", ", "\n").rsplit("\n", 1)[0] + f"\nMTU {name.rsplit(' ', 1)[1]}" for name in medians
    ]
    left.bar(labels, list(medians.values()), color=colours)
    left.set_ylabel("iperf3 TCP, Mbit/s (median)")
    best = medians[f"same card, standard, {INSTANCE_MTU}"] / medians[f"bare veth, {INSTANCE_MTU}"]
    left.set_title(f"Throughput: vpclab at MTU 9001 carries {best:.0%} of a bare veth at 9001")
    left.tick_params(axis="x", labelsize=7)
    right.bar(labels, [latency[name]["median_ms"] for name in medians], color=colours, label="median")
    right.scatter(
        labels, [latency[name]["p99_ms"] for name in medians], color="black", marker="_", s=300, label="p99"
    )
    right.set_ylabel("ping RTT, ms")
    right.set_title("Round trip: the userspace datapath's cost")
    right.tick_params(axis="x", labelsize=7)
    right.legend()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    pings: dict[str, list[float]] = {}
    memory: dict[str, float] = {}
    with BareVeth() as veth:
        for mtu in MTUS:
            veth.mtu(mtu)
            pings[f"bare veth, {mtu}"] = rtts(veth.a.cmd, veth.ADDRESS_B)
            results[f"bare veth, {mtu}"] = [
                tcp_mbps(veth.a, veth.b, veth.ADDRESS_B, args.seconds) for _ in range(args.runs)
            ]
    for profile, mtu in VARIANTS:
        topology = design(mtu)
        with Emulation(topology, log=lambda line: None, profile=profile) as emulation:
            hosts = emulation.hosts.hosts
            if mtu == INTERNET_MTU:
                memory[profile] = vswitchd_mib(emulation)
            for path, (_, address) in PATHS.items():
                pings[f"{path}, {profile}, {mtu}"] = rtts(hosts["client"].cmd, address)
            for _ in range(args.runs):
                for path, (target, address) in PATHS.items():
                    measured = tcp_mbps(hosts["client"], hosts[target], address, args.seconds)
                    results.setdefault(f"{path}, {profile}, {mtu}", []).append(measured)
    medians = {name: statistics.median(values) for name, values in results.items()}
    ratio = (
        medians[f"cross-server, standard, {INSTANCE_MTU}"] / medians[f"same card, standard, {INSTANCE_MTU}"]
    )
    latency = {
        name: {"median_ms": statistics.median(values), "p99_ms": statistics.quantiles(values, n=100)[98]}
        for name, values in pings.items()
    }
    for name, values in results.items():
        mtu = name.rsplit(", ", 1)[1]
        bare = f"bare veth, {mtu}"
        print(
            f"{name:30s} median {medians[name]:7.0f} Mbit/s "
            f"({medians[name] / medians[bare]:6.1%} of the bare veth at {mtu})   runs: "
            + ", ".join(f"{v:.0f}" for v in values)
            + f";  ping median {latency[name]['median_ms']:.3f} ms "
            f"({latency[name]['median_ms'] / latency[bare]['median_ms']:.1f}x), "
            f"p99 {latency[name]['p99_ms']:.3f} ms"
        )
    ports = len(topology.instances) + len(topology.servers)  # instance ports and uplinks
    extra = (memory["afxdp"] - memory["standard"]) / ports
    print(f"ratio cross/same (standard, MTU {INSTANCE_MTU}): {ratio:.2f} (target >= 0.7)")
    print(
        f"ovs-vswitchd Pss, all servers (MTU 1500): standard {memory['standard']:.0f} MiB, "
        f"afxdp {memory['afxdp']:.0f} MiB ({extra:.0f} MiB more per port)"
    )

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
            lambda axes: plot(axes, medians, latency),
            panels=2,
        )
    )


if __name__ == "__main__":
    main()
