"""On-premises sites live (issue 32): two sites reach a VPC's VGW over a BGP VPN and a static
VPN, through real tunnels over the emulated internet, with real BGP daemons (FRR at AWS's end,
BIRD at the site's router); instances and site hosts reach each other by the tunnel the cards
chose (`test_live` verifies the design with the other examples)."""

import os
import subprocess
import sys
import time

import pytest
from live_helpers import ROOT, live
from shell_script import shell

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

pytestmark = live
DESIGN = os.path.join(ROOT, "topologies", "vpn-sites.yaml")  # test_live verifies it
quiet = lambda line: None


def pings(host, address: str, size: int = 56) -> bool:
    return " 0% packet loss" in host.cmd(f"ping -c1 -W2 -M do -s {size} {address}")


# runs before the module's emulation of the same design starts (one run per name)
def running(pid: int) -> bool:
    """Is ``pid`` a live process (not gone, not a zombie waiting to be reaped)?"""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def test_vpclab_clean_removes_a_killed_runs_sites_and_bgp_daemons():
    """A run killed with SIGKILL leaves its sites' namespaces and BGP daemons; `vpclab clean`
    finds them (by the run's namespaces) and removes them."""
    import signal

    from live_helpers import leftovers

    from vpclab.layout.names import Names

    vpclab = os.path.join(os.path.dirname(sys.executable), "vpclab")
    up = subprocess.Popen(
        [vpclab, "up", DESIGN, "--no-cli"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        for line in up.stdout:
            if line.startswith("*** up in"):
                break
        names = Names("vpn-sites")
        pids = []
        for folder in ("bgp-aws-dc1-vpn", "bgp-site-dc1"):
            with open(os.path.join(names.run_dir, folder, "daemon.pid"), encoding="utf-8") as handle:
                pids.append(int(handle.read()))
        up.send_signal(signal.SIGKILL)  # no tear-down
        up.wait()
        assert all(running(pid) for pid in pids)
        assert any(n.endswith("-site-dc1") for n in leftovers(names.short)["namespaces"])
        cleaned = subprocess.run([vpclab, "clean", "vpn-sites"], capture_output=True, text=True)
        assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        assert leftovers(names.short) == {"namespaces": [], "interfaces": []}
        assert not any(running(pid) for pid in pids)  # bgpd and BIRD are gone
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


@pytest.fixture(scope="module")
def sites():
    with Emulation(load_topology(DESIGN), log=quiet, bgp_hold_time=3) as emulation:
        yield emulation


def test_bgp_runs_over_both_tunnels_and_the_site_routes_by_the_first(sites):
    aws = sites.sites.daemon("aws-dc1-vpn")
    assert set(aws.sessions().values()) == {"Established"} and len(aws.sessions()) == 2
    assert sorted(r.next_hop for r in aws.learned() if r.prefix == "172.16.0.0/16") == [
        "169.254.10.2",
        "169.254.10.6",
    ]
    router = sites.names.netns("site-dc1")
    route = subprocess.run(
        ["ip", "netns", "exec", router, "ip", "route", "get", "10.1.1.4"], capture_output=True, text=True
    )
    assert "dev vpn0t1" in route.stdout  # BIRD installed AWS's prefix by tunnel 1 (preferred)
    static = subprocess.run(
        ["ip", "netns", "exec", sites.names.netns("site-dc2"), "ip", "route", "get", "10.1.1.4"],
        capture_output=True,
        text=True,
    )
    assert "dev vpn1t1" in static.stdout  # the static VPN's first tunnel


def test_instances_and_site_hosts_reach_each_other_through_the_vgw_at_the_tunnels_mtu(sites):
    hosts = sites.hosts.hosts
    app1, erp1, files1 = hosts["app1"], hosts["erp1"], hosts["files1"]
    assert pings(app1, "172.16.1.10") and pings(erp1, "10.1.1.4")
    assert pings(app1, "192.168.1.10") and pings(files1, "10.1.1.4")
    assert pings(erp1, "10.1.1.4", 1446 - 28) and not pings(erp1, "10.1.1.4", 1447 - 28)  # AWS: 1446


def test_why_follows_a_packet_for_a_site_to_the_tunnel_it_leaves_by(sites):
    said = shell(sites, "why app1 erp1", "why app1 files1 tcp 22")
    assert "delivered to VPN dc1-vpn tunnel 1" in said and "delivered to VPN dc2-vpn tunnel 1" in said
    assert said.count("they agree") == 2 and "DISAGREE" not in said, said
    assert "vgw_route" in said  # the internet's card's VGW stage, named by its YAML object


def tunnel_packets(sites, connection: str, device: str) -> int:
    """Packets AWS's end of ``connection`` sent into tunnel ``device``."""
    shown = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            sites.names.netns(f"aws-{connection}"),
            "cat",
            f"/sys/class/net/{device}/statistics/tx_packets",
        ],
        capture_output=True,
        text=True,
    )
    return int(shown.stdout)


def back_within(host, address: str, seconds: float) -> float:
    """Seconds until ``host`` pings ``address`` again (fails the test after ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if " 0% packet loss" in host.cmd(f"ping -c1 -W0.3 {address}"):
            return time.monotonic() - started
    raise AssertionError(f"{host.name} did not reach {address} within {seconds} s")


@pytest.mark.parametrize(
    "connection, host, address", [("dc1-vpn", "erp1", "172.16.1.10"), ("dc2-vpn", "files1", "192.168.1.10")]
)
def test_a_cut_tunnel_moves_the_vgw_to_the_other_within_the_hold_time_and_back(
    sites, connection, host, address
):
    hold = sites.sites.hold_time
    app1 = sites.hosts.hosts["app1"]
    assert pings(app1, address)
    said = shell(sites, f"fail tunnel {connection} 1", f"fail tunnel {connection} 1", "fail tunnel nope 1")
    assert f"*** {connection} tunnel 1: cut; AWS's side notices within its hold time ({hold} s)" in said
    assert f"*** {connection} tunnel 1 is already down" in said
    assert "*** no tunnel 1 of VPN connection 'nope' (connections: dc1-vpn, dc2-vpn)" in said
    took = back_within(app1, address, hold + 5)
    assert took <= hold + 1, took  # BGP's hold time (a static VPN: dead peer detection) plus at most 1 s
    before = tunnel_packets(sites, connection, "tunnel2")
    assert pings(app1, address) and tunnel_packets(sites, connection, "tunnel2") > before
    assert sites.sites.watch.changes[-1][1:4] == (connection, 1, False)
    assert "mended" in shell(sites, f"recover tunnel {connection} 1")
    deadline = time.monotonic() + hold + 10
    while sites.sites.watch.changes[-1][1:4] != (connection, 1, True):
        assert time.monotonic() < deadline, sites.sites.watch.changes
        time.sleep(0.2)
    before = tunnel_packets(sites, connection, "tunnel1")
    assert pings(app1, address) and tunnel_packets(sites, connection, "tunnel1") > before


def test_what_the_site_announces_over_bgp_is_what_the_vgw_routes_by(sites):
    app1 = sites.hosts.hosts["app1"]
    watch = sites.sites.watch
    said = shell(
        sites, "withdraw dc1 172.16.0.0/16", "withdraw dc1 172.16.0.0/16", "withdraw dc2 192.168.0.0/16"
    )
    assert "*** dc1 no longer announces 172.16.0.0/16" in said and "does not announce" in said, said
    assert "*** dc2's router speaks no BGP" in said
    try:
        deadline = time.monotonic() + 10
        while not any(c[1:4] == ("dc1-vpn", 1, ()) for c in watch.learned_changes):
            assert time.monotonic() < deadline, watch.learned_changes
            time.sleep(0.2)
        assert not pings(app1, "172.16.1.10")  # the VGW learned nothing for it: no route
        assert "172.16.0.0/16" not in shell(sites, "routes app1")
    finally:
        shell(sites, "announce dc1 172.16.0.0/16", "announce dc1 10.99.0.0/16")
    deadline = time.monotonic() + 10
    while not any(c[1:4] == ("dc1-vpn", 1, ("10.99.0.0/16", "172.16.0.0/16")) for c in watch.learned_changes):
        assert time.monotonic() < deadline, watch.learned_changes
        time.sleep(0.2)
    assert pings(app1, "172.16.1.10")
    assert "10.99.0.0/16" in shell(sites, "routes app1")  # propagated from what BGP brought
    shell(sites, "withdraw dc1 10.99.0.0/16")
