"""`why`: a packet through the real flows (ovs-appctl ofproto/trace on each card, over the
tunnel) decides like the static trace on every pair of the examples, through an appliance, and
after a runtime change."""

import itertools

import pytest
from live_helpers import live, topology

from nitro_switch.emulation import Emulation
from vpclab.inspection.why import explain

pytestmark = live
quiet = lambda line: None
PROBES = {"three-tier.yaml": [(1, None), (6, 8080), (6, 5432)], "inspection.yaml": [(1, None), (6, 5432)]}


def explained(lab, source: str, target: str, protocol: int, port):
    intent = lab.applied_intent()
    design = intent.topology
    return explain(
        design,
        intent.data,
        lab.servers_by_name,
        design.instance(source),
        design.instance(target).ip,
        protocol,
        port,
    )


@pytest.mark.parametrize("name", sorted(PROBES))
def test_the_real_flows_decide_like_trace_on_every_pair(name):
    with Emulation(topology(name), log=quiet) as lab:
        results = []
        for source, target in itertools.permutations([i.name for i in lab.topology.instances], 2):
            for protocol, port in PROBES[name]:
                found = explained(lab, source, target, protocol, port)
                assert found.agree, "\n".join(found.lines)
                results.append(found)
        assert {r.live.accepted for r in results} == {True, False}  # both kinds of verdict were walked
        if name == "inspection.yaml":
            walk = explained(lab, "app1", "data1", 6, 5432).lines
            assert any("-> appliance           fw1 forwards it" in line for line in walk), walk
            assert sum(" -> VXLAN " in line for line in walk) >= 2


def test_after_a_runtime_change_the_real_flows_name_the_new_rule():
    with Emulation(topology("three-tier.yaml"), log=quiet) as lab:
        assert explained(lab, "web1", "app1", 6, 8080).live.accepted
        rule = {"rule": 50, "protocol": "tcp", "ports": 8080, "cidr": "10.20.1.0/24", "action": "deny"}
        lab.api.change("add-nacl-rule", vpc="shop", nacl="app-nacl", direction="ingress", rule=rule)
        found = explained(lab, "web1", "app1", 6, 8080)
        assert found.agree and not found.live.accepted
        assert found.live.origin == "vpcs[0].nacls[1].ingress[2]"  # the added rule, appended
        assert "shop/app-nacl ingress[2]" in found.lines[-3]


def test_vpclab_why_asks_the_cards_of_a_run_that_another_process_owns(capsys):
    from vpclab.errors import InvalidInput
    from vpclab.ui.cli import main

    with Emulation(topology("three-tier.yaml"), log=quiet):
        command = ["why", "three-tier", "web1", "db1", "--protocol", "tcp", "--port", "5432"]
        assert main(command) == 0
        said = capsys.readouterr().out.splitlines()
        assert said[-1].endswith(": they agree") and "by vpcs[0].nacls[2].ingress[*]" in said[-1]
        assert any(line.split()[:2] == ["srv3", "nacl_dst_ingress"] for line in said)
    assert main(["why", "three-tier", "web1", "db1"]) == InvalidInput.exit_code  # the run is gone
    assert "no running emulation of topology 'three-tier' here" in capsys.readouterr().err
