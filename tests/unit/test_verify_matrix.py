"""The reachability matrix `verify` prints: who reached whom live, on which ports."""

from dataclasses import replace

from vpc_fixtures import example

from vpclab.verify.live import Result, _compare
from vpclab.verify.matrix import reached, render
from vpclab.verify.plan import plan


def perfect_run(name: str) -> tuple[list[Result], list[str]]:
    """The results of a live run that answered exactly as trace says (no network needed)."""
    topology = example(name)
    probes = plan(topology, seed=1).probes
    results = _compare(topology, probes, [None] * len(probes), set(), set())
    results = [replace(r, live=r.trace) for r in results]
    return results, [i.name for i in topology.instances]


def test_three_tier_reaches_what_its_rules_admit_and_stars_the_stateless_return():
    results, instances = perfect_run("three-tier.yaml")
    cells = reached(results)
    assert cells[("web1", "app1")] == "tcp 8080"
    # db-nacl lets replies out to client ports 49152-65535 only: some clients fail
    assert cells[("app1", "db1")] == "tcp 5432*"
    assert ("db1", "web1") not in cells and ("web1", "db1") not in cells
    text = render(results, instances)
    lines = text.splitlines()
    assert lines[0] == "reachability, live (rows reach columns):"
    web1_row = next(line for line in lines if " web1 " in line)
    assert web1_row.split()[-3:] == ["\\", key_of(lines, "tcp 8080"), "."]
    assert "* = only from some client ports" in text and "! =" not in text


def key_of(lines: list[str], text: str) -> str:
    return next(line.split(" = ")[0].strip() for line in lines if line.endswith(f" = {text}"))


def test_a_design_without_port_rules_reaches_all_ports_everywhere():
    results, instances = perfect_run("tgw-incident.yaml")  # SGs and NACLs admit everything
    cells = reached(results)
    assert len(cells) == 6 and set(cells.values()) == {"tcp all; udp all; icmp"}
    assert "A = tcp all; udp all; icmp" in render(results, instances)


def test_a_pair_where_live_and_trace_disagree_is_marked():
    results, instances = perfect_run("peering.yaml")
    flipped = next(r for r in results if r.kind == "icmp" and (r.source, r.target) == ("web1", "build1"))
    results = [replace(r, live=not r.live) if r is flipped else r for r in results]
    text = render(results, instances)
    web1_row = next(line for line in text.splitlines() if " web1 " in line)
    assert web1_row.split()[-1] == "!"  # build1 is the third column
    assert "! = live and trace disagree on this pair" in text


def test_a_segment_reached_only_by_some_probes_is_starred_and_one_never_reached_is_absent():
    base = Result("port", "a", "b", "tcp/80", 40000, True, True, None, None, segment=(80, 80))
    results = [
        base,
        replace(base, kind="client-port", client_port=33000, live=False),
        replace(base, probe="tcp/81", segment=(81, 90)),
        replace(base, probe="tcp/95", segment=(91, 100)),
        replace(base, probe="tcp/101", segment=(101, 65535), live=False),
        replace(base, kind="icmp", probe="icmp", segment=None),
    ]
    assert reached(results) == {("a", "b"): "tcp 80*, 81-100; icmp"}
