"""NAT gateways (issue 11, item 3): the loader's checks, trace's verdicts for every NAT path
and drop code, and the compiled cards (fake switches with conntrack NAT) deciding as trace does.
"""

import textwrap
from ipaddress import IPv4Address

import pytest
import yaml
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange, instance_packet
from vpc_fixtures import example, load, problems

from controller.compiler import compile_topology, recompile
from vpclab.intent.changes import Intent
from vpclab.oracle.trace import trace

NAT = """
    name: nat
    servers: 2
    internet:
      hosts:
        - {name: client, ip: 198.51.100.10}
    vpcs:
      - name: prod
        cidr: 10.0.0.0/16
        internet_gateway: igw-prod
        subnets:
          - {name: public, cidr: 10.0.1.0/24, route_table: public-rt, nacl: public-nacl}
          - {name: private, cidr: 10.0.2.0/24, route_table: private-rt}
          - {name: stranded, cidr: 10.0.3.0/24, route_table: stranded-rt}
          - {name: dead-end, cidr: 10.0.4.0/24, route_table: dead-end-rt}
        route_tables:
          - name: public-rt
            routes:
              - {destination: 0.0.0.0/0, internet_gateway: igw-prod}
          - name: private-rt
            routes:
              - {destination: 0.0.0.0/0, nat_gateway: nat-a}
          - name: stranded-rt
            routes:
              - {destination: 0.0.0.0/0, nat_gateway: nat-dead}
          - name: dead-end-rt
            routes:
              - {destination: 192.0.2.0/24, internet_gateway: igw-prod}
        nacls:
          - name: public-nacl
            ingress:
              - {rule: 80, protocol: tcp, ports: 50000-50010, cidr: 198.51.100.0/24, action: deny}
              - {rule: 90, protocol: tcp, ports: 25, cidr: 10.0.2.0/24, action: deny}
              - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
            egress:
              - {rule: 90, protocol: tcp, ports: 8443, cidr: 0.0.0.0/0, action: deny}
              - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
        nat_gateways:
          - {name: nat-a, subnet: public, public_ip: 203.0.113.50}
          - {name: nat-dead, subnet: dead-end}
        instances:
          - {name: web, subnet: public, public_ip: true}
          - {name: app, subnet: private}
          - {name: app2, subnet: private}
          - {name: lost, subnet: stranded}
"""


# -- the loader ------------------------------------------------------------------------------
def test_a_nat_gateway_gets_its_subnets_first_free_address_after_the_instances_and_an_eip():
    topology = load(NAT)
    nat_a, dead = topology.vpc("prod").nat_gateways
    assert (nat_a.ip, nat_a.public_ip) == (IPv4Address("10.0.1.5"), IPv4Address("203.0.113.50"))
    assert (dead.ip, dead.public_ip) == (IPv4Address("10.0.4.4"), IPv4Address("203.0.113.2"))
    assert nat_a.public_ip_origin == "vpcs[0].nat_gateways[0].public_ip"
    assert dead.public_ip_origin == "vpcs[0].nat_gateways[1]"  # from the pool: no key to name
    assert topology.nat_gateway_with_public_ip(IPv4Address("203.0.113.50")) == nat_a


@pytest.mark.parametrize(
    "change, expected",
    [
        (("nat_gateway: nat-dead}", "nat_gateway: nat-x}"), "no NAT gateway 'nat-x' in VPC 'prod'"),
        (("subnet: dead-end}", "subnet: stranded}"), "routes 0.0.0.0/0 to this NAT gateway itself"),
        (("subnet: dead-end}", "subnet: nowhere}"), "no subnet 'nowhere' in VPC 'prod'"),
        (("public_ip: 203.0.113.50", "public_ip: 8.8.8.8"), "8.8.8.8 is not a documentation address"),
        (("name: nat-dead,", "name: nat-a,"), "NAT gateway 'nat-a' is already defined"),
        (
            ("public_ip: 203.0.113.50", "public_ip: 198.51.100.10"),
            "198.51.100.10 is already used by internet",
        ),
    ],
)
def test_the_loader_refuses_a_nat_gateway_that_cannot_work(change, expected):
    found = problems(NAT.replace(*change))
    assert any(expected in line for line in found), found


# -- trace -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, destination, port, source_port, accepted, reason, direction, rule",
    [
        # out through nat-a and back
        ("app", "198.51.100.10", 443, 40000, True, None, "return", "internet.hosts[0]"),
        # the NAT gateway's subnet NACL: in (from the private subnet), out, and the reply in
        (
            "app",
            "198.51.100.10",
            25,
            40000,
            False,
            "nacl-ingress",
            "forward",
            "vpcs[0].nacls[0].ingress[1]",
        ),
        (
            "app",
            "198.51.100.10",
            8443,
            40000,
            False,
            "nacl-egress",
            "forward",
            "vpcs[0].nacls[0].egress[0]",
        ),
        (
            "app",
            "198.51.100.10",
            443,
            50005,
            False,
            "nacl-ingress",
            "return",
            "vpcs[0].nacls[0].ingress[0]",
        ),
        # the NAT gateway's subnet has no route to the IGW for this destination
        (
            "lost",
            "198.51.100.10",
            443,
            40000,
            False,
            "nat-no-route",
            "forward",
            "vpcs[0].route_tables[3]",
        ),
        # the internet opens nothing through a NAT gateway
        (
            "client",
            "203.0.113.50",
            443,
            40000,
            False,
            "nat-unsolicited",
            "forward",
            "vpcs[0].nat_gateways[0]",
        ),
        # a NAT gateway forwards; it is no destination
        ("app", "10.0.1.5", 443, 40000, False, "nat-gateway-address", "forward", "vpcs[0].nat_gateways[0]"),
    ],
)
def test_trace_through_a_nat_gateway(
    source, destination, port, source_port, accepted, reason, direction, rule
):
    topology = load(NAT)
    result = trace(topology, topology.endpoint(source), IPv4Address(destination), 6, port, source_port)
    assert (result.accepted, result.reason, result.direction) == (accepted, reason, direction), result.hops
    assert result.rule == rule


def test_the_hops_through_a_nat_gateway_name_both_translations():
    topology = load(NAT)
    result = trace(topology, topology.instance("app"), IPv4Address("198.51.100.10"), 6, 443, 40000)
    stages = [(hop.direction, hop.stage, hop.at) for hop in result.hops]
    assert stages[3:9] == [
        ("forward", "route", "prod/private-rt"),
        ("forward", "nacl-ingress", "prod/public"),
        ("forward", "nat-gateway", "nat-a"),
        ("forward", "nacl-egress", "prod/public"),
        ("forward", "route", "prod/public-rt"),
        ("forward", "igw-outbound", "prod/igw-prod"),
    ]
    delivered = next(hop for hop in result.hops if hop.stage == "deliver")
    assert delivered.detail.startswith("tcp 203.0.113.50 -> 198.51.100.10:443")


def test_a_tcp_reply_cannot_leave_through_a_nat_gateway():
    """A reply walk (a connection the NAT gateway never saw opened) is dropped there."""
    from vpclab.oracle.trace import RETURN, Options, Packet, walk

    topology = load(NAT)
    app = topology.instance("app")
    reply = Packet(app.ip, IPv4Address("198.51.100.10"), 6, 40000)
    walked = walk(topology, app, reply, Options(RETURN, requester=topology.internet_host("client")))
    assert (walked.drop.reason, walked.drop.rule) == ("nat-unsolicited", "vpcs[0].nat_gateways[0]")


# -- the compiled cards ----------------------------------------------------------------------
def test_the_internet_host_sees_the_elastic_ip_and_a_port_in_awss_range():
    topology = load(NAT)
    fabric = FakeFabric(compile_topology(topology))
    card, request = instance_packet(fabric.compiled.plan, "app", "198.51.100.10", 6, 443, 40000)
    arrived = fabric.send(card, request).delivered
    assert len(arrived) == 1
    _, _, packet = arrived[0]
    assert packet["ipv4_src"] == "203.0.113.50"
    assert 1024 <= packet["tcp_src"] <= 65535
    accepted, *_ = exchange(FakeFabric(fabric.compiled), "app2", "198.51.100.10", 6, 443)
    assert accepted  # many-to-one: a second instance through the same gateway


@pytest.mark.parametrize("name", ["nat", "two-tier.yaml", "egress-vpc"])
def test_the_cards_decide_every_pair_like_trace(name):
    designs = {"nat": lambda: load(NAT), "egress-vpc": lambda: load(EGRESS_VPC)}
    assert_cards_decide_like_trace(designs[name]() if name in designs else example(name))


def test_a_nacl_change_in_a_nat_gateways_vpc_rebuilds_its_card_as_a_fresh_compile_would():
    intent = Intent("nat.yaml", yaml.safe_load(textwrap.dedent(NAT)))
    compiled = compile_topology(intent.topology)
    rule = {"rule": 70, "protocol": "tcp", "ports": 443, "cidr": "10.0.2.0/24", "action": "deny"}
    topology = intent.apply("add-nacl-rule", vpc="prod", nacl="public-nacl", direction="ingress", rule=rule)
    result = recompile(compiled, topology)
    fresh = compile_topology(topology)
    for server in fresh.flows:
        assert sorted(result.compiled.flows[server], key=repr) == sorted(fresh.flows[server], key=repr)
    verdict = trace(topology, topology.instance("app"), IPv4Address("198.51.100.10"), 6, 443, 40000)
    assert (verdict.accepted, verdict.reason) == (False, "nacl-ingress")
    accepted, direction, origin, _ = exchange(FakeFabric(result.compiled), "app", "198.51.100.10", 6, 443)
    assert (accepted, direction, origin) == (False, "forward", verdict.rule)


# -- centralized egress: spokes reach the internet through one VPC's NAT gateway ---------------
EGRESS_VPC = """
    name: egress
    servers: 2
    internet:
      hosts:
        - {name: client, ip: 198.51.100.10}
    vpcs:
      - name: spoke
        cidr: 10.1.0.0/16
        subnets:
          - {name: app, cidr: 10.1.1.0/24}
        route_tables:
          - name: main
            main: true
            routes:
              - {destination: 0.0.0.0/0, transit_gateway: hub}
        instances:
          - {name: s1, subnet: app}
      - name: egress
        cidr: 10.9.0.0/16
        internet_gateway: igw-egress
        subnets:
          - {name: attach, cidr: 10.9.1.0/24, route_table: to-nat}
          - {name: public, cidr: 10.9.2.0/24, route_table: public-rt}
        route_tables:
          - name: to-nat
            routes:
              - {destination: 0.0.0.0/0, nat_gateway: nat-egress}
          - name: public-rt
            routes:
              - {destination: 0.0.0.0/0, internet_gateway: igw-egress}
              - {destination: 10.1.0.0/16, transit_gateway: hub}
        nat_gateways:
          - {name: nat-egress, subnet: public}
    transit_gateways:
      - name: hub
        attachments:
          - {name: spoke-att, vpc: spoke, subnets: [app]}
          - {name: egress-att, vpc: egress, subnets: [attach]}
        route_tables:
          - name: spokes
            associations: [spoke-att]
            routes:
              - {destination: 0.0.0.0/0, attachment: egress-att}
          - name: egress
            associations: [egress-att]
            propagations: [spoke-att]
"""


def test_a_spoke_reaches_the_internet_through_the_egress_vpcs_nat_gateway():
    topology = load(EGRESS_VPC)
    result = trace(topology, topology.instance("s1"), IPv4Address("198.51.100.10"), 6, 443, 40000)
    assert result.accepted, result.hops
    stages = [hop.stage for hop in result.hops if hop.direction == "forward"]
    assert stages.index("tgw-route") < stages.index("nat-gateway") < stages.index("igw-outbound")
    back = [hop.stage for hop in result.hops if hop.direction == "return"]
    assert "tgw-route" in back  # the reply goes back over the TGW to the spoke
