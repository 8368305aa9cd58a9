"""Small packets per second: the cost of the VPC rules on one Nitro card.

Two instances on one card exchange 64-byte UDP datagrams as fast as iperf3 sends them, first
through the full pipeline (source check, conntrack, SG address sets and rules, NACLs, routing,
delivery), then, on the same card in the same run, through a pipeline of one `output` flow per
direction (the controller killed, the card's flows replaced); and, as the ceiling of the
sender and receiver themselves, between two namespaces over a bare veth pair. Received
datagrams per second, median of the runs. Target (issue 16): the full pipeline >= 0.8 x the
one-flow pipeline.
Usage: python bench/pps.py [--seconds 5] [--runs 3]   (as root)
"""

import argparse
import statistics

from _lib import HERE, save
from throughput import BareVeth

from experiments.iperf import iperf3
from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

SIZE = 64  # UDP payload bytes


def received_pps(client, server, address: str, seconds: int) -> float:
    """Datagrams per second that arrived (iperf3 -u at full speed)."""
    total = iperf3(client, server, f"-u -b 0 -l {SIZE} -c {address} -t {seconds}")["end"]["sum"]
    return (total["packets"] - total["lost_packets"]) / total["seconds"]


def one_flow_pipeline(emulation: Emulation, a: str, b: str) -> None:
    """Replace the card's flows by one output flow each way between instances ``a`` and ``b``."""
    emulation.kill_controller()
    first, second = emulation.plan.instances[a], emulation.plan.instances[b]
    card = emulation.servers_by_name[first.instance.server]
    card.ofctl("del-flows")
    for there, back in ((first, second), (second, first)):
        card.ofctl("add-flow", f"table=0,priority=1,in_port={there.port},actions=output:{back.port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    topology = load_topology(f"{HERE}/throughput.yaml")
    results: dict[str, list[float]] = {"bare veth": [], "full VPC pipeline": [], "one output flow": []}
    with BareVeth() as veth:
        for _ in range(args.runs):
            results["bare veth"].append(received_pps(veth.a, veth.b, veth.ADDRESS_B, args.seconds))
    with Emulation(topology, log=lambda line: None) as emulation:
        hosts = emulation.hosts.hosts
        flows = emulation.card_status()["srv1"]["flows"]
        for _ in range(args.runs):
            results["full VPC pipeline"].append(
                received_pps(hosts["client"], hosts["near"], "10.50.1.5", args.seconds)
            )
        one_flow_pipeline(emulation, "client", "near")
        for _ in range(args.runs):
            results["one output flow"].append(
                received_pps(hosts["client"], hosts["near"], "10.50.1.5", args.seconds)
            )
    medians = {name: statistics.median(values) for name, values in results.items()}
    ratio = medians["full VPC pipeline"] / medians["one output flow"]
    for name, values in results.items():
        print(
            f"{name:18s} median {medians[name]:9,.0f} datagrams/s   runs: "
            + ", ".join(f"{v:,.0f}" for v in values)
        )
    print(f"ratio full/one-flow: {ratio:.2f} (target >= 0.8); the card held {flows} flows")

    def plot(axes):
        axes.bar(list(medians), list(medians.values()), color=["#999999", "#4c72b0", "#8da0cb"])
        axes.set_ylabel(f"{SIZE}-byte UDP datagrams received per second (median)")
        axes.set_title(f"The VPC rules cost {1 - ratio:.0%} of the packet rate ({flows} flows vs 2)")

    print(save("pps", {"runs": results, "median_pps": medians, "ratio": ratio, "flows": flows}, plot))


if __name__ == "__main__":
    main()
