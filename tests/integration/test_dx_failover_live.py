"""Direct Connect down, live (issue 32): the site is cut off no longer than the hold time plus
a second, its traffic takes the VPN both ways, and after the repair Direct Connect again with
no probe lost; the experiment writes its timeline."""

import os

from live_helpers import live

from experiments import catalog

pytestmark = live


def test_the_site_moves_to_the_vpn_within_the_hold_time_and_back_to_direct_connect(tmp_path):
    report = catalog.load("dx-failover").execute(seed=2, out_dir=str(tmp_path), log=lambda line: None)
    assert report["as_expected"], report["check"]
    assert 0 < report["cut_off_s"] <= report["hold_time"] + 1 and report["up_after_repair"] is not None
    assert report["paths"]["during"] == ["to the site by vpn", "from the site by vpn"]
    assert report["flow_log_paths"]["during"]["from the site"] == [
        "dc1-vpn:tunnel1"
    ]  # the site prefers tunnel 1
    assert os.path.getsize(tmp_path / "timeline.png") > 10_000
