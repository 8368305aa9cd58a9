"""`vpclab fuzz` live: random designs agree with trace; a mismatch is saved and shrunk."""

import yaml
from live_helpers import live

from vpclab.fuzz.run import fuzz, run_seed
from vpclab.verify import live as verify_live

pytestmark = live


def test_a_few_random_designs_agree_with_trace(tmp_path):
    outcomes = fuzz(3, 0, tmp_path, log=lambda line: None)
    assert [o.ok for o in outcomes] == [True] * 3, [o.summary for o in outcomes]
    assert not list(tmp_path.iterdir())  # nothing saved when everything agrees


def test_a_mismatch_is_saved_with_a_smaller_design_that_still_shows_it(tmp_path, monkeypatch):
    """An oracle that wrongly expects VPC routers to answer pings: the fuzzer must catch it,
    save the design, and shrink it to one that still disagrees."""
    honest = verify_live.expected

    def wrong_about_routers(topology, probe):
        answered, reason, rule = honest(topology, probe)
        return (True, reason, rule) if probe.kind == "router" else (answered, reason, rule)

    monkeypatch.setattr(verify_live, "expected", wrong_about_routers)
    outcome = run_seed(1, tmp_path, log=lambda line: None, shrink_budget=4)
    assert not outcome.ok and "MISMATCH" in outcome.summary and "[router]" in outcome.summary
    original, minimal = (
        yaml.safe_load((tmp_path / name).read_text()) for name in ("seed-1.yaml", "seed-1-minimal.yaml")
    )
    count = lambda data: sum(len(v.get("instances", [])) for v in data["vpcs"]) + len(data["vpcs"])
    assert count(minimal) < count(original)
    assert "MISMATCH" in (tmp_path / "seed-1-minimal.yaml").read_text().splitlines()[0]
