"""The controller's load figures (issue 33, item 4): counts by kind and rates between two
snapshots; and the bench's busy design is one check accepts."""

import os
import sys

import pytest
import yaml

from controller.hyperplane.load import Load, rates
from vpclab.errors import Defect
from vpclab.intent.loader import load_topology

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")


def test_rates_between_two_snapshots_count_each_kind_per_second():
    now = [100.0]
    load = Load(clock=lambda: now[0])
    first = load.snapshot()
    for _ in range(30):
        load.came_in("route-probe")
        load.went_out("route-probe")
    load.came_in("health-check")
    load.came_in("pmtu")
    load.went_out("pmtu-error")
    now[0] += 10.0
    found = rates(first, load.snapshot())
    assert found["seconds"] == 10.0
    assert found["packet_ins"] == {
        "nd": 0.0,
        "pmtu": 0.1,
        "route-probe": 3.0,
        "route-probe-late": 0.0,
        "health-check": 0.1,
        "unclaimed": 0.0,
    }
    assert found["packet_outs"] == {
        "nd-advertisement": 0.0,
        "pmtu-error": 0.1,
        "route-probe": 3.0,
        "health-check": 0.0,
    }
    assert found["cpu_cores"] >= 0.0
    with pytest.raises(Defect, match="no packet-in kind 'syn'"):
        load.came_in("syn")  # no connection's packets come up: not a kind
    with pytest.raises(ValueError, match="same moment"):
        rates(first, first)


def test_the_bench_design_with_failover_routes_and_an_nlb_is_valid():
    sys.path.insert(0, os.path.abspath(BENCH))
    try:
        from bringup_scale import scaled
        from controller_load import busy
    finally:
        sys.path.remove(os.path.abspath(BENCH))
    topology = load_topology("busy.yaml", yaml.safe_dump(busy(scaled(64))))
    failover = [r for v in topology.vpcs for t in v.route_tables for r in t.routes if r.failover]
    assert len(failover) == 2 and len(topology.peerings) == 2
    assert topology.endpoint_services[0].load_balancer.health_check.interval == 10
