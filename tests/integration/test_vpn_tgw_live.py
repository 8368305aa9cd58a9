"""A VPN to a transit gateway live (issue 32): dc1's two BGP VPN connections give the TGW four
equal routes, and the flows spread over the four tunnels by their hash (`vpn_ecmp_support`);
a cut tunnel leaves the set within BGP's hold time; dc2's static VPN moves to its second
tunnel when the first fails. `test_live` verifies the design with the other examples."""

import os
import subprocess
import time

import pytest
from live_helpers import ROOT, live

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

pytestmark = live
DESIGN = os.path.join(ROOT, "topologies", "vpn-tgw.yaml")
TUNNELS = [("dc1-vpn-a", 1), ("dc1-vpn-a", 2), ("dc1-vpn-b", 1), ("dc1-vpn-b", 2)]
quiet = lambda line: None


@pytest.fixture(scope="module")
def run():
    with Emulation(load_topology(DESIGN), log=quiet, bgp_hold_time=3) as emulation:
        yield emulation


def into_tunnels(run, connection: str) -> dict[int, int]:
    """Per tunnel of ``connection``: the packets for the sites' hosts its AWS end sent into it
    (not BGP's nor dead peer detection's: an nftables counter per tunnel, added at first)."""
    netns = run.names.netns(f"aws-{connection}")

    def nft(*words: str) -> str:
        done = subprocess.run(["ip", "netns", "exec", netns, "nft", *words], capture_output=True, text=True)
        return done.stdout

    if "vpclab_test" not in nft("list", "tables"):
        nft("add", "table", "ip", "vpclab_test")
        nft("add", "chain", "ip", "vpclab_test", "out", "{ type filter hook postrouting priority 0; }")
        for tunnel in (1, 2):
            rule = (
                "oifname",
                f"tunnel{tunnel}",
                "ip",
                "daddr",
                "{ 172.16.0.0/16, 192.168.0.0/16 }",
                "counter",
            )
            nft("add", "rule", "ip", "vpclab_test", "out", *rule)
    found = {}
    for line in nft("list", "chain", "ip", "vpclab_test", "out").splitlines():
        if "oifname" in line:
            tunnel = int(line.split('"tunnel')[1].split('"')[0])
            found[tunnel] = int(line.split("packets ")[1].split()[0])
    return found


def spread(run, flows: int = 48) -> dict[tuple[str, int], int]:
    """svc1 sends one UDP datagram to erp1 from each of ``flows`` source ports: how many each
    of dc1's tunnels carried."""

    def counted() -> dict[tuple[str, int], int]:
        found = {}
        for connection in ("dc1-vpn-a", "dc1-vpn-b"):
            found.update({(connection, n): count for n, count in into_tunnels(run, connection).items()})
        return found

    before = counted()
    sender = (
        "import socket\n"
        f"for port in range(40000, {40000 + flows}):\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "    s.bind(('', port)); s.sendto(b'x', ('172.16.1.10', 9)); s.close()\n"
    )
    run.hosts.hosts["svc1"].cmd(f'python3 -c "{sender}"')
    time.sleep(0.3)
    after = counted()
    return {t: after[t] - before[t] for t in TUNNELS}


def pings(host, address: str) -> bool:
    return " 0% packet loss" in host.cmd(f"ping -c1 -W1 {address}")


def test_the_tgw_spreads_flows_over_every_tunnel_of_equal_bgp_routes(run):
    for connection in ("dc1-vpn-a", "dc1-vpn-b"):
        sessions = run.sites.daemon(f"aws-{connection}").sessions()
        assert sorted(sessions.values()) == ["Established", "Established"], sessions
    carried = spread(run)
    assert sum(carried.values()) == 48, carried  # each datagram by exactly one tunnel
    assert sum(1 for n in carried.values() if n) >= 3, carried  # 48 flows hashed over 4 tunnels
    assert pings(run.hosts.hosts["erp1"], "10.1.2.4") and pings(run.hosts.hosts["app2"], "172.16.1.10")


def wait_for(run, change: tuple, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not any(c[1:4] == change for c in run.sites.watch.changes):
        assert time.monotonic() < deadline, run.sites.watch.changes
        time.sleep(0.2)


def test_a_cut_tunnel_leaves_the_ecmp_set_within_the_hold_time_and_comes_back(run):
    hold = run.sites.hold_time
    run.sites.fail_tunnel("dc1-vpn-a", 1)
    try:
        wait_for(run, ("dc1-vpn-a", 1, False), hold + 1)
        carried = spread(run)
        assert carried[("dc1-vpn-a", 1)] == 0 and sum(carried.values()) == 48, carried
    finally:
        run.sites.fail_tunnel("dc1-vpn-a", 1, up=True)
    wait_for(run, ("dc1-vpn-a", 1, True), hold + 10)


def test_a_static_vpn_to_the_tgw_moves_to_its_second_tunnel(run):
    app1 = run.hosts.hosts["app1"]
    assert pings(app1, "192.168.1.10")
    first = into_tunnels(run, "dc2-vpn")
    assert pings(app1, "192.168.1.10") and into_tunnels(run, "dc2-vpn")[1] > first[1]
    run.sites.fail_tunnel("dc2-vpn", 1)
    try:
        wait_for(run, ("dc2-vpn", 1, False), run.sites.hold_time + 1)
        second = into_tunnels(run, "dc2-vpn")
        assert pings(app1, "192.168.1.10") and into_tunnels(run, "dc2-vpn")[2] > second[2]
    finally:
        run.sites.fail_tunnel("dc2-vpn", 1, up=True)


def site_route(run, site: str, address: str) -> str:
    """The device ``site``'s router sends a packet for ``address`` by."""
    shown = subprocess.run(
        ["ip", "netns", "exec", run.names.netns(f"site-{site}"), "ip", "-o", "route", "get", address],
        capture_output=True,
        text=True,
    ).stdout.split()
    return shown[shown.index("dev") + 1] if "dev" in shown else ""


def test_what_the_tgw_announces_over_bgp_follows_its_route_table_at_run_time(run):
    from shell_script import shell

    assert site_route(run, "dc1", "10.1.2.4").startswith("vpn")  # the VPC's CIDR, learned over BGP
    said = shell(run, "propagation core onprem app-att off")
    try:
        deadline = time.monotonic() + 10
        while site_route(run, "dc1", "10.1.2.4").startswith("vpn"):
            assert time.monotonic() < deadline, said
            time.sleep(0.2)
        assert site_route(run, "dc1", "10.0.1.4").startswith("vpn")  # shared's CIDR stays
        assert any("10.1.0.0/16" not in prefixes for _, _, prefixes in run.sites.watch.announced)
    finally:
        shell(run, "propagation core onprem app-att on")
    deadline = time.monotonic() + 10
    while not site_route(run, "dc1", "10.1.2.4").startswith("vpn"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert pings(run.hosts.hosts["erp1"], "10.1.2.4")
