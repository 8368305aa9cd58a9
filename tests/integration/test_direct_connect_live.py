"""Direct Connect live (issue 32's design, topologies/hybrid.yaml): dc1 reaches the TGW over a
transit VIF and a BGP VPN; both sides prefer Direct Connect (the site by local preference, the
TGW's table by AWS's route priority); when the link is cut, dc1's router moves to the VPN at
once and AWS's side when its session's hold time runs out, and both come back after repair.
`test_live` verifies the design with the other examples."""

import os
import subprocess
import time

import pytest
from live_helpers import ROOT, live
from shell_script import shell

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

pytestmark = live
DESIGN = os.path.join(ROOT, "topologies", "hybrid.yaml")
quiet = lambda line: None


@pytest.fixture(scope="module")
def run():
    with Emulation(load_topology(DESIGN), log=quiet, bgp_hold_time=3) as emulation:
        yield emulation


def counted(run, namespace: str, device: str, direction: str) -> int:
    """Packets for or from dc1's hosts (172.16.0.0/16) ``device`` in ``namespace`` sent
    (``direction`` "oifname") or received ("iifname"): an nftables counter, added at first."""
    netns = run.names.netns(namespace)

    def nft(*words: str) -> str:
        return subprocess.run(
            ["ip", "netns", "exec", netns, "nft", *words], capture_output=True, text=True
        ).stdout

    if "vpclab_test" not in nft("list", "tables"):
        nft("add", "table", "ip", "vpclab_test")
        nft("add", "chain", "ip", "vpclab_test", "seen", "{ type filter hook forward priority 0; }")
    listed = nft("list", "chain", "ip", "vpclab_test", "seen")
    rule = f'{direction} "{device}"'
    if rule not in listed:
        field = "daddr" if direction == "oifname" else "saddr"
        nft(
            "add",
            "rule",
            "ip",
            "vpclab_test",
            "seen",
            direction,
            device,
            "ip",
            field,
            "172.16.0.0/16",
            "counter",
        )
        listed = nft("list", "chain", "ip", "vpclab_test", "seen")
    line = next(line for line in listed.splitlines() if rule in line)
    return int(line.split("packets ")[1].split()[0])


def paths(run) -> dict[str, int]:
    """dc1's traffic so far, each way, by Direct Connect and by the VPN's tunnels."""
    return {
        "to dc1 by dx": counted(run, "aws-dx1", "link", "oifname"),
        "from dc1 by dx": counted(run, "aws-dx1", "link", "iifname"),
        "to dc1 by vpn": sum(counted(run, "aws-dc1-vpn", f"tunnel{n}", "oifname") for n in (1, 2)),
        "from dc1 by vpn": sum(counted(run, "aws-dc1-vpn", f"tunnel{n}", "iifname") for n in (1, 2)),
    }


def pings(host, address: str) -> bool:
    return " 0% packet loss" in host.cmd(f"ping -c1 -W1 {address}")


def moved(before: dict, after: dict) -> set[str]:
    return {key for key in after if after[key] > before[key]}


def test_dc1_and_aws_prefer_direct_connect_both_ways(run):
    for name in ("aws-dx1", "aws-dc1-vpn"):
        sessions = run.sites.daemon(name).sessions()
        assert set(sessions.values()) == {"Established"}, (name, sessions)
    route = subprocess.run(
        ["ip", "netns", "exec", run.names.netns("site-dc1"), "ip", "route", "get", "10.1.1.4"],
        capture_output=True,
        text=True,
    )
    assert "dev dx0" in route.stdout  # BIRD installed the VPCs' prefixes by the link (preference 200)
    before = paths(run)
    assert pings(run.hosts.hosts["app1"], "172.16.1.10") and pings(run.hosts.hosts["erp1"], "10.0.1.4")
    assert moved(before, paths(run)) == {"to dc1 by dx", "from dc1 by dx"}


def test_why_follows_a_packet_onto_the_link_and_the_shell_names_what_it_cannot_cut(run):
    said = shell(
        run, "why app1 erp1", "why erp1 svc1 tcp 22", "why files1 svc1", "fail dx nope", "recover dx dx1"
    )
    assert "delivered to Direct Connect dx1" in said and "onto the link" in said, said
    assert (
        "dc1's router sends it by Direct Connect dx1" in said and "dc1's router delivers it to erp1" in said
    )
    assert said.count("they agree") == 2 and "DISAGREE" not in said, said
    assert "*** dc2's router has no route to 10.0.1.4 by a tunnel or link" in said  # trace: site-no-route
    assert "*** no Direct Connect connection 'nope' (connections: dx1)" in said
    assert "*** Direct Connect dx1 is already up" in said


def wait_for(run, change: tuple, seconds: float) -> float:
    started = time.monotonic()
    while not any(c[1:4] == change for c in run.sites.watch.changes):
        assert time.monotonic() - started < seconds, run.sites.watch.changes
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_cut_link_moves_dc1_to_the_vpn_and_back_after_repair(run):
    hold = run.sites.hold_time
    app1, erp1 = run.hosts.hosts["app1"], run.hosts.hosts["erp1"]
    run.sites.fail_link("dx1")
    try:
        assert wait_for(run, ("dx1", 0, False), hold + 1) <= hold + 1
        before = paths(run)
        assert pings(app1, "172.16.1.10") and pings(erp1, "10.1.1.4")
        assert moved(before, paths(run)) == {"to dc1 by vpn", "from dc1 by vpn"}
    finally:
        run.sites.fail_link("dx1", up=True)
    wait_for(run, ("dx1", 0, True), hold + 10)
    deadline = time.monotonic() + hold + 10
    while True:  # dc1's router takes the link back once its session is up again
        before = paths(run)
        if pings(app1, "172.16.1.10") and moved(before, paths(run)) == {"to dc1 by dx", "from dc1 by dx"}:
            break
        assert time.monotonic() < deadline, paths(run)
        time.sleep(0.5)


@pytest.mark.parametrize("snapshot", ["test-direct-connect-gateway", "test-direct-connect-private-vif"])
def test_batfishs_direct_connect_snapshots_import_and_verify_live(snapshot, tmp_path):
    """Imported as a user passes them (their routers' configurations make the sites), they run
    live: BGP over the VPN and the VIFs converges, and every probe agrees with trace."""
    import yaml

    from vpclab.aws_import import import_directory, render
    from vpclab.verify import report, verify

    folder = os.path.join(ROOT, "tests", "data", "aws-configs", snapshot)
    text = render(import_directory(folder), snapshot)
    design = tmp_path / f"{snapshot}.yaml"
    design.write_text(text)
    topology = load_topology(str(design))
    assert topology.hybrid.dx_connections and yaml.safe_load(text)["on_premises"]
    verification = verify(topology, log=quiet)
    assert verification.results and verification.agrees, report(verification, False)
    assert any(r.live and r.source in {h.name for h in topology.hybrid.hosts} for r in verification.results)
