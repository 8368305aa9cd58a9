"""A VPN tunnel down, live (issue 32): each site is cut off no longer than the hold time plus
a second, then reached over tunnel 2; AWS's side takes tunnel 1 back after the repair with no
probe lost; the flow logs name the path; the experiment writes its timeline."""

import os

from live_helpers import live

from experiments import catalog

pytestmark = live


def test_the_second_tunnel_carries_on_within_the_hold_time_and_the_first_comes_back(tmp_path):
    report = catalog.load("vpn-tunnel-down").execute(seed=1, out_dir=str(tmp_path), log=lambda line: None)
    assert report["as_expected"], report["check"]
    for pair in report["pairs"]:
        assert 0 < pair["cut_off_s"] <= report["hold_time"] + 1, pair
        assert pair["down_after"] <= report["hold_time"] + 1 and pair["up_after_repair"] is not None
        assert pair["lost_before_cut"] == pair["lost_after_repair"] == 0
    assert "BGP session" in report["pairs"][0]["why_down"]  # dc1-vpn: its session timed out
    assert "no answer" in report["pairs"][1]["why_down"]  # dc2-vpn: dead peer detection
    for pair in report["pairs"]:  # the flow logs name the tunnel each way
        assert pair["flow_log_paths"]["during"] == {
            w: [f"{pair['connection']}:tunnel2"] for w in ("to the site", "from the site")
        }
    assert os.path.getsize(tmp_path / "timeline.png") > 10_000
