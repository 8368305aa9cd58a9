"""Redundant paths, live: the route manager's probes find the TGW blackhole and move the route
to the peering within a second, and back after the repair; without the backup the pair is cut
off until the repair."""

import os

from live_helpers import live

from experiments import catalog

pytestmark = live


def test_failover_within_a_second_and_back(tmp_path):
    report = catalog.load("path-failover").execute(seed=3, out_dir=str(tmp_path), log=lambda line: None)
    with_backup, without = report["variants"]
    assert with_backup["failover_after"] is not None and with_backup["failover_after"] < 1.0
    assert with_backup["cut_off_s"] < 1.0 and with_backup["lost_before_injection"] == 0
    assert with_backup["failback_after"] is not None and with_backup["failback_after"] < 3.0
    assert any("now goes through peering app-shared" in said for said in with_backup["route_changes"])
    assert without["failover_after"] is None and without["route_changes"] == []
    assert without["cut_off_s"] > without["restore_after"] - 0.6
    assert report["as_expected"], report["check"]
    assert os.path.getsize(tmp_path / "failover.png") > 10_000


def test_a_restarted_controller_keeps_the_failed_over_route_and_fails_back():
    """The route manager's moves are changes of the running design: a new controller starts
    from them, probes again, and moves the route back once the TGW answers."""
    import time

    from live_helpers import topology

    from nitro_switch.emulation import Emulation

    def active(lab) -> dict:
        return {r["vpc"]: r["active"] for r in lab.api.call("failover")["routes"]}

    with Emulation(topology("path-failover.yaml"), log=lambda line: None) as lab:
        lab.api.change("blackhole", tgw="core", table="core-rt", cidr="10.0.0.0/16")
        saved = lambda: [c for c in lab.applied_changes() if c["operation"] == "failover"]
        deadline = time.time() + 3
        while not saved() and time.time() < deadline:  # the move, confirmed by the cards and saved
            time.sleep(0.05)
        assert active(lab)["app"] == 1 and saved()
        lab.kill_controller()
        lab.restart_controller()
        assert active(lab)["app"] == 1  # from the running design, not the file
        assert "1 received" in lab.hosts.hosts["app1"].cmd("ping -c 1 -W 1 10.0.1.4")
        lab.api.change("restore-tgw-route", tgw="core", table="core-rt", cidr="10.0.0.0/16")
        deadline = time.time() + 3
        while active(lab)["app"] != 0 and time.time() < deadline:
            time.sleep(0.05)
        assert active(lab)["app"] == 0
