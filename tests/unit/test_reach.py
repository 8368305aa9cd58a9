"""`reach`: every ordered pair's verdict from one trace per pair of equivalence classes must be
what trace says of that very pair (checked on every pair of random and example designs)."""

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from test_properties import PROTOCOLS, SETTINGS, build, topologies
from vpc_fixtures import example

from vpclab.fuzz.generate import generate
from vpclab.intent import model as m
from vpclab.intent.loader import load_topology
from vpclab.oracle.reach import ELSEWHERE, equivalence_classes, reach
from vpclab.oracle.trace import trace


def by_trace(topology, protocol, port) -> dict:
    """Every pair asked of trace itself: (accepted, reason, rule); accepted only if the request
    reached that target (not another instance with the same address)."""
    answers = {}
    for source in topology.instances:
        for target in topology.instances:
            if source.name == target.name:
                continue
            verdict = trace(topology, source, target.ip, protocol, port)
            if verdict.accepted and verdict.delivered_to != target.name:
                answers[source.name, target.name] = (False, ELSEWHERE, verdict.rule)
            else:
                answers[source.name, target.name] = (verdict.accepted, verdict.reason, verdict.rule)
    return answers


def by_reach(topology, protocol, port) -> dict:
    found = reach(topology, protocol, port).verdicts
    return {pair: (v.accepted, v.reason, v.rule) for pair, v in found.items()}


@SETTINGS
@given(topologies(), st.sampled_from(PROTOCOLS))
def test_reach_agrees_with_trace_on_every_pair_of_random_designs(data, probe):
    topology = build(data)
    protocol, port = m.PROTOCOL_NUMBERS[probe[0]], probe[1]
    assert by_reach(topology, protocol, port) == by_trace(topology, protocol, port)


@pytest.mark.parametrize("seed", range(12))
def test_reach_agrees_with_trace_on_the_fuzzer_s_designs(seed):
    """Reused CIDRs, peerings, TGWs with inspection hairpins, port ranges, SG references."""
    topology = load_topology(f"fuzz-{seed}.yaml", yaml.safe_dump(generate(seed)))
    for protocol, port in [(1, None), (6, 443), (17, 53)]:
        assert by_reach(topology, protocol, port) == by_trace(topology, protocol, port)


def test_instances_that_nothing_tells_apart_share_a_class_and_one_trace():
    data = yaml.safe_load(open("topologies/three-tier.yaml", encoding="utf-8"))
    web = data["vpcs"][0]["instances"][0]
    data["vpcs"][0]["instances"] += [{**web, "name": f"web{n}"} for n in range(2, 6)]
    for extra in data["vpcs"][0]["instances"][-4:]:
        extra.pop("ip", None)
    topology = load_topology("five-webs.yaml", yaml.safe_dump(data))
    classes = equivalence_classes(topology)
    assert sorted(len(c) for c in classes) == [1, 1, 5]  # five webs, app1, db1
    found = reach(topology, 6, 8080)
    assert (
        found.traces == 7 and len(found.verdicts) == 7 * 6
    )  # 3 x 3 classes, less app1 and db1 to themselves
    assert found.verdicts["web4", "app1"].accepted and not found.verdicts["web4", "web2"].accepted


def test_a_cidr_rule_that_splits_a_subnet_splits_its_class():
    data = yaml.safe_load(open("topologies/three-tier.yaml", encoding="utf-8"))
    vpc = data["vpcs"][0]
    web = vpc["instances"][0]
    vpc["instances"].append({**web, "name": "web2", "ip": "10.20.1.200"})
    vpc["security_groups"][1]["ingress"].append({"protocol": "tcp", "ports": 9000, "cidr": "10.20.1.200/32"})
    topology = load_topology("split.yaml", yaml.safe_dump(data))
    assert len(equivalence_classes(topology)) == 4  # web1 and web2 are told apart by the /32
    for protocol, port in [(6, 9000), (6, 8080), (1, None)]:
        assert by_reach(topology, protocol, port) == by_trace(topology, protocol, port)


def test_examples_agree_pair_by_pair():
    for name in ("three-tier.yaml", "peering.yaml", "tgw-incident.yaml", "inspection.yaml", "open-sg.yaml"):
        topology = example(name)
        assert by_reach(topology, 6, 22) == by_trace(topology, 6, 22), name


def test_the_reach_command_prints_classes_json_a_heat_map_and_a_diff(tmp_path, capsys):
    import json

    from vpclab.ui.cli import main

    assert (
        main(["reach", "topologies/three-tier.yaml", "--port", "8080", "--png", str(tmp_path / "m.png")]) == 0
    )
    text = capsys.readouterr().out
    assert text.startswith("three-tier, tcp/8080: 6 pairs, 1 accepted, 5 dropped (3 classes of instances")
    assert "  shop/web {web1} -> shop/app {app1}: accepted [vpcs[0].security_groups[1].ingress[0]]" in text
    assert (tmp_path / "m.png").stat().st_size > 10_000
    assert main(["reach", "topologies/peering.yaml", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["protocol"] == "icmp" and answer["pairs"] == 6 == len(answer["verdicts"])
    web2_build1 = next(v for v in answer["verdicts"] if (v["source"], v["target"]) == ("web2", "build1"))
    assert web2_build1["verdict"] == "accepted"
    changed = tmp_path / "changed.yaml"
    data = yaml.safe_load(open("topologies/peering.yaml", encoding="utf-8"))
    data["vpcs"][0]["security_groups"][0]["ingress"].append({"protocol": "icmp", "cidr": "10.1.0.0/16"})
    changed.write_text(yaml.safe_dump(data))
    assert main(["reach", "--diff", "topologies/peering.yaml", str(changed)]) == 0
    diff = capsys.readouterr().out.splitlines()
    assert diff[0] == "icmp: 2 opened, 0 closed, 0 dropped otherwise"
    assert diff[1].startswith(
        "opened             build1 -> web1: accepted [vpcs[0].security_groups[0].ingress[2]]"
    )
    assert main(["reach"]) == 2 and "name a topology, or --diff A B" in capsys.readouterr().err


def test_a_sites_hosts_are_in_the_matrix_each_a_class_of_its_own(tmp_path):
    from pathlib import Path

    from vpclab.intent.loader import load_topology
    from vpclab.oracle.reach import reach
    from vpclab.oracle.trace import trace
    from vpclab.ui.reach_view import heat_map

    topology = load_topology(str(Path(__file__).resolve().parents[2] / "topologies" / "hybrid.yaml"))
    found = reach(topology, 1)
    assert [[e.name for e in c] for c in found.classes][-2:] == [["erp1"], ["files1"]]
    assert len(found.verdicts) == 4 * 3  # every ordered pair of svc1, app1, erp1, files1
    for (source, target), verdict in found.verdicts.items():
        traced = trace(topology, topology.endpoint(source), topology.endpoint(target).ip, 1)
        assert (verdict.accepted, verdict.reason) == (traced.accepted, traced.reason), (source, target)
    assert found.verdicts["files1", "svc1"].reason == "site-no-route"  # dc2 hears only app's CIDR
    heat_map(topology, found, "icmp", str(tmp_path / "reach.png"))
    assert (tmp_path / "reach.png").stat().st_size > 10_000
