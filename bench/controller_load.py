"""The controller's load at rest, 512 instances: packet-ins and packet-outs per second by kind,
and its CPU (issue 33, item 4: below half a core at rest).

Design: bench/bringup_scale.py's hub and spoke (32 VPCs of 16 instances behind one TGW, 32
servers), plus what keeps a controller busy at rest: in every other VPC a failover route to its
neighbour over the TGW or a peering (16 routes, two paths each, probed every 0.1 s: AWS's
redundant paths with a health check in front) and a PrivateLink service whose NLB checks its 5
targets every 10 s. Baseline in the same run: the same hub and spoke without them (the
controller with nothing to probe). Each: bring-up, 5 s to settle, then two ``load`` snapshots
WINDOW seconds apart (the API's counters, the process's CPU time).
Usage: python bench/controller_load.py [--instances 512] [--window 30]   (as root)
"""

import argparse
import copy
import os
import tempfile
import time

import yaml
from _lib import save
from bringup_scale import scaled

from controller.hyperplane.load import PACKET_INS, rates
from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

SETTLE = 5.0


def busy(data: dict) -> dict:
    """``data`` with failover routes between VPC pairs and a PrivateLink service with checks."""
    data = copy.deepcopy(data)
    vpcs = data["vpcs"]
    peerings = []
    for left, right in zip(vpcs[0::2], vpcs[1::2], strict=False):
        name = f"p-{left['name']}-{right['name']}"
        peerings.append({"name": name, "requester": left["name"], "accepter": right["name"]})
        for group in right["security_groups"]:  # the probes are pings from the VPC router
            group["ingress"].append({"protocol": "icmp", "cidr": "10.0.0.0/8"})
        left["route_tables"][0]["routes"].append(
            {
                "destination": right["cidr"],
                "failover": [{"transit_gateway": "core"}, {"peering": name}],
                "health_check": {"interval": 0.1},
            }
        )
        right["route_tables"][0]["routes"].append({"destination": left["cidr"], "peering": name})
    data["peerings"] = peerings
    provider, consumer = vpcs[0], vpcs[1]
    targets = [i["name"] for i in provider["instances"] if i["subnet"] == "app"]
    for group in provider["security_groups"]:
        if group["name"].endswith("app-sg"):
            group["ingress"].append({"protocol": "tcp", "ports": 8080, "cidr": provider["cidr"]})
    data["endpoint_services"] = [
        {
            "name": "svc",
            "vpc": provider["name"],
            "load_balancer": {
                "name": "nlb",
                "subnets": ["app"],
                "listeners": [{"port": 8080, "protocol": "tcp"}],
                "targets": targets,
                "health_check": {"interval": 10},
            },
        }
    ]
    data["vpc_endpoints"] = [{"name": "ep", "vpc": consumer["name"], "service": "svc", "subnets": ["web"]}]
    return data


def measure(data: dict, window: float, folder: str) -> dict:
    path = os.path.join(folder, f"{data['name']}.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    topology = load_topology(path)
    started = time.monotonic()
    emulation = Emulation(topology, log=lambda line: None, ready_timeout=600)
    emulation.build()
    up = time.monotonic() - started
    try:
        time.sleep(SETTLE)
        before = emulation.api.call("load")["load"]
        time.sleep(window)
        after = emulation.api.call("load")["load"]
    finally:
        emulation.teardown()
    return rates(before, after) | {"bring_up_s": up}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=512)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    plain = scaled(args.instances)
    loaded = busy(plain)
    routes = sum(1 for v in loaded["vpcs"] for r in v["route_tables"][0]["routes"] if "failover" in r)
    results = {
        "instances": args.instances,
        "failover_routes": routes,
        "nlb_targets": len(loaded["endpoint_services"][0]["load_balancer"]["targets"]),
    }
    with tempfile.TemporaryDirectory() as folder:
        results["plain"] = measure(plain, args.window, folder)
        results["busy"] = measure(loaded | {"name": f"busy-{args.instances}"}, args.window, folder)
    for label in ("plain", "busy"):
        found = results[label]
        ins = ", ".join(f"{kind} {found['packet_ins'][kind]:.1f}" for kind in PACKET_INS)
        print(
            f"{label:5}: CPU {found['cpu_cores']:.3f} cores over {found['seconds']:.0f} s at rest; "
            f"packet-ins/s: {ins}; packet-outs/s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in found["packet_outs"].items())
        )
    print(save("controller_load", results, plotter(results), panels=2))


def plotter(results: dict):
    def plot(axes):
        left, right = axes
        labels = ["without probes\n(baseline)", f"{results['failover_routes']} failover routes\n+ an NLB"]
        cpu = [results[k]["cpu_cores"] for k in ("plain", "busy")]
        left.bar(labels, cpu, color=["grey", "tab:blue"])
        left.axhline(0.5, color="red", linestyle="--", label="target: half a core")
        left.set_ylabel("controller CPU at rest, cores")
        left.set_title(f"Hyperplane at rest, {results['instances']} instances")
        left.legend()
        width = 0.4
        for offset, (key, label, color) in enumerate(
            (("plain", "without probes", "grey"), ("busy", "failover routes + an NLB", "tab:blue"))
        ):
            values = [results[key]["packet_ins"][kind] for kind in PACKET_INS]
            spots = [n + (offset - 0.5) * width for n in range(len(PACKET_INS))]
            right.bar(spots, values, width=width, label=label, color=color)
            for spot, value in zip(spots, values, strict=True):
                right.annotate(f"{value:g}", (spot, value), ha="center", va="bottom", fontsize=8)
        right.set_xticks(range(len(PACKET_INS)), PACKET_INS, fontsize=8)
        right.set_yscale("symlog", linthresh=1)
        highest = max(results[k]["packet_ins"][kind] for k in ("plain", "busy") for kind in PACKET_INS)
        right.set_ylim(0, highest * 5 + 1)  # room for the labels
        right.set_ylabel("packet-ins per second (log)")
        right.set_title("What comes up to the controller, by kind")
        right.legend()

    return plot


if __name__ == "__main__":
    main()
