"""On-premises sites: bring-up with two sites vs without, and failover times.

Two designs with two sites each: topologies/vpn-sites.yaml (VPNs to a VGW, BGP and static: four
tunnels, two BGP daemons) and topologies/hybrid.yaml, issue 32's (a BGP VPN to a TGW, a transit
Direct Connect link, a static VPN to a VGW: three BGP daemons). The baseline of each, measured
in the same run, is the same design without its sites and their gateways and connections.
Target: bring-up with the sites <= 2x without. Then, with BGP's hold time at 3 s, each way to a
site is cut in turn while an instance pings the site's host every 0.1 s: the time until the
pings come back (over the other tunnel, or the VPN for Direct Connect) must be at most the hold
time plus 1 s (a BGP session times out; a static VPN's dead peer detection gives up).
Usage: python bench/sites.py [--runs 3]   (as root)
"""

import argparse
import copy
import os
import statistics
import tempfile
import time

import yaml
from _lib import ROOT, save

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

HOLD = 3
HYBRID_KEYS = (
    "on_premises",
    "vpn_gateways",
    "vpn_connections",
    "direct_connect_gateways",
    "direct_connect_connections",
)
# design -> what is cut: (label, "tunnel CONNECTION" or "dx LINK", the address app1 pings)
DESIGNS = {
    "vpn-sites.yaml": [
        ("BGP VPN tunnel 1 (dc1-vpn)", "tunnel dc1-vpn", "172.16.1.10"),
        ("static VPN tunnel 1 (dc2-vpn)", "tunnel dc2-vpn", "192.168.1.10"),
    ],
    "hybrid.yaml": [
        ("Direct Connect (dx1) -> VPN", "dx dx1", "172.16.1.10"),
        ("static VPN tunnel 1 (dc2-vpn)", "tunnel dc2-vpn", "192.168.1.10"),
    ],
}


def without_sites(path: str, folder: str):
    """The design with no site and nothing of theirs (gateways, connections, the attachments
    and routes to them), written in ``folder``."""
    with open(path, encoding="utf-8") as handle:
        plain = copy.deepcopy(yaml.safe_load(handle))
    for key in HYBRID_KEYS:
        plain.pop(key, None)
    for vpc in plain["vpcs"]:
        for table in vpc.get("route_tables", []):
            table.pop("propagating_vgws", None)
            table["routes"] = [r for r in table.get("routes", []) if "vpn_gateway" not in r]
    for tgw in plain.get("transit_gateways", []):
        gone = {a["name"] for a in tgw["attachments"] if "vpn" in a or "direct_connect_gateway" in a}
        tgw["attachments"] = [a for a in tgw["attachments"] if a["name"] not in gone]
        for table in tgw.get("route_tables", []):
            for key in ("associations", "propagations"):
                table[key] = [a for a in table.get(key, []) if a not in gone]
            table["routes"] = [r for r in table.get("routes", []) if r.get("attachment") not in gone]
    plain["name"] = f"{plain['name']}-plain"
    written = os.path.join(folder, f"{plain['name']}.yaml")
    with open(written, "w", encoding="utf-8") as handle:
        yaml.safe_dump(plain, handle)
    return load_topology(written)


def bring_up(topology) -> float:
    emulation = Emulation(topology, log=lambda line: None, bgp_hold_time=HOLD)
    started = time.monotonic()
    emulation.build()
    elapsed = time.monotonic() - started
    emulation.teardown()
    return elapsed


def failover(emulation, cut: str, address: str) -> float:
    """Seconds from the cut until app1's pings reach ``address`` again; then mended, and back."""
    kind, name = cut.split()
    sites, app1 = emulation.sites, emulation.hosts.hosts["app1"]
    assert " 0% packet loss" in app1.cmd(f"ping -c1 -W1 {address}")
    key = (name, 1) if kind == "tunnel" else (name, 0)
    started = time.monotonic()
    if kind == "tunnel":
        sites.fail_tunnel(name, 1)
    else:
        sites.fail_link(name)
    while " 0% packet loss" not in app1.cmd(f"ping -c1 -W0.1 {address}"):
        if time.monotonic() - started > HOLD + 10:
            break
    took = time.monotonic() - started
    if kind == "tunnel":
        sites.fail_tunnel(name, 1, up=True)
    else:
        sites.fail_link(name, up=True)
    deadline = time.monotonic() + HOLD + 15
    while sites.watch.known[key] is False and time.monotonic() < deadline:  # back before the next cut
        time.sleep(0.1)
    return took


def measure(name: str, runs: int, folder: str) -> dict:
    path = os.path.join(ROOT, "topologies", name)
    sites, plain = load_topology(path), without_sites(path, folder)
    with_sites = [bring_up(sites) for _ in range(runs)]
    baseline = [bring_up(plain) for _ in range(runs)]
    times: dict[str, list[float]] = {label: [] for label, _, _ in DESIGNS[name]}
    with Emulation(sites, log=lambda line: None, bgp_hold_time=HOLD) as emulation:
        for _ in range(runs):
            for label, cut, address in DESIGNS[name]:
                times[label].append(failover(emulation, cut, address))
    return {
        "with_sites_s": with_sites,
        "without_s": baseline,
        "ratio": statistics.median(with_sites) / statistics.median(baseline),
        "failover_s": times,
    }


def runs(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s  runs {', '.join(f'{t:.2f}' for t in values)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        found = {name: measure(name, args.runs, folder) for name in DESIGNS}
    for name, result in found.items():
        print(f"{name}: with its 2 sites: {runs(result['with_sites_s'])}")
        print(f"{name}: without them: {runs(result['without_s'])}")
        print(f"{name}: ratio with/without: {result['ratio']:.2f} (target <= 2)")
        for label, times in result["failover_s"].items():
            print(
                f"{name}: failover, {label} cut (hold time {HOLD} s): {runs(times)} (target <= {HOLD + 1} s)"
            )

    def plot(axes):
        left, right = axes
        names = list(found)
        width = 0.38
        for n, name in enumerate(names):
            result = found[name]
            left.bar(n - width / 2, statistics.median(result["without_s"]), width, color="#4c72b0")
            left.bar(n + width / 2, statistics.median(result["with_sites_s"]), width, color="#dd8452")
            left.text(
                n,
                statistics.median(result["with_sites_s"]),
                f"x{result['ratio']:.2f}",
                ha="center",
                va="bottom",
            )
        left.set_xticks(range(len(names)), names)
        left.set_ylabel("bring-up, seconds (median)")
        left.set_title("without the sites (blue) and with them (orange): target <= x2")
        labels = []
        for name in names:
            for label, times in found[name]["failover_s"].items():
                right.scatter([len(labels)] * len(times), times, color="#dd8452", zorder=3)
                labels.append(f"{name}\n{label}")
        right.axhline(HOLD, color="#4c72b0", linestyle="--", label=f"hold time ({HOLD} s)")
        right.axhline(HOLD + 1, color="#c44e52", linestyle=":", label="target (hold time + 1 s)")
        right.set_xticks(range(len(labels)), labels, fontsize=7)
        right.set_xlim(-0.5, len(labels) - 0.5)
        right.set_ylim(0, HOLD + 2)
        right.set_ylabel("cut -> pings back, seconds")
        right.set_title("failover")
        right.legend(loc="lower right", fontsize=8)

    print(save("sites", {"hold_s": HOLD, "designs": found}, plot, panels=2))


if __name__ == "__main__":
    main()
