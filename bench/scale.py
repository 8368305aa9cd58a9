"""Flows per card and per fabric, and the cost of one runtime change, as designs grow: this
design against the previous one (a checkout of BASELINE, measured in the same run).

Designs (pure compile, no switch; placement by vpclab, which spreads each VPC over servers):
- hub and spoke: VPCs of 8 instances behind one TGW (every VPC reaches every other): 4/16/64
  VPCs, one server per 4 instances (as in the issue: 4 local instances per card), at most 64;
- peered pairs: the same VPCs joined two by two by peerings, no TGW (islands);
- one VPC: 32/128/256 instances, one server per 16, SG-to-SG rules (web -> app -> db).
Changes, each applied and undone 5 times (medians): a NACL rule, an SG rule, a TGW blackhole.
Change time = validate the changed design + compile + per-card diff (what Hyperplane does
before it sends the flow-mods; the live round trip adds sending and the barriers).
Usage: python bench/scale.py [--baseline REV]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from _lib import HERE, ROOT, save
from reach import design

BASELINE = "f740180"  # the last commit before per-card scopes, address sets and incremental compile
SIZES = (4, 16, 64)
ONE_VPC = (32, 128, 256)
REPEAT = 5


def hub(vpcs: int) -> dict:
    return design(8 * vpcs, vpcs) | {"servers": min(64, 2 * vpcs)}  # vpclab allows 64 servers


def pairs(vpcs: int) -> dict:
    data = hub(vpcs)
    del data["transit_gateways"]
    data["peerings"] = []
    for v in range(0, vpcs, 2):
        data["peerings"].append({"name": f"p{v}", "requester": f"v{v}", "accepter": f"v{v + 1}"})
        for me, peer in ((v, v + 1), (v + 1, v)):
            route = {"destination": f"10.{peer}.0.0/16", "peering": f"p{v}"}
            data["vpcs"][me]["route_tables"][0]["routes"] = [route]
    return data


def one_vpc(instances: int) -> dict:
    return design(instances, 1) | {"servers": instances // 16}


def changes(data: dict) -> list:
    nacl_rule = {"rule": 50, "protocol": "tcp", "ports": 22, "cidr": "10.0.0.0/8", "action": "deny"}
    sg_rule = {"protocol": "tcp", "ports": 22, "cidr": "10.0.0.0/8"}
    nacl = {"vpc": "v0", "nacl": "db-nacl", "direction": "ingress"}
    sg = {"security_group": "v0/v0-web-sg", "direction": "ingress", "rule": sg_rule}
    steps = [("add-nacl-rule", {**nacl, "rule": nacl_rule}), ("remove-nacl-rule", {**nacl, "number": 50})]
    steps += [("add-sg-rule", sg), ("remove-sg-rule", sg)]
    if data.get("transit_gateways"):
        route = {"tgw": "core", "table": "all", "cidr": "10.0.0.0/16"}
        steps += [("blackhole", route), ("restore-tgw-route", route)]
    return steps * REPEAT


def run(tree: str, name: str, data: dict) -> dict:
    job = json.dumps({"name": name, "design": data, "changes": changes(data)})
    worker = os.path.join(HERE, "_scale_worker.py")
    env = {**os.environ, "PYTHONPATH": tree}
    answer = subprocess.run(
        [sys.executable, worker], input=job, capture_output=True, text=True, cwd=tree, env=env, check=True
    )
    return json.loads(answer.stdout)


def checkout(revision: str, into: str) -> str:
    archive = subprocess.run(["git", "-C", ROOT, "archive", revision], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        before = checkout(args.baseline, temporary)
        cases = [("hub", v, hub(v)) for v in SIZES] + [("pairs", v, pairs(v)) for v in SIZES]
        cases += [("one-vpc", n, one_vpc(n)) for n in ONE_VPC]
        for family, size, data in cases:
            name = f"{family}-{size}"
            rows.append(
                {
                    "family": family,
                    "size": size,
                    "before": run(before, name, data),
                    "now": run(ROOT, name, data),
                }
            )
    print(f"baseline: {args.baseline} (the previous design), same run")
    print("design          flows/card (max)  flows, all cards  change: validate+compile+diff, ms (median)")
    print("                 before    now    before      now    NACL rule      SG rule        TGW blackhole")
    for row in rows:
        b, n = row["before"], row["now"]

        def change(op, b=b, n=n):
            if op not in n["changes"]:
                return "       -      "
            old = b["changes"][op]["validate"] + b["changes"][op]["compile_and_diff"]
            new = n["changes"][op]["validate"] + n["changes"][op]["compile_and_diff"]
            return f"{old:6.0f} -> {new:4.0f}"

        label = f"{row['family']} {row['size']}" + (" VPCs" if row["family"] != "one-vpc" else " inst")
        flows = f"{b['flows_max']:7d} {n['flows_max']:6d} {b['flows_total']:9d} {n['flows_total']:8d}"
        print(
            f"{label:15s} {flows}   {change('add-nacl-rule')}  {change('add-sg-rule')}  {change('blackhole')}"
        )

    def plot(axes):
        flows, latency = axes
        for family, style in (("hub", "o"), ("pairs", "s")):
            chosen = [r for r in rows if r["family"] == family]
            sizes = [r["size"] for r in chosen]
            for when, line in (("before", "--"), ("now", "-")):
                design = "previous design" if when == "before" else "scoped"
                peak = [r[when]["flows_max"] for r in chosen]
                flows.plot(sizes, peak, line, marker=style, label=f"{family}, {design}")
        flows.set_title("flows on the fullest Nitro card")
        flows.set_xlabel("VPCs of 8 instances (4 instances per server; 8 at 64 VPCs)")
        latency.set_title("one runtime change: validate + compile + per-card diff")
        latency.set_xlabel("instances (hub and spoke, 4 per server; 8 at 512)")
        latency.set_ylabel("milliseconds (median)")
        chosen = [r for r in rows if r["family"] == "hub"]
        instances = [8 * r["size"] for r in chosen]
        for op, style in (("add-nacl-rule", "o"), ("add-sg-rule", "s"), ("blackhole", "^")):
            for when, line in (("before", "--"), ("now", "-")):
                cost = [
                    r[when]["changes"][op]["validate"] + r[when]["changes"][op]["compile_and_diff"]
                    for r in chosen
                ]
                design = "recompile all (previous)" if when == "before" else "incremental"
                latency.plot(instances, cost, line, marker=style, label=f"{op}, {design}")
        latency.axhline(100, color="grey", linewidth=0.8)
        latency.text(instances[0], 110, "100 ms", color="grey")
        for each in axes:
            each.set_xscale("log", base=2)
            each.set_yscale("log")
        flows.legend(fontsize=8)
        latency.legend(fontsize=7)

    print("plot:", save("scale", {"baseline": args.baseline, "rows": rows}, plot, panels=2))


if __name__ == "__main__":
    main()
