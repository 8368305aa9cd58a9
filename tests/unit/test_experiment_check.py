"""An experiment's report says, per pair, whether it did what the scenario expects: checked by
code on the probes' samples (no network: the samples are made up here)."""

from experiments.harness import INTERRUPTED, UNAFFECTED, Probe, Scenario, analyse

T0 = 1_000.0  # the injection, on the hosts' clock
RESTORE = 3.0  # seconds after the injection


def samples(lost_between=None, answered_at=()):
    """20 probes a second from 2 s before the injection to 3 s after the restore; the ones
    sent inside ``lost_between`` are lost, except those sent at ``answered_at``."""
    out = []
    for n in range(int(20 * (2 + RESTORE + 3))):
        sent = -2 + n / 20
        lost = lost_between and lost_between[0] <= sent < lost_between[1]
        lost = lost and not any(abs(sent - t) < 1e-9 for t in answered_at)
        out.append([n, T0 + sent, None if lost else 0.1])
    return out


def verdict(expect, pair_samples):
    scenario = Scenario("s", "d", "t.yaml", [Probe("a", "b", expect=expect)], print, print)
    report = analyse(scenario, "t", 0, T0, T0 + 0.01, T0 + RESTORE, [pair_samples], {}, {})
    return report["pairs"][0], report


def test_unaffected_means_no_probe_lost():
    pair, report = verdict(UNAFFECTED, samples())
    assert pair["as_expected"] and report["as_expected"] and pair["check"] == "no probe lost (160 sent)"
    pair, report = verdict(UNAFFECTED, samples((1.0, 1.2)))
    assert not pair["as_expected"] and not report["as_expected"]
    assert pair["check"] == "4 of 160 probes lost, none expected"


def test_interrupted_means_a_hole_from_the_fault_to_the_repair():
    pair, _ = verdict(INTERRUPTED, samples((0.025, RESTORE + 0.125)))
    assert pair["as_expected"], pair["check"]
    assert pair["check"].startswith("lost from 0.05 s to 3.10 s after the injection, answered again 0.15 s")


def test_a_probe_sent_just_before_the_repair_may_be_answered_after_it():
    pair, _ = verdict(INTERRUPTED, samples((0.025, RESTORE + 0.125), answered_at=[RESTORE - 0.2]))
    assert pair["as_expected"], pair["check"]


def test_interrupted_fails_on_answers_in_the_outage_early_losses_or_no_recovery():
    pair, _ = verdict(INTERRUPTED, samples((0.025, RESTORE + 0.125), answered_at=[1.5, 2.0]))
    assert not pair["as_expected"] and pair["check"] == "2 answered during the outage"
    pair, _ = verdict(INTERRUPTED, samples((-1.0, RESTORE + 0.1)))
    assert not pair["as_expected"] and "lost before the injection" in pair["check"]
    pair, _ = verdict(INTERRUPTED, samples((0.025, 99)))
    assert not pair["as_expected"] and "never answered again after the restore" in pair["check"]
    pair, _ = verdict(INTERRUPTED, samples())
    assert not pair["as_expected"] and pair["check"] == "nothing lost after the injection"


def test_a_tunnel_failover_is_as_expected_only_within_the_hold_time_and_back_without_loss():
    from experiments.flowlogs import failover_phases, logged_paths
    from experiments.tunnel_failover import check, measure

    changes = [
        {
            "operation": "tunnel-state",
            "time": 102.5,
            "arguments": {"connection": "c", "tunnel": 1, "up": False},
            "summary": "down",
        },
        {
            "operation": "tunnel-state",
            "time": 109.0,
            "arguments": {"connection": "c", "tunnel": 1, "up": True},
            "summary": "up",
        },
    ]

    def report(lost_until: float, during: str = "c:tunnel2") -> dict:
        samples = [(n, 100 + n / 10, None if 0 <= n / 10 < lost_until else 0.001) for n in range(-20, 140)]
        pair = measure("a->b", "c", 1, [(i, t, r) for i, t, r in samples], changes, 100.0, 108.0)
        pair["flow_log_paths"] = logged_paths(
            _records("c:tunnel1", during), ("10.1.1.4", "172.16.1.10"), failover_phases(100, 4, 108, 116)
        )
        return {"hold_time": 3, "tunnel": 1, "pairs": [pair]}

    good = report(2.5)
    assert good["pairs"][0]["down_after"] == 2.5 and good["pairs"][0]["up_after_repair"] == 1.0
    assert good["pairs"][0]["flow_log_paths"]["during"] == {
        "to the site": ["c:tunnel2"],
        "from the site": ["c:tunnel2"],
    }
    assert check(good)[0], check(good)[1]
    late = report(4.5)
    assert not check(late)[0] and "a probe lost 4.4 s after the cut (limit 4.0 s)" in check(late)[1]
    stayed = report(2.5, during="c:tunnel1")  # the flow logs say the cut tunnel carried it
    assert not check(stayed)[0]
    assert (
        "a->b: during the outage the flow logs name ['c:tunnel1'] to the site, not ['c:tunnel2']"
        in check(stayed)[1]
    )


def _records(usual: str, during: str) -> list:
    """Flow log records of 10.1.1.4 <-> 172.16.1.10 each way, two seconds each from 94 to 118,
    on ``usual`` but from 102 to 108 on ``during`` (the cut at 100, the repair at 108), and
    both in the record that spans each move."""
    from agents.flowlog_records import FlowLogRecord

    found = []
    for start in range(94, 118, 2):
        path = during if 102 <= start < 108 else usual
        path = f"{usual},{during}" if start == 100 else path
        for source, destination in (("10.1.1.4", "172.16.1.10"), ("172.16.1.10", "10.1.1.4")):
            found.append(
                (
                    "log",
                    FlowLogRecord(
                        "eni-a",
                        source,
                        destination,
                        0,
                        0,
                        1,
                        100,
                        8400,
                        start,
                        start + 1,
                        "ACCEPT",
                        "-",
                        path=path,
                    ),
                )
            )
    return found


def test_a_dx_failover_is_as_expected_only_if_the_traffic_moves_to_the_vpn_and_back():
    from experiments.dx_failover import PATHS, check, measure
    from experiments.flowlogs import failover_phases, logged_paths
    from experiments.scenarios.dx_failover import SCENARIO

    changes = [
        {"operation": "dx-state", "time": 102.8, "arguments": {"connection": "dx1", "up": False}},
        {"operation": "dx-state", "time": 108.3, "arguments": {"connection": "dx1", "up": True}},
    ]
    samples = [(n, 100 + n / 10, None if 0 <= n / 10 < 2.8 else 0.001) for n in range(-20, 140)]

    def rates(during_on: str) -> list:
        """Every quarter second: 50 packets/s each way on the DX outside the outage, on
        ``during_on`` inside it."""
        found = []
        for k in range(-8, 57):
            t = k / 4
            way = during_on if 0 <= t < 8 else "dx"
            found.append((t, {p: 50.0 if p.endswith(way) else 1.0 for p in PATHS}))
        return found

    phases = failover_phases(100, 4, 108, 116)
    ends = ("10.1.1.4", "172.16.1.10")
    good = measure(SCENARIO, samples, changes, rates("vpn"), 100.0, 108.0)
    good["flow_log_paths"] = logged_paths(_records("dx1", "dc1-vpn:tunnel1"), ends, phases)
    assert good["down_after"] == 2.8 and good["up_after_repair"] == 0.3 and good["cut_off_s"] == 2.72
    assert good["paths"]["during"] == ["to the site by vpn", "from the site by vpn"]
    assert good["flow_log_paths"]["before"] == {"to the site": ["dx1"], "from the site": ["dx1"]}
    assert check(good)[0], check(good)[1]
    stuck = measure(SCENARIO, samples, changes, rates("dx"), 100.0, 108.0)  # never left the link
    stuck["flow_log_paths"] = good["flow_log_paths"]
    assert not check(stuck)[0] and "during the outage the traffic took" in check(stuck)[1]
    unnamed = dict(good, flow_log_paths=logged_paths(_records("-", "-"), ends, phases))  # no path sampled
    assert (
        not check(unnamed)[0]
        and "before the outage the flow logs name no path to the site" in check(unnamed)[1]
    )
