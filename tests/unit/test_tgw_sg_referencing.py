"""Security-group referencing across a transit gateway (AWS, 2024): inbound rules only, with the
option on the TGW (off by default) and not turned off on either attachment (on by default)."""

import pytest
from fakeswitch import FakeFabric, connection, decided_alike
from vpc_fixtures import load, problems, verdict

from controller.compiler import compile_topology
from vpclab.oracle.trace import trace

DESIGN = """\
name: sgref
vpcs:
  - name: app
    cidr: 10.1.0.0/16
    subnets: [{name: s, cidr: 10.1.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
    security_groups:
      - name: app-sg
        egress: %(egress)s
    instances:
      - {name: a1, subnet: s, security_groups: [app-sg]}
      - {name: a2, subnet: s}
  - name: db
    cidr: 10.2.0.0/16
    subnets: [{name: s, cidr: 10.2.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
    security_groups:
      - name: db-sg
        ingress:
          - {protocol: tcp, ports: 5432, security_group: app-sg}
          - {protocol: icmp, security_group: app-sg}
    instances: [{name: d1, subnet: s, security_groups: [db-sg]}]
  - name: insp
    cidr: 10.3.0.0/16
    subnets: [{name: s, cidr: 10.3.1.0/24}]
    route_tables: [{name: rt, main: true, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
transit_gateways:
  - name: core
    security_group_referencing_support: %(tgw)s
    attachments:
      - {name: app-att, vpc: app, subnets: [s], security_group_referencing_support: %(app_att)s}
      - {name: db-att, vpc: db, subnets: [s]}
      - {name: insp-att, vpc: insp, subnets: [s]}
    route_tables:
%(tables)s
"""
ONE_TABLE = """\
      - {name: rt, associations: [app-att, db-att, insp-att], propagations: [app-att, db-att, insp-att]}
"""
INSPECTED = """\
      - name: spokes
        associations: [app-att, db-att]
        routes: [{destination: 10.0.0.0/8, attachment: insp-att}]
      - {name: insp, associations: [insp-att], propagations: [app-att, db-att]}
"""


def design(tgw="true", app_att="true", tables=ONE_TABLE, egress="[{protocol: all, cidr: 0.0.0.0/0}]"):
    return DESIGN % {"tgw": tgw, "app_att": app_att, "tables": tables, "egress": egress}


def test_an_inbound_rule_admits_members_of_an_sg_across_the_tgw():
    topology = load(design())
    admitted = verdict(topology, "a1", "d1", "tcp", 5432)
    assert admitted.accepted and admitted.rule == "vpcs[1].security_groups[0].ingress[0]"
    refused = verdict(topology, "a2", "d1", "tcp", 5432)  # a2 is not in app-sg
    assert (refused.reason, refused.rule) == ("sg-ingress", "vpcs[1].security_groups[0]")


@pytest.mark.parametrize(
    "options, why",
    [
        ({"app_att": "false"}, "the sender's attachment turned the option off"),
        ({"tables": INSPECTED}, "the packet hairpins through an inspection VPC"),
    ],
)
def test_the_reference_does_not_match(options, why):
    refused = verdict(load(design(**options)), "a1", "d1", "tcp", 5432)
    assert (refused.reason, refused.direction) == ("sg-ingress", "forward"), why


def test_without_the_tgw_option_the_reference_is_refused():
    error = "\n".join(problems(design(tgw="false")))
    assert "vpcs[1].security_groups[0].ingress[0].security_group: security group 'app-sg'" in error
    assert "security_group_referencing_support: true" in error


def test_an_outbound_rule_may_not_name_an_sg_across_the_tgw():
    error = "\n".join(problems(design(egress="[{protocol: all, security_group: db-sg}]")))
    assert "vpcs[0].security_groups[0].egress[0].security_group" in error
    assert "only inbound rules" in error


@pytest.mark.parametrize("options", [{}, {"app_att": "false"}, {"tables": INSPECTED}])
@pytest.mark.parametrize("protocol, port", [(6, 5432), (1, None)])
def test_the_cards_decide_like_trace(options, protocol, port):
    topology = load(design(**options))
    fabric = FakeFabric(compile_topology(topology))
    for source in topology.instances:
        for target in topology.instances:
            if source != target:
                expected = trace(
                    topology, source, target.ip, protocol, port, source_port=40000 if port else None
                )
                decided = connection(fabric, source.name, target.name, protocol, port)
                assert decided_alike(expected, *decided), f"{source.name}->{target.name}"
