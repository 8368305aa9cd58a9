"""The 2022 cascade, measured: under the TGW blackhole, naive retries multiply the attempts on
the wire and fill the middle tier's pool; a circuit breaker keeps them near nothing and the
caller recovers within seconds of the restore."""

import dataclasses

from live_helpers import live

from experiments import catalog

pytestmark = live


def test_naive_retries_storm_and_a_circuit_breaker_does_not(tmp_path):
    scenario = dataclasses.replace(catalog.load("retry-storm"), warmup=2.0, outage=4.0, after=4.0)
    report = scenario.execute(out_dir=str(tmp_path), log=lambda line: None)
    results = {p["policy"]: p for p in report["policies"]}
    assert results["naive"]["amplification"] >= 3, results["naive"]
    assert results["naive"]["pool_full_s"] >= 2  # the middle tier's workers all wait on the backend
    assert results["breaker"]["amplification"] <= 1.5, results["breaker"]
    assert results["breaker"]["recovered_after"] is not None and results["breaker"]["recovered_after"] <= 3
    assert report["as_expected"]
    assert (tmp_path / "storm.png").stat().st_size > 10_000
