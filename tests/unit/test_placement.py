"""No design that `check` accepts fails to compile because of where its instances are placed:
every bundled design, the twin-address designs and fuzz seeds, with instances and NAT gateways
moved to any server of their AZ (issue 33: two VPCs' twin addresses with public IPs on one card
compiled to one flow, and only some placements showed it)."""

import copy
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_internet_edge import TWIN, TWIN_NAT

from controller.compiler import compile_topology
from controller.compiler.security_groups import TooManyGroups
from vpclab.fuzz.generate import generate
from vpclab.intent.loader import topology_from_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOPOLOGIES = sorted(f for f in os.listdir(os.path.join(ROOT, "topologies")) if f.endswith(".yaml"))


def bundled(name: str) -> dict:
    with open(os.path.join(ROOT, "topologies", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


DESIGNS = {
    **{name: bundled(name) for name in TOPOLOGIES},
    "twin": {**yaml.safe_load(TWIN), "servers": 3},  # the search must find the placement that pairs them
    "twin-nat": {**yaml.safe_load(TWIN_NAT), "servers": 3},
    **{f"fuzz-{seed}": generate(seed) for seed in (1, 7, 23, 42)},
}


def movable(data: dict):
    """Every placeable thing of a valid design: (its YAML mapping, the servers it may go on)."""
    topology = topology_from_data("placed.yaml", data)
    servers = topology.servers
    for v, vpc in enumerate(data["vpcs"]):
        model = topology.vpc(vpc["name"])
        for family in ("instances", "nat_gateways"):
            for item in vpc.get(family, []):
                az = model.subnet(item["subnet"]).az
                fits = [s.name for s in servers if s.az in (None, az) and s.region in (None, model.region)]
                yield (v, family, item["name"]), fits


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(DESIGNS)), data=st.data())
def test_every_placement_of_a_valid_design_compiles(name, data):
    design = copy.deepcopy(DESIGNS[name])
    if isinstance(design.get("servers"), int):
        design["servers"] = [{"name": f"srv{n}"} for n in range(1, design["servers"] + 1)]
    choices = dict(movable(design))
    for v, vpc in enumerate(design["vpcs"]):
        for family in ("instances", "nat_gateways"):
            for item in vpc.get(family, []):
                item["server"] = data.draw(st.sampled_from(choices[v, family, item["name"]]))
    topology = topology_from_data("placed.yaml", design)
    try:
        compile_topology(topology)
    except TooManyGroups:  # a capacity check refuses it with a message, as `check` does
        pass


@pytest.mark.parametrize("name", ["twin", "twin-nat"])
def test_the_twins_compile_on_one_server(name):
    design = {**yaml.safe_load(TWIN if name == "twin" else TWIN_NAT)}
    assert design["servers"] == 1
    compile_topology(topology_from_data("placed.yaml", design))
