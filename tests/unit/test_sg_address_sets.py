"""SG references as address sets: one flow per member address and one per rule, never one per
(member x rule x instance); they still decide like trace, over peerings too."""

import pytest
from fakeswitch import FakeFabric, connection, decided_alike
from vpc_fixtures import load

from controller.compiler import compile_topology
from controller.compiler.security_groups import TooManyGroups
from vpclab.oracle.trace import trace

PEERED = """\
name: peered-refs
servers: 2
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets: [{name: web, cidr: 10.0.1.0/24}, {name: db, cidr: 10.0.2.0/24, route_table: db-rt}]
    route_tables:
      - {name: rt, main: true, routes: [{destination: 10.1.0.0/16, peering: p}]}
      - {name: db-rt, routes: [%(db_route)s]}
    security_groups:
      - name: web-sg
        egress:
          - {protocol: tcp, ports: "440-450", security_group: build-sg}
          - {protocol: icmp, security_group: db-sg}
        ingress: [{protocol: all, cidr: 10.0.0.0/8}]
      - name: db-sg
        egress: [{protocol: tcp, ports: 443, security_group: build-sg}]
        ingress: [{protocol: all, cidr: 10.0.0.0/8}]
    instances:
      - {name: web1, subnet: web, security_groups: [web-sg]}
      - {name: web2, subnet: web, security_groups: [web-sg, db-sg]}
      - {name: db1, subnet: db, security_groups: [db-sg]}
  - name: dev
    cidr: 10.1.0.0/16
    subnets: [{name: build, cidr: 10.1.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/16, peering: p}]}]
    security_groups:
      - name: build-sg
        ingress: [{protocol: tcp, ports: 443, security_group: db-sg}, {protocol: icmp, cidr: 10.0.0.0/8}]
    instances:
      - {name: build1, subnet: build, security_groups: [build-sg]}
      - {name: build2, subnet: build}
peerings:
  - {name: p, requester: prod, accepter: dev}
"""
PROBES = [(1, None), (6, 443), (6, 445), (6, 22)]


@pytest.mark.parametrize(
    "db_route", ["{destination: 10.1.0.0/16, peering: p}", "{destination: 10.1.0.0/16, blackhole: true}"]
)
def test_references_to_a_peered_vpc_decide_like_trace(db_route):
    topology = load(PEERED % {"db_route": db_route})
    fabric = FakeFabric(compile_topology(topology))
    for source in topology.instances:
        for target in topology.instances:
            for protocol, port in PROBES if source != target else ():
                source_port = 40000 if port else None
                expected = trace(topology, source, target.ip, protocol, port, source_port=source_port)
                decided = connection(fabric, source.name, target.name, protocol, port)
                assert decided_alike(expected, *decided), f"{source.name}->{target.name} {protocol}/{port}"


def _one_vpc(instances: int, servers: int = 1) -> str:
    members = "\n".join(
        f"      - {{name: n{n}, subnet: s, security_groups: [mesh-sg]}}" for n in range(instances)
    )
    return f"""\
name: mesh
servers: {servers}
vpcs:
  - name: v
    cidr: 10.0.0.0/16
    subnets: [{{name: s, cidr: 10.0.0.0/20}}]
    security_groups:
      - name: mesh-sg
        ingress: [{{protocol: tcp, ports: "8000-8100", security_group: mesh-sg}}]
        egress: [{{protocol: tcp, ports: "8000-8100", security_group: mesh-sg}}]
    instances:
{members}
"""


def test_flows_grow_linearly_with_the_members_of_a_referenced_group():
    counts = {n: len(compile_topology(load(_one_vpc(n))).flows["srv1"]) for n in (16, 32, 64)}
    # doubling the instances on one card at most doubles (plus a constant) its flows
    assert counts[64] - counts[32] <= 2 * (counts[32] - counts[16]) + 8, counts
    assert counts[64] < 64 * 40, counts  # was ~64 x 64 x (port blocks) before address sets


def test_arp_for_an_own_address_is_not_answered_but_a_neighbours_is():
    compiled = compile_topology(load(_one_vpc(3)))
    fabric = FakeFabric(compiled)
    n0 = compiled.plan.instances["n0"]

    def ask(address):
        packet = {"in_port": n0.port, "eth_type": 0x0806, "arp_op": 1, "arp_tpa": address}
        return fabric.send("srv1", packet).arp_replies

    assert ask(str(n0.instance.ip)) == []
    assert ask(str(compiled.plan.instances["n1"].instance.ip))[0][2] == compiled.plan.instances["n1"].mac


def many_groups_design() -> str:
    """One instance whose SG names 130 SGs: more than a card's registers hold."""
    groups = "\n".join(f"      - {{name: g{n}}}" for n in range(130))
    rules = ", ".join(f"{{protocol: tcp, ports: 22, security_group: g{n}}}" for n in range(130))
    design = f"""\
name: many
quotas: {{rules_per_security_group: 200}}  # AWS raises it as far as 1000
vpcs:
  - name: v
    cidr: 10.0.0.0/16
    subnets: [{{name: s, cidr: 10.0.0.0/20}}]
    security_groups:
      - name: wide
        ingress: [{rules}]
{groups}
    instances: [{{name: a, subnet: s, security_groups: [wide]}}]
"""
    return design


def test_a_card_refuses_more_referenced_groups_than_its_registers_hold():
    with pytest.raises(TooManyGroups, match="at most 128"):
        compile_topology(load(many_groups_design()))


def test_check_refuses_a_design_a_card_cannot_hold_before_anything_is_built(tmp_path, capsys):
    from vpclab.errors import InvalidInput
    from vpclab.ui.cli import main

    path = tmp_path / "many.yaml"
    path.write_text(many_groups_design())
    assert main(["check", str(path)]) == InvalidInput.exit_code
    said = capsys.readouterr().err
    assert f"vpclab check: {path}: srv1: its instances' ingress rules name 130 security groups" in said
