"""The internet edge: internet hosts, internet gateways, public IPs (issue 11, items 1, 2, 4).

The loader's checks; trace's verdicts for every new path and drop code; and the compiled
cards (fake switches with conntrack NAT) deciding every endpoint pair as trace does.
"""

from ipaddress import IPv4Address

import pytest
from fakeswitch import assert_cards_decide_like_trace
from vpc_fixtures import example, load, problems

from controller.compiler import compile_topology
from vpclab.layout.actions import DROP
from vpclab.oracle.trace import trace
from vpclab.ui.arguments import resolve_destination

EDGE = """
    name: edge
    servers: 2
    internet:
      hosts:
        - {name: client, ip: 198.51.100.10}
    vpcs:
      - name: prod
        cidr: 10.0.0.0/16
        internet_gateway: igw-prod
        subnets:
          - {name: public, cidr: 10.0.1.0/24, route_table: public-rt}
          - {name: private, cidr: 10.0.2.0/24}
        route_tables:
          - name: public-rt
            routes:
              - {destination: 0.0.0.0/0, internet_gateway: igw-prod}
        security_groups:
          - name: web-sg
            ingress:
              - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}
              - {protocol: icmp, cidr: 0.0.0.0/0}
              - {protocol: tcp, ports: 9000, security_group: web-sg}
        instances:
          - {name: web1, subnet: public, public_ip: true, security_groups: [web-sg]}
          - {name: web2, subnet: public, public_ip: 203.0.113.99, security_groups: [web-sg]}
          - {name: plain, subnet: public, security_groups: [web-sg]}
          - {name: back, subnet: private, public_ip: true, security_groups: [web-sg]}
      - name: sealed
        cidr: 10.9.0.0/16
        subnets:
          - {name: only, cidr: 10.9.1.0/24}
        instances:
          - {name: lone, subnet: only, public_ip: true}
"""


def verdict(topology, source: str, destination: str, protocol: int, port=None):
    """Trace by names as the command line takes them (from the internet, an instance name
    means its public IP)."""
    start = topology.endpoint(source)
    address = resolve_destination(topology, destination, start)
    return trace(topology, start, address, protocol, port)


# -- the loader ------------------------------------------------------------------------------
def test_public_ips_come_from_the_pool_after_the_elastic_ips_the_file_names():
    topology = load(EDGE)
    addresses = {i.name: i.public_ip for i in topology.instances}
    assert addresses == {
        "web1": IPv4Address("203.0.113.1"),
        "web2": IPv4Address("203.0.113.99"),
        "plain": None,
        "back": IPv4Address("203.0.113.2"),
        "lone": IPv4Address("203.0.113.3"),
    }
    assert topology.vpc("prod").internet_gateway.origin == "vpcs[0].internet_gateway"
    assert topology.vpc("sealed").internet_gateway is None


@pytest.mark.parametrize(
    "change, expected",
    [
        (("198.51.100.10}", "8.8.8.8}"), "internet.hosts[0].ip: 8.8.8.8 is not a documentation address"),
        (
            ("public_ip: 203.0.113.99", "public_ip: 198.51.100.10"),
            "198.51.100.10 is already used by internet",
        ),
        (("cidr: 10.9.0.0/16", "cidr: 203.0.113.0/24"), "203.0.113.99 is inside VPC 'sealed'"),
        (
            ("internet_gateway: igw-prod}", "internet_gateway: igw-x}"),
            "'igw-x' is not attached to VPC 'prod'",
        ),
        (("name: client", "name: web1"), "'web1' is already an instance"),
        (("servers: 2", "servers: [{name: internet}]"), "'internet' is reserved"),
    ],
)
def test_the_loader_refuses_an_edge_that_cannot_exist(change, expected):
    found = problems(EDGE.replace(*change))
    assert any(expected in line for line in found), found


# -- trace -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, destination, protocol, port, accepted, reason, rule",
    [
        # in through the gateway to a public IP, and the reply out through it
        ("client", "web1", 6, 80, True, None, "vpcs[0].security_groups[0].ingress[0]"),
        ("client", "web2", 1, None, True, None, "vpcs[0].security_groups[0].ingress[1]"),
        ("client", "web1", 6, 22, False, "sg-ingress", "vpcs[0].security_groups[0]"),
        # out to the internet: public IP needed
        ("web1", "client", 6, 443, True, None, "internet.hosts[0]"),
        ("plain", "client", 6, 443, False, "no-public-ip", "vpcs[0].instances[2]"),
        # a private subnet with a public IP: in through the gateway, the reply has no route out
        ("client", "back", 6, 80, False, "no-route", "vpcs[0].route_tables[main]"),
        # a public IP in a VPC without an internet gateway
        ("client", "lone", 1, None, False, "igw-not-attached", "vpcs[1]"),
        # the internet routes neither private addresses nor addresses nobody has
        ("client", "10.0.1.4", 1, None, False, "no-route", "internet"),
        ("web1", "192.0.2.200", 1, None, False, "no-route", "internet"),
        # one instance to another's public IP goes out and in again: an SG reference does not
        # match (the source is a public IP), a CIDR rule does
        ("web1", "203.0.113.99", 6, 9000, False, "sg-ingress", "vpcs[0].security_groups[0]"),
        ("web1", "203.0.113.99", 6, 80, True, None, "vpcs[0].security_groups[0].ingress[0]"),
        ("web1", "web2", 6, 9000, True, None, "vpcs[0].security_groups[0].ingress[2]"),
    ],
)
def test_trace_through_the_internet_gateway(source, destination, protocol, port, accepted, reason, rule):
    result = verdict(load(EDGE), source, destination, protocol, port)
    assert (result.accepted, result.reason, result.rule) == (accepted, reason, rule)


def test_the_gateway_translates_both_ways_and_the_instance_sees_only_its_private_ip():
    result = verdict(load(EDGE), "client", "web1", 6, 80)
    details = [(hop.stage, hop.detail) for hop in result.hops if hop.stage.startswith("igw")]
    assert details == [
        ("igw-inbound", "igw-prod translates destination 203.0.113.1 -> 10.0.1.4 (web1)"),
        ("igw-outbound", "igw-prod translates source 10.0.1.4 (web1) -> 203.0.113.1"),
    ]
    delivered = next(hop for hop in result.hops if hop.stage == "deliver")
    assert "198.51.100.10 -> 10.0.1.4:80" in delivered.detail


def test_a_packet_a_transit_gateway_hands_over_is_not_translated():
    topology = load(
        """
        name: hairpin
        internet:
          hosts: [{name: far, ip: 198.51.100.7}]
        vpcs:
          - name: spoke
            cidr: 10.1.0.0/16
            subnets: [{name: s, cidr: 10.1.1.0/24, route_table: to-tgw}]
            route_tables:
              - {name: to-tgw, routes: [{destination: 0.0.0.0/0, transit_gateway: tgw}]}
            instances: [{name: s1, subnet: s, public_ip: true}]
          - name: egress
            cidr: 10.2.0.0/16
            internet_gateway: igw-egress
            subnets: [{name: e, cidr: 10.2.1.0/24, route_table: out}]
            route_tables:
              - {name: out, routes: [{destination: 0.0.0.0/0, internet_gateway: igw-egress}]}
            instances: [{name: e1, subnet: e}]
        transit_gateways:
          - name: tgw
            attachments:
              - {name: spoke-att, vpc: spoke, subnets: [s]}
              - {name: egress-att, vpc: egress, subnets: [e]}
            route_tables:
              - name: rt
                associations: [spoke-att, egress-att]
                propagations: [spoke-att, egress-att]
                routes: [{destination: 0.0.0.0/0, attachment: egress-att}]
        """
    )
    result = verdict(topology, "s1", "far", 1)
    assert (result.reason, result.rule) == ("no-public-ip", "vpcs[1].internet_gateway")
    assert_cards_decide_like_trace(topology)


# -- the compiled cards ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["edge", "two-tier.yaml", "open-sg.yaml"])
def test_the_cards_decide_every_internet_pair_like_trace(name):
    assert_cards_decide_like_trace(load(EDGE) if name == "edge" else example(name))


def test_the_internet_card_holds_only_the_internet():
    compiled = compile_topology(load(EDGE))
    assert sorted(compiled.cards) == ["internet", "srv1", "srv2"]
    stages = {f.stage for f in compiled.flows["internet"]}
    assert stages == {"classify", "arp", "internet_route"}
    sealed = compile_topology(example("three-tier.yaml"))
    assert "internet" not in sealed.cards
    assert not any(f.stage.startswith("igw") for card in sealed.cards for f in sealed.flows[card])


def test_verify_probes_each_internet_host_and_each_instance_both_ways():
    from vpclab.verify.plan import plan

    topology = example("two-tier.yaml")
    probing = plan(topology)
    pings = {(p.source, p.target, str(p.address)) for p in probing.probes if p.kind == "icmp"}
    app1 = topology.instance("app1")
    for outside in topology.internet_hosts:
        assert (outside.name, "web1", "203.0.113.1") in pings  # at its public IP
        assert (outside.name, "app1", str(app1.ip)) in pings  # no public IP: its private one
        assert ("web1", outside.name, str(outside.ip)) in pings
    ports = {(p.source, p.target, p.port) for p in probing.probes if p.kind == "port" and p.protocol == 6}
    assert ("client", "web1", 80) in ports and ("admin", "web1", 22) in ports
    assert probing.listeners["client"][6]  # the internet hosts answer the instances' probes


# -- twin addresses: the same private IP with a public IP in two VPCs on one card ---------------
TWIN = """
    name: iptwin
    servers: 1
    internet:
      hosts:
        - {name: client, ip: 198.51.100.10}
    vpcs:
      - name: a
        cidr: 10.0.0.0/16
        internet_gateway: igw-a
        subnets: [{name: pub, cidr: 10.0.1.0/24, route_table: pub}]
        route_tables: [{name: pub, routes: [{destination: 0.0.0.0/0, internet_gateway: igw-a}]}]
        security_groups:
          - {name: open, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
        instances: [{name: web, subnet: pub, ip: 10.0.1.4, public_ip: true, security_groups: [open]}]
      - name: b
        cidr: 10.0.0.0/16
        internet_gateway: igw-b
        subnets: [{name: pub, cidr: 10.0.1.0/24, route_table: pub}]
        route_tables: [{name: pub, routes: [{destination: 0.0.0.0/0, internet_gateway: igw-b}]}]
        security_groups:
          - {name: open-b, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
        instances: [{name: web2, subnet: pub, ip: 10.0.1.4, public_ip: true, security_groups: [open-b]}]
"""
TWIN_NAT = TWIN.replace(
    "instances: [{name: web2, subnet: pub, ip: 10.0.1.4, public_ip: true, security_groups: [open-b]}]",
    "nat_gateways: [{name: nat-b, subnet: pub}]",
)


@pytest.mark.parametrize("design", [TWIN, TWIN_NAT], ids=["instance twin", "NAT gateway twin"])
def test_twin_private_addresses_with_public_ips_on_one_card_compile_and_translate_apart(design):
    """AWS accepts it; the new-connection SNAT flow matched the private address without the VPC,
    so two VPCs' twins on one card compiled to one flow (AmbiguousFlows)."""
    topology = load(design)
    compiled = compile_topology(topology)
    private = ("nw_src", ("10.0.1.4", "255.255.255.255"))
    snat = [f for f in compiled.flows["srv1"] if f.stage == "igw_snat" and private in f.match]
    snat = [f for f in snat if f.actions != (DROP,)]  # not the drop of what conntrack never saw
    assert len(snat) == len(set(f.match for f in snat)) == 2
    assert_cards_decide_like_trace(topology)
