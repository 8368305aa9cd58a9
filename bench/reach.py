"""`vpclab reach` time vs instances, against asking trace about every pair (same run).

A hub-and-spoke design through one transit gateway: VPCs of three tiers (web, app, db subnets
and SGs, SG-to-SG rules, a NACL for the db subnet), 50, 200 and 800 instances. The all-pairs
baseline is measured in full at 50 instances and on a random sample of 2,500 pairs above that
(its total is the per-pair time x the pairs; said so in the output). Also writes the heat map
of the 200-instance design. Pure: no switch.
Usage: python bench/reach.py
"""

import os
import random
import time

import yaml
from _lib import RESULTS, publish, save

from vpclab.intent.loader import load_topology
from vpclab.oracle.reach import pair_verdict, reach
from vpclab.ui import reach_view

SIZES = (50, 200, 800)
VPCS = 10
SAMPLE = 2_500
TIERS = ("web", "app", "db")


def design(instances: int, vpcs: int = VPCS) -> dict:
    """``instances`` spread over ``vpcs`` three-tier VPCs attached to one TGW."""
    data: dict = {"name": f"reach-{instances}", "servers": 8, "vpcs": []}
    for v in range(vpcs):
        subnets = [{"name": tier, "cidr": f"10.{v}.{n + 1}.0/24"} for n, tier in enumerate(TIERS)]
        subnets[2]["nacl"] = "db-nacl"
        groups = [
            {"name": f"v{v}-web-sg", "ingress": [{"protocol": "tcp", "ports": 443, "cidr": "10.0.0.0/8"}]},
            {
                "name": f"v{v}-app-sg",
                "ingress": [{"protocol": "tcp", "ports": 8080, "security_group": f"v{v}-web-sg"}],
            },
            {
                "name": f"v{v}-db-sg",
                "ingress": [{"protocol": "tcp", "ports": 5432, "security_group": f"v{v}-app-sg"}],
            },
        ]
        app_subnet = f"10.{v}.2.0/24"
        allow = {"rule": 100, "protocol": "tcp", "cidr": app_subnet, "action": "allow"}
        nacl = {
            "name": "db-nacl",
            "ingress": [{**allow, "ports": 5432}],
            "egress": [{**allow, "ports": "1024-65535"}],
        }
        count = instances // vpcs + (1 if v < instances % vpcs else 0)
        tiers = [TIERS[n % 3] for n in range(count)]
        members = [
            {"name": f"v{v}-{tier}{n // 3}", "subnet": tier, "security_groups": [f"v{v}-{tier}-sg"]}
            for n, tier in enumerate(tiers)
        ]
        to_core = {"destination": "10.0.0.0/8", "transit_gateway": "core"}
        data["vpcs"].append(
            {
                "name": f"v{v}",
                "cidr": f"10.{v}.0.0/16",
                "subnets": subnets,
                "route_tables": [{"name": "rt", "main": True, "routes": [to_core]}],
                "security_groups": groups,
                "nacls": [nacl],
                "instances": members,
            }
        )
    attachments = [{"name": f"a{v}", "vpc": f"v{v}", "subnets": ["web"]} for v in range(vpcs)]
    names = [a["name"] for a in attachments]
    data["transit_gateways"] = [
        {"name": "core", "attachments": attachments,
         "route_tables": [{"name": "all", "associations": names, "propagations": names}]}
    ]  # fmt: skip
    return data


def main() -> None:
    rows = []
    rng = random.Random(1)
    for size in SIZES:
        topology = load_topology(f"reach-{size}.yaml", yaml.safe_dump(design(size)))
        found = reach(topology, 6, 443)
        pairs = [(s, t) for s in topology.instances for t in topology.instances if s.name != t.name]
        sample = pairs if len(pairs) <= SAMPLE else rng.sample(pairs, SAMPLE)
        started = time.perf_counter()
        for source, target in sample:
            assert pair_verdict(topology, source, target, 6, 443) == found.verdicts[source.name, target.name]
        per_pair = (time.perf_counter() - started) / len(sample)
        rows.append(
            {
                "instances": size,
                "pairs": len(pairs),
                "classes": len(found.classes),
                "traces": found.traces,
                "reach_s": round(found.seconds, 3),
                "every_pair_s": round(per_pair * len(pairs), 2),
                "every_pair_measured": len(sample) == len(pairs),
                "agree_on": len(sample),
            }
        )
        if size == 200:
            os.makedirs(RESULTS, exist_ok=True)
            reach_view.heat_map(topology, found, "tcp/443", f"{RESULTS}/reach-heatmap.png")
            publish(f"{RESULTS}/reach-heatmap.png")
    print("instances    pairs  classes  traces   reach s  trace every pair s")
    for row in rows:
        note = "" if row["every_pair_measured"] else f"  (from {row['agree_on']} pairs)"
        print(
            f"{row['instances']:9d} {row['pairs']:8d} {row['classes']:8d} {row['traces']:7d} "
            f"{row['reach_s']:9.3f} {row['every_pair_s']:10.2f}{note}"
        )
    print("reach agreed with trace on every pair it was compared on")

    def plot(axes):
        sizes = [r["instances"] for r in rows]
        axes.plot(
            sizes, [r["reach_s"] for r in rows], marker="o", label="vpclab reach (one trace per class pair)"
        )
        axes.plot(sizes, [r["every_pair_s"] for r in rows], marker="s", label="trace on every pair")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("instances (10 VPCs, hub and spoke)")
        axes.set_ylabel("seconds for all ordered pairs")
        axes.legend()

    print("plot:", save("reach", {"rows": rows}, plot))


if __name__ == "__main__":
    main()
