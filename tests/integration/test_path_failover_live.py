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
