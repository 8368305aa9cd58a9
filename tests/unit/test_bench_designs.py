"""Every design a bench builds passes check: a rule check adds (an AWS quota, say) must not
stop `make bench` halfway, which no other test would see."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

from vpclab.intent.loader import load_topology, topology_from_data

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))


def test_the_flows_bench_designs_check_at_every_rule_count():
    import flows

    for count in flows.COUNTS:
        assert load_topology("bench-flows.yaml", flows.topology_text(count, count)).instances


@pytest.mark.parametrize("instances", [64, 512])
def test_the_reach_bench_designs_check(instances):
    import reach

    assert topology_from_data("reach.yaml", reach.design(instances)).instances


@pytest.mark.parametrize("vpcs", [4, 32])
def test_the_scale_bench_hubs_check(vpcs):
    import scale

    assert topology_from_data("hub.yaml", scale.hub(vpcs)).instances


def test_the_bring_up_bench_and_the_busy_controller_design_check():
    import bringup
    import controller_load
    import throughput

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench-up.yaml")
        bringup.bench_topology(path)
        topology = load_topology(path)
    assert topology.instances
    assert throughput.design(9001).instances
    for name in ("connections.yaml", "throughput.yaml"):
        assert load_topology(str(BENCH / name)).instances
    busy = controller_load.busy(controller_load.scaled(512))
    assert topology_from_data("busy.yaml", busy).endpoint_services
