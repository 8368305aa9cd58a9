"""Failure injection, measured: each scenario on a small topology, asserting on its report."""

import dataclasses
import json
import os

import pytest
from live_helpers import leftovers, live

from experiments import catalog
from experiments.flowlogs import Alarm
from experiments.harness import run

pytestmark = live
SHORT = dict(warmup=1.5, outage=2.0, after=2.0)


def experiment(name, tmp_path, seed=3, alarm=None):
    """Run a scenario (shortened); every pair must do what the scenario expects of it."""
    scenario = dataclasses.replace(catalog.load(name), **SHORT)
    report = run(scenario, seed=seed, out_dir=str(tmp_path), log=lambda line: None, alarm=alarm)
    assert (tmp_path / "timeline.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "report.json").read_text())["scenario"] == scenario.name
    assert report["as_expected"], {p["pair"]: p["check"] for p in report["pairs"]}
    return {pair["pair"]: pair for pair in report["pairs"]}, report


def test_tgw_blackhole_loss_starts_and_stops_within_a_second_and_the_flow_logs_name_the_route(tmp_path):
    pairs, report = experiment("tgw-blackhole", tmp_path, alarm=Alarm.parse("reject-rate>5/s"))
    for name in ("app1->svc1 icmp", "db1->svc1 icmp"):
        pair = pairs[name]
        assert pair["lost_before_injection"] == 0
        assert 0 <= pair["loss_window"][0] <= 1.0  # loss starts within 1 s
        assert pair["loss_window"][1] <= report["restore_after"] + 1.0  # and stops within 1 s
        assert pair["time_to_recover"] is not None and pair["time_to_recover"] <= 1.0
        assert pair["lost"] >= 0.8 * SHORT["outage"] * report["probe_rate"]
    assert pairs["app1->db1 icmp"]["lost"] == 0
    assert report["seed"] == 3 and report["topology"] == "incident"
    for name in ("app1->svc1 icmp", "db1->svc1 icmp"):  # the spokes' own interfaces, the route
        seen = pairs[name]["flow_log"]
        assert seen["rule"] == "transit_gateways[0].route_tables[1].routes[0]", seen
        assert 0 < seen["time_to_detect"] <= report["restore_after"] + 2.0
    assert pairs["app1->db1 icmp"]["flow_log"] is None
    assert report["alarm"]["fired_after"] is not None and not report["alarm"]["fired_before_injection"]
    logged = (tmp_path / "flowlogs.txt").read_text().splitlines()
    assert (
        logged[0].startswith("flow-log version account-id")
        and len(logged) == report["flow_logs"]["records"] + 1
    )


def test_a_tcp_stream_survives_an_sg_rule_removal_and_new_connections_are_refused(tmp_path):
    pairs, report = experiment("sg-rule-removed", tmp_path)
    assert report["injection"]["ok"]
    assert pairs["web1->app1 tcp/8080"]["survived"] and pairs["web1->app1 tcp/8080"]["lost"] == 0
    new = pairs["web1->app1 tcp-new/8080"]
    assert new["lost_before_injection"] == 0 and new["loss_window"][0] <= 1.0
    assert new["lost"] >= 0.8 * SHORT["outage"] * 20 and new["time_to_recover"] <= 1.0
    assert report["as_expected"], [p["check"] for p in pairs.values()]


def test_a_tcp_stream_dies_on_a_nacl_deny(tmp_path):
    pairs, _ = experiment("nacl-deny-added", tmp_path)
    stream = pairs["web1->app1 tcp/8080"]
    assert not stream["survived"] and stream["loss_window"][0] <= 1.0
    assert stream["lost"] >= 0.8 * SHORT["outage"] * 20


def test_traffic_flows_while_the_controller_is_down_and_restart_changes_no_flow(tmp_path):
    pairs, report = experiment("controller-restart", tmp_path)
    assert all(pair["lost"] == 0 for pair in pairs.values())
    assert report["injection"]["flows_before"] == report["restoration"]["flows_after"]
    assert all(
        card.get("deleted_on_connect") == 0
        for name, card in report["restoration"]["cards"].items()
        if name != "_controller"
    )


@pytest.mark.parametrize("name", ["nitro-crash", "link-down", "peering-deleted"])
def test_faults_cut_only_the_pairs_they_touch(name, tmp_path):
    pairs, report = experiment(name, tmp_path)
    hit = [p for p in pairs.values() if not p["survived"]]
    spared = [p for p in pairs.values() if p["survived"]]
    assert hit and spared
    for pair in hit:
        assert pair["time_to_recover"] is not None and pair["time_to_recover"] <= 2.0
    assert leftovers()["namespaces"] == []


def test_experiment_list_names_every_scenario():
    assert set(catalog.names()) == {
        "tgw-blackhole",
        "peering-deleted",
        "sg-rule-removed",
        "nacl-deny-added",
        "nitro-crash",
        "link-down",
        "controller-restart",
        "imds-ssrf",
        "lossy-link",
        "retry-storm",
        "path-failover",
        "privatelink-failover",
        "vpn-tunnel-down",
        "dx-failover",
    }
    assert os.path.exists(catalog.SCENARIOS)


def test_the_2019_breach_leaks_with_imdsv1_and_is_stopped_by_the_hop_limit_and_by_the_nacl(tmp_path):
    """The attacker's real requests through the real proxy to the card's metadata service."""
    report = catalog.load("imds-ssrf").execute(seed=1, out_dir=str(tmp_path), log=lambda line: None)
    assert report["as_expected"], {a["label"]: a["check"] for a in report["attacks"]}
    imdsv1, hop_one, hop_two, narrowed = report["attacks"]
    assert imdsv1["leaked"].startswith("ASIAFAKEVPCLAB") and imdsv1["took_ms"] < 1000
    assert [e["metadata_status"] for e in imdsv1["events"]] == [200, 200]
    token = hop_one["events"][1]
    assert (token["method"], token["metadata_status"], token["metadata_ttl"]) == ("PUT", 200, 1)
    assert token["proxy_upstream"] == "timed out" and token["status"] == 504
    assert hop_two["leaked"] and hop_two["events"][1]["metadata_ttl"] == 2
    assert narrowed["stopped_by"]["object"] == "bank/web-nacl ingress[2]"
    assert narrowed["events"][0]["proxy_received_ms"] is None
    assert all(a["customer"]["status"] == "200" for a in report["attacks"])
    assert (tmp_path / "attack.png").stat().st_size > 20_000
    assert leftovers()["namespaces"] == []


def test_privatelink_failover_takes_the_dead_target_out_and_back(tmp_path):
    """pay2's service dies under a consumer's calls through the endpoint; the NLB's health
    checks take it out within the threshold and put it back after its restart."""
    report = catalog.load("privatelink-failover").execute(
        seed=1, out_dir=str(tmp_path), log=lambda line: None
    )
    assert report["as_expected"], report["check"]
    assert report["removed_after"] < 1.5 and report["back_after"] < 3.0
    assert set(report["answered_by"]) == {"pay1", "pay2"}
    with open(tmp_path / "pay1-callers.log", encoding="utf-8") as handle:
        assert set(handle.read().split()) <= {"10.0.1.5", "10.0.2.5"}  # the NLB's addresses
    assert (tmp_path / "timeline.png").stat().st_size > 20_000
    assert leftovers()["namespaces"] == []
