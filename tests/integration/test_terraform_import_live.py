"""A Terraform plan, imported, runs live: the seed's hub (modules, for_each, AWS's default TGW
tables disabled) and bank, built from `terraform show -json`, verify with no disagreement."""

import os

from live_helpers import live

from vpclab.aws_import import import_plan, render
from vpclab.intent.loader import load_topology
from vpclab.verify import report, verify

pytestmark = live
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
quiet = lambda line: None


def test_the_seed_s_terraform_plan_runs_and_every_probe_agrees_with_trace(tmp_path):
    plan = os.path.join(ROOT, "tests", "data", "terraform", "seed-hub-and-bank", "plan.json")
    design = tmp_path / "hub.yaml"
    design.write_text(render(import_plan(plan), plan))
    topology = load_topology(str(design))
    verification = verify(topology, log=quiet)
    assert verification.results and verification.agrees, report(verification, False)
    crossed = {(r.source, r.target) for r in verification.results if r.live and r.kind != "dns"}
    hub = {"svc1", "app1", "db1"}
    assert {(s, t) for s in hub for t in hub if s != t} <= crossed  # through the TGW, both ways
    assert not any(
        r.live
        for r in verification.results
        if "waf" in (r.source, r.target) and r.target != r.source and {r.source, r.target} & hub
    )  # the bank is no spoke
