"""On-premises sites: bring-up with two sites vs without, and a VPN tunnel's failover time.

The design is topologies/vpn-sites.yaml (two sites over two VPN connections to a VGW: four
tunnels, two BGP daemons, two site hosts); the baseline, measured in the same run, is the same
design without its sites, VGW and VPNs. Target: bring-up with the sites <= 2x without. Then,
with BGP's hold time at 3 s, each connection's tunnel 1 is cut while an instance pings the
site's host every 0.1 s: the time until the pings come back (over tunnel 2) must be at most
the hold time plus 1 s, for the BGP VPN (its session times out) and the static one (dead peer
detection).
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

DESIGN = os.path.join(ROOT, "topologies", "vpn-sites.yaml")
HOLD = 3
TARGETS = {"dc1-vpn": ("erp1", "172.16.1.10"), "dc2-vpn": ("files1", "192.168.1.10")}


def without_sites(path: str, folder: str):
    """The design with no site, VGW or VPN (and no route to the VGW), written in ``folder``."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    plain = copy.deepcopy(data)
    for key in ("on_premises", "vpn_gateways", "vpn_connections"):
        plain.pop(key, None)
    for vpc in plain["vpcs"]:
        for table in vpc.get("route_tables", []):
            table.pop("propagating_vgws", None)
            table["routes"] = [r for r in table.get("routes", []) if "vpn_gateway" not in r]
    plain["name"] = "vpn-sites-plain"
    written = os.path.join(folder, "vpn-sites-plain.yaml")
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


def failover(emulation, connection: str) -> float:
    """Seconds from cutting ``connection``'s tunnel 1 until app1's pings reach the site again."""
    _, address = TARGETS[connection]
    app1 = emulation.hosts.hosts["app1"]
    assert " 0% packet loss" in app1.cmd(f"ping -c1 -W1 {address}")
    started = time.monotonic()
    emulation.sites.fail_tunnel(connection, 1)
    while " 0% packet loss" not in app1.cmd(f"ping -c1 -W0.1 {address}"):
        if time.monotonic() - started > HOLD + 10:
            break
    took = time.monotonic() - started
    emulation.sites.fail_tunnel(connection, 1, up=True)
    while emulation.sites.watch.known[(connection, 1)] is False:  # back on tunnel 1 before the next
        time.sleep(0.1)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sites = load_topology(DESIGN)
    with tempfile.TemporaryDirectory() as folder:
        plain = without_sites(DESIGN, folder)
        with_sites = [bring_up(sites) for _ in range(args.runs)]
        baseline = [bring_up(plain) for _ in range(args.runs)]
    ratio = statistics.median(with_sites) / statistics.median(baseline)
    times: dict[str, list[float]] = {c: [] for c in TARGETS}
    with Emulation(sites, log=lambda line: None, bgp_hold_time=HOLD) as emulation:
        for _ in range(args.runs):
            for connection in TARGETS:
                times[connection].append(failover(emulation, connection))
    print(
        f"with 2 sites (4 tunnels, 2 BGP daemons): median {statistics.median(with_sites):.2f} s  "
        f"runs {', '.join(f'{t:.2f}' for t in with_sites)}"
    )
    print(
        f"without them (same VPC and instance): median {statistics.median(baseline):.2f} s  "
        f"runs {', '.join(f'{t:.2f}' for t in baseline)}"
    )
    print(f"ratio with/without: {ratio:.2f} (target <= 2)")
    for connection, kind in (("dc1-vpn", "BGP VPN, session hold time"), ("dc2-vpn", "static VPN, DPD")):
        print(
            f"failover {connection} ({kind} {HOLD} s): median {statistics.median(times[connection]):.2f} s  "
            f"runs {', '.join(f'{t:.2f}' for t in times[connection])} (target <= {HOLD + 1} s)"
        )

    def plot(axes):
        left, right = axes
        left.bar(
            ["without sites", "with 2 sites"],
            [statistics.median(baseline), statistics.median(with_sites)],
            color=["#4c72b0", "#dd8452"],
        )
        left.set_ylabel("bring-up, seconds (median)")
        left.set_title(f"vpn-sites.yaml: ratio {ratio:.2f} (target <= 2)")
        for n, connection in enumerate(TARGETS):
            right.scatter([n] * len(times[connection]), times[connection], color="#dd8452", zorder=3)
        right.axhline(HOLD, color="#4c72b0", linestyle="--", label=f"hold time ({HOLD} s)")
        right.axhline(HOLD + 1, color="#c44e52", linestyle=":", label="target (hold time + 1 s)")
        right.set_xticks(range(len(TARGETS)), ["BGP VPN (dc1-vpn)", "static VPN (dc2-vpn)"])
        right.set_xlim(-0.5, len(TARGETS) - 0.5)
        right.set_ylim(0, HOLD + 2)
        right.set_ylabel("tunnel 1 cut -> pings back, seconds")
        right.set_title("failover to tunnel 2")
        right.legend(loc="lower right")

    data = {
        "with_sites_s": with_sites,
        "without_s": baseline,
        "ratio": ratio,
        "failover_s": times,
        "hold_s": HOLD,
    }
    print(save("sites", data, plot, panels=2))


if __name__ == "__main__":
    main()
