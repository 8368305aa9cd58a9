"""Hundreds of instances live: bring-up time, memory and the cost of a change as designs grow.

Designs: hub-and-spoke VPCs of 16 three-tier instances behind one TGW, 16 instances per
server: 32 instances on 2 servers, 128 on 8, 512 on 32. For each:
- bring-up until every card confirmed its flows (vpclab's own progress lines, timed);
- memory: the proportional set size (Pss) of every process the run started, split into the
  servers' OVS daemons, the instances' shells, the controller and the cards' services (metadata
  and DNS, one process), and the machine's MemAvailable before and after (which adds the
  kernel's namespaces, veths and sockets);
- a runtime change, live: add and remove one NACL rule through the controller's API, 5 times;
  the answer comes after every card's barrier (median of the 10);
- baselines in the same run: plain Mininet with the same hosts on the same number of userspace
  OVS switches (no controller, no flows beyond NORMAL), and the previous design (a checkout of
  BASELINE: its Hyperplane sent every flow-mod on its own, then dumped the card's flows).
Usage: python bench/bringup_scale.py [--sizes 32 128 256 512] [--sample K] [--baseline REV]
(as root). With --sample K, the largest design is also checked by `verify --sample K`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import yaml
from _lib import HERE, ROOT, save
from bringup import mininet_seconds
from reach import design
from scale import checkout

from vpclab.intent.loader import load_topology
from vpclab.verify.live import verify
from vpclab.verify.report import summary

PER_SERVER = 16
BASELINE = "ac5233e"  # the last commit before batched, dump-first reconciliation


def scaled(instances: int) -> dict:
    servers = instances // PER_SERVER
    return design(instances, servers) | {"name": f"up-{instances}", "servers": servers}


def measure(tree: str, path: str) -> dict:
    """Bring ``path`` up with the vpclab of ``tree`` (in a process of its own) and measure it."""
    worker = os.path.join(HERE, "_bringup_worker.py")
    env = {**os.environ, "PYTHONPATH": tree}
    done = subprocess.run([sys.executable, worker, path], capture_output=True, text=True, cwd=tree, env=env)
    if done.returncode != 0:
        raise SystemExit(f"bring-up of {path} with {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 256, 512])
    parser.add_argument("--sample", type=int, help="also verify the largest design with --sample K")
    parser.add_argument("--baseline", default=BASELINE, help="the previous design's revision ('' for none)")
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        previous = None
        if args.baseline:
            os.makedirs(os.path.join(folder, "previous"))
            previous = checkout(args.baseline, os.path.join(folder, "previous"))
        for size in args.sizes:
            path = os.path.join(folder, f"up-{size}.yaml")
            with open(path, "w", encoding="utf-8") as handle:
                yaml.safe_dump(scaled(size), handle)
            vpclab = measure(ROOT, path)
            mininet = mininet_seconds(size // PER_SERVER, size)
            results[size] = vpclab | {"mininet_seconds": mininet}
            if previous:
                results[size]["previous_seconds"] = measure(previous, path)["seconds"]
            per_instance = (vpclab["instances_mib"]) / size
            per_server = vpclab["servers_mib"] / (size // PER_SERVER)
            print(
                f"{size:4} instances on {size // PER_SERVER:2} servers: up in {vpclab['seconds']:6.1f} s "
                f"(plain Mininet {mininet:5.1f} s, ratio {vpclab['seconds'] / mininet:.2f}; "
                f"previous design {results[size].get('previous_seconds', float('nan')):5.1f} s); "
                f"fullest card {vpclab['flows_max']} flows; "
                f"Pss {per_instance:.1f} MiB per instance, {per_server:.1f} MiB per server, "
                f"controller {vpclab['controller_mib']:.0f} MiB; machine {vpclab['machine_mib']:.0f} MiB; "
                f"a NACL change live: median {statistics.median(vpclab['change_ms']):.0f} ms, "
                f"max {max(vpclab['change_ms']):.0f} ms"
            )
        if args.sample:
            largest = max(args.sizes)
            checked = verify(
                load_topology(os.path.join(folder, f"up-{largest}.yaml")),
                log=lambda line: None,
                sample=args.sample,
            )
            facts = summary(checked)
            results["verify_sample"] = {"instances": largest, "sample": args.sample, **facts}
            print(
                f"verify --sample {args.sample} at {largest} instances: {facts['agree']} of "
                f"{facts['probes']} probes agree, {facts['pairs']} pairs, "
                f"{facts['seconds_total']} s with bring-up"
            )

    print(
        save(
            "bringup_scale",
            {str(k): v for k, v in results.items()},
            plotter(results, args.baseline),
            panels=2,
        )
    )


def plotter(results: dict, baseline: str):
    """Bring-up against the baselines, and the memory of a run, both against instances."""
    sizes = sorted(size for size in results if isinstance(size, int))

    def plot(axes):
        left, right = axes
        left.plot(sizes, [results[s]["seconds"] for s in sizes], "o-", label="vpclab (flows confirmed)")
        if all("previous_seconds" in results[s] for s in sizes):
            previous = [results[s]["previous_seconds"] for s in sizes]
            left.plot(sizes, previous, "x:", color="grey", label=f"previous design ({baseline})")
        left.plot(
            sizes, [results[s]["mininet_seconds"] for s in sizes], "s--", label="plain Mininet, same hosts"
        )
        left.set_ylabel("bring-up, seconds")
        left.set_title("Bring-up: vpclab follows plain Mininet, linearly")
        bottoms = [0.0] * len(sizes)
        for key, label in (
            ("servers_mib", "servers' OVS daemons"),
            ("instances_mib", "instances' shells"),
            ("controller_mib", "controller"),
            ("services_mib", "cards' metadata + DNS"),
        ):
            values = [results[s].get(key, 0.0) for s in sizes]
            right.bar(sizes, values, width=28, bottom=bottoms, label=label)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        machine = [results[s]["machine_mib"] for s in sizes]
        right.plot(sizes, machine, "k^--", label="machine (MemAvailable drop: + kernel)")
        right.set_ylabel("memory, MiB (Pss)")
        right.set_title(f"Memory of a run: {machine[-1] / sizes[-1]:.1f} MiB per instance, all told")
        for axis in (left, right):
            axis.set_xticks(sizes, [str(s) for s in sizes])
            axis.set_xlabel("instances (16 per server)")
            axis.legend()
            axis.grid(alpha=0.3)

    return plot


def replot() -> None:
    """Draw the plot again from results/bringup_scale.json (no bring-up)."""
    with open(os.path.join(HERE, "results", "bringup_scale.json"), encoding="utf-8") as handle:
        stored = json.load(handle)
    results = {int(k) if k.isdigit() else k: v for k, v in stored.items()}
    save("bringup_scale", stored, plotter(results, BASELINE), panels=2)


if __name__ == "__main__":
    replot() if sys.argv[1:] == ["--replot"] else main()
