"""Dual stack (issue 34): the model's IPv6 keys, their bad input, and trace's IPv6 verdicts as
AWS documents them (egress-only internet gateway, IGW without NAT, peering, default rules)."""

from ipaddress import IPv6Address, ip_address

import pytest
from vpc_fixtures import load, one_vpc, problems

from controller.compiler import compile_topology
from vpclab.intent.values import parse_protocol
from vpclab.oracle import reach as reach_module
from vpclab.oracle.reach import reach
from vpclab.oracle.trace import trace, walk
from vpclab.ui.cli import main

DESIGN = "topologies/dual-stack.yaml"
V6 = "ipv6_cidr: 2001:db8:1000::/56\n"
SUBNET_A = "subnets: [{name: a, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:1000:1::/64'}]\n"

DUAL = """\
name: dual
internet:
  hosts: [{name: client, ip: 198.51.100.10, ipv6: "2001:db8:ffff::10"}]
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    ipv6_cidr: 2001:db8:1000::/56
    internet_gateway: igw
    subnets:
      - {name: pub, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:1000:1::/64"}
      - {name: v4, cidr: 10.0.2.0/24}
    route_tables:
      - name: rt
        main: true
        routes:
          - {destination: "::/0", internet_gateway: igw}
          - {destination: "2001:db8:2000::/56", peering: p}
    security_groups:
      - name: web
        ingress: [{protocol: tcp, ports: 443, cidr: "::/0"}, {protocol: icmpv6, icmp_type: 128, cidr: "::/0"}]
        egress: [{protocol: all, cidr: "::/0"}]
      - name: v4only
        ingress: [{protocol: all, cidr: 0.0.0.0/0}]
    instances:
      - {name: web1, subnet: pub, ip: 10.0.1.10, security_groups: [web]}
      - {name: web2, subnet: pub, ip: 10.0.1.11, security_groups: [v4only]}
      - {name: old1, subnet: v4}
  - name: dev
    cidr: 10.1.0.0/16
    ipv6_cidr: 2001:db8:2000::/56
    egress_only_internet_gateway: eigw
    subnets:
      - {name: b, cidr: 10.1.1.0/24, ipv6_cidr: "2001:db8:2000:1::/64"}
    nacls:
      - name: strict
        ingress:
          - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    route_tables:
      - name: rt
        main: true
        routes:
          - {destination: "::/0", egress_only_internet_gateway: eigw}
          - {destination: "2001:db8:1000::/56", peering: p}
    instances:
      - {name: b1, subnet: b, ip: 10.1.1.10}
peerings:
  - {name: p, requester: prod, accepter: dev}
"""


@pytest.fixture(scope="module")
def dual():
    return load(DUAL)


def ping6(topology, src: str, dst, protocol="icmpv6", port=None):
    address = topology.instance(dst).ipv6 if isinstance(dst, str) and ":" not in dst else ip_address(dst)
    return trace(topology, topology.endpoint(src), address, parse_protocol(protocol), port)


# -- the model -------------------------------------------------------------------------------------
def test_instances_get_their_ipv4_host_number_in_their_subnets_64(dual):
    assert dual.instance("web1").ipv6 == IPv6Address("2001:db8:1000:1::10")
    assert dual.instance("web2").ipv6 == IPv6Address("2001:db8:1000:1::11")
    assert dual.instance("old1").ipv6 is None  # its subnet has no /64


def test_a_vpc_with_ipv6_gets_awss_default_rules_for_it(dual):
    prod = dual.vpc("prod")
    assert [r.describe() for r in prod.nacl("default").ingress] == [
        "rule 100 allow all 0.0.0.0/0",
        "rule 101 allow all ::/0",
        "rule * deny all 0.0.0.0/0",
        "rule * deny all ::/0",
    ]
    default = next(g for g in prod.security_groups if g.name == "default")
    assert [r.describe() for r in default.egress] == ["all 0.0.0.0/0", "all ::/0"]
    created = load(one_vpc("security_groups: [{name: s}]")).vpcs[0]
    assert [r.describe() for r in created.security_groups[0].egress] == ["all 0.0.0.0/0"]  # IPv4 only
    assert [r.describe() for r in created.nacl("default").egress] == [
        "rule 100 allow all 0.0.0.0/0",
        "rule * deny all 0.0.0.0/0",
    ]


def test_the_local_routes_cover_both_families(dual):
    routes = dual.vpc("prod").route_table("rt").routes
    assert [r.describe() for r in routes if r.local] == [
        "10.0.0.0/16 -> local",
        "2001:db8:1000::/56 -> local",
    ]


@pytest.mark.parametrize(
    "body, path, message",
    [
        ("ipv6_cidr: 2001:db8:1000::/48", "vpcs[0].ipv6_cidr", "AWS gives a VPC an IPv6 /56, got /48"),
        ("ipv6_cidr: 2600:1f18::/56", "vpcs[0].ipv6_cidr", "is not in 2001:db8::/32"),
        ("ipv6_cidr: 10.0.0.0/16", "vpcs[0].ipv6_cidr", "is IPv4; an IPv6 CIDR is needed here"),
        (
            V6 + "subnets: [{name: a, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:2000:1::/64'}]",
            "vpcs[0].subnets[0].ipv6_cidr",
            "is not inside the VPC's IPv6 CIDR 2001:db8:1000::/56",
        ),
        (
            V6 + "subnets:\n  - {name: a, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:1000:1::/64'}\n"
            "  - {name: b, cidr: 10.0.2.0/24, ipv6_cidr: '2001:db8:1000:1::/64'}",
            "vpcs[0].subnets[1].ipv6_cidr",
            "overlaps subnet 'a' (2001:db8:1000:1::/64)",
        ),
        (
            "subnets: [{name: a, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:1000:1::/64'}]",
            "vpcs[0].subnets[0].ipv6_cidr",
            "VPC 'prod' has no IPv6 CIDR",
        ),
        (
            V6 + "subnets: [{name: a, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:1000:1::/80'}]",
            "vpcs[0].subnets[0].ipv6_cidr",
            "an IPv6 subnet is a /64",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: icmpv6, cidr: 10.0.0.0/8}]}]",
            "vpcs[0].security_groups[0].ingress[0].protocol",
            "icmpv6 is IPv6's ICMP but 10.0.0.0/8 is IPv4 (use protocol icmp)",
        ),
        (
            "nacls: [{name: n, ingress: [{rule: 1, protocol: icmp, cidr: '::/0', action: allow}]}]",
            "vpcs[0].nacls[0].ingress[0].protocol",
            "icmp is IPv4's ICMP but ::/0 is IPv6 (use protocol icmpv6)",
        ),
        (
            "route_tables: [{name: r, routes: [{destination: '::/0', peering: x}]}]",
            "vpcs[0].route_tables[0].routes[0].destination",
            "::/0 is IPv6 but VPC 'prod' has no 'ipv6_cidr'",
        ),
        (
            "ipv6_cidr: 2001:db8:1000::/56\negress_only_internet_gateway: e\n"
            "route_tables: [{name: r, routes: [{destination: 0.0.0.0/0, egress_only_internet_gateway: e}]}]",
            "vpcs[0].route_tables[0].routes[0].egress_only_internet_gateway",
            "an egress-only internet gateway carries IPv6 only; 0.0.0.0/0 is IPv4",
        ),
        (
            V6 + "internet_gateway: g\negress_only_internet_gateway: g",
            "vpcs[0].egress_only_internet_gateway",
            "'g' already names an internet gateway",
        ),
        (
            "ipv6_cidr: 2001:db8:1000::/56\n"
            "route_tables: [{name: r, routes: [{destination: '::/0', egress_only_internet_gateway: e}]}]",
            "vpcs[0].route_tables[0].routes[0].egress_only_internet_gateway",
            "egress-only internet gateway 'e' is not attached to VPC 'prod'",
        ),
        (
            V6 + SUBNET_A + "instances: [{name: i, subnet: a, ipv6: '2001:db8:1000:1::3'}]",
            "vpcs[0].instances[0].ipv6",
            "is reserved by AWS in 2001:db8:1000:1::/64",
        ),
        (
            V6 + SUBNET_A + "instances: [{name: i, subnet: a, ipv6: '2001:db8:1000:2::10'}]",
            "vpcs[0].instances[0].ipv6",
            "is outside subnet 'a' (2001:db8:1000:1::/64)",
        ),
        (
            V6 + SUBNET_A + "nat_gateways: [{name: n, subnet: a}]\n"
            "route_tables: [{name: r, routes: [{destination: '64:ff9b::/96', nat_gateway: n}]}]",
            "vpcs[0].route_tables[0].routes[0].nat_gateway",
            "vpclab's NAT gateways carry IPv4 only, no NAT64 yet",
        ),
    ],
)
def test_bad_ipv6_input_names_its_line_and_path(body, path, message):
    found = problems(one_vpc(body))
    assert len(found) == 1, found
    assert f": {path}: " in found[0] and message in found[0], found
    assert found[0].startswith("test.yaml:")


def test_an_internet_hosts_ipv6_is_a_documentation_address_outside_every_vpc():
    found = problems(
        one_vpc(
            "ipv6_cidr: 2001:db8:1000::/56",
            "internet:\n  hosts:\n    - {name: a, ip: 198.51.100.1, ipv6: '2001:db8:1000::9'}\n"
            "    - {name: b, ip: 198.51.100.2, ipv6: '2600::1'}\n",
        )
    )
    assert any(
        "internet.hosts[0].ipv6: 2001:db8:1000::9 is inside VPC 'prod''s IPv6 CIDR" in f for f in found
    )
    assert any("internet.hosts[1].ipv6: 2600::1 is not in 2001:db8::/32" in f for f in found)


# -- trace, as AWS documents IPv6 ----------------------------------------------------------------
def test_the_internet_gateway_carries_ipv6_untranslated_both_ways(dual):
    inbound = ping6(dual, "client", "web1", "tcp", 443)
    assert inbound.accepted
    hops = [(h.direction, h.stage) for h in inbound.hops]
    assert ("forward", "igw-inbound") in hops and ("return", "igw-outbound") in hops
    delivered = next(h for h in inbound.hops if h.stage == "deliver")
    assert "2001:db8:ffff::10 -> [2001:db8:1000:1::10]:443" in delivered.detail  # no NAT either way


def test_the_egress_only_gateway_lets_out_and_replies_in_only(dual):
    out = ping6(dual, "b1", "2001:db8:ffff::10", "tcp", 443)
    assert out.accepted
    gateway = [(h.direction, h.stage, h.result) for h in out.hops if h.stage.startswith("eigw")]
    assert gateway == [("forward", "eigw-outbound", "pass"), ("return", "eigw-inbound", "pass")]
    refused = ping6(dual, "client", "b1", "tcp", 443)
    assert (refused.reason, refused.rule) == ("eigw-unsolicited", "vpcs[1].egress_only_internet_gateway")


def test_the_reply_through_the_egress_only_gateway_comes_back_in():
    """Walk the reply alone: the gateway admits it (direction return), not a new request."""
    topology = load(DUAL)
    from vpclab.oracle.packet import RETURN, Packet
    from vpclab.oracle.walk import Options

    client, b1 = topology.internet_host("client"), topology.instance("b1")
    reply = Packet(client.ipv6, b1.ipv6, 6, 40000)
    walked = walk(topology, client, reply, Options(RETURN, requester=b1))
    assert walked.drop is None and [h.stage for h in walked.hops][:1] == ["eigw-inbound"]


def test_icmpv6_rules_and_the_peering_carry_ping_6(dual):
    ping = ping6(dual, "b1", "web1")
    assert ping.accepted and ping.rule == "vpcs[0].security_groups[0].ingress[1]"
    assert [h.stage for h in ping.hops].count("peering") == 2
    # web1's SG admits icmpv6 echo requests only: an IPv4 ping has no route (no IPv4 peering route)
    refused = trace(dual, dual.instance("b1"), dual.instance("web1").ip, 1)
    assert refused.reason == "no-route"


def test_ipv4_rules_do_not_admit_ipv6(dual):
    refused = ping6(dual, "web1", "web2", "tcp", 22)
    assert (refused.reason, refused.rule) == ("sg-ingress", "vpcs[0].security_groups[1]")


def test_a_nacl_without_ipv6_rules_denies_ipv6(dual):
    """dev's custom 'strict' NACL is not associated: the default one carries; so attach it."""
    text = DUAL.replace("{name: b, cidr: 10.1.1.0/24,", "{name: b, nacl: strict, cidr: 10.1.1.0/24,")
    topology = load(text)
    refused = ping6(topology, "web1", "b1")
    assert (refused.reason, refused.rule) == ("nacl-ingress", "vpcs[1].nacls[0].ingress[*ipv6]")


def test_an_instance_without_ipv6_cannot_send_it(dual):
    refused = ping6(dual, "old1", "web1")
    assert (refused.reason, refused.rule) == ("no-ipv6", "vpcs[0].instances[2]")


def test_the_example_design_traces_as_its_comment_says():
    assert main(["trace", DESIGN, "web1", "build1", "-6"]) == 0
    assert main(["trace", DESIGN, "web1", "build1"]) == 1
    assert main(["trace", DESIGN, "build1", "client", "-6", "--port", "443"]) == 0
    assert main(["trace", DESIGN, "client", "build1", "-6", "--port", "22"]) == 1
    assert main(["trace", DESIGN, "build1", "client", "--port", "443"]) == 1


def test_reach_6_asks_every_pair_at_its_ipv6_addresses(dual, capsys):
    found = reach(dual, 58, None, ipv6=True)
    assert found.verdicts["b1", "web1"].accepted  # web's icmpv6 echo rule, over the peering
    assert found.verdicts["web1", "b1"].reason == "sg-ingress"  # b1's default SG: its members only
    assert found.verdicts["web1", "old1"] == reach_module.PairVerdict(
        False, "no-ipv6", "vpcs[0].instances[2]"
    )
    assert found.verdicts["old1", "web1"].reason == "no-ipv6"
    assert main(["reach", DESIGN, "-6", "--port", "443"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("dual-stack, tcp/443 over IPv6: 6 pairs, 2 accepted, 4 dropped")


TGW = """\
name: hub
servers: [{name: s1, az: a}]
vpcs:
  - name: a
    cidr: 10.1.0.0/16
    ipv6_cidr: 2001:db8:100::/56
    subnets: [{name: s, cidr: 10.1.1.0/24, ipv6_cidr: "2001:db8:100:1::/64"}]
    route_tables:
      - {name: rt, main: true, routes: [{destination: "2001:db8::/32", transit_gateway: core}]}
    instances: [{name: a1, subnet: s}]
  - name: b
    cidr: 10.2.0.0/16
    ipv6_cidr: 2001:db8:200::/56
    subnets: [{name: s, cidr: 10.2.1.0/24, ipv6_cidr: "2001:db8:200:1::/64"}]
    route_tables:
      - {name: rt, main: true, routes: [{destination: "2001:db8::/32", transit_gateway: core}]}
    security_groups:
      - name: open6
        ingress: [{protocol: icmpv6, cidr: "2001:db8:100::/56"}]
    instances: [{name: b1, subnet: s, security_groups: [open6]}]
transit_gateways:
  - name: core
    attachments:
      - {name: a-att, vpc: a, subnets: [s]}
      - {name: b-att, vpc: b, subnets: [s]}
    route_tables:
      - name: main
        associations: [a-att, b-att]
        propagations: [a-att, b-att]
"""


def test_a_vpc_attachment_propagates_its_56_and_a_static_ipv6_route_takes_effect():
    topology = load(TGW)
    ping = ping6(topology, "a1", "b1")
    assert ping.accepted
    assert any(
        h.stage == "tgw-route" and "2001:db8:200::/56 -> attachment b-att (propagated)" in h.detail
        for h in ping.hops
    )
    blackholed = load(TGW + "        routes: [{destination: '2001:db8:200:1::/64', blackhole: true}]\n")
    refused = ping6(blackholed, "a1", "b1")
    assert (refused.reason, refused.rule) == (
        "tgw-blackhole",
        "transit_gateways[0].route_tables[0].routes[0]",
    )
    assert blackholed.ipv6_origins[-1] == "transit_gateways[0].route_tables[0].routes[0]"


# -- IPv6-only subnets -----------------------------------------------------------------------------
NATIVE = (
    V6
    + "subnets:\n  - {name: a, cidr: 10.0.1.0/24}\n"
    + "  - {name: six, ipv6_native: true, ipv6_cidr: '2001:db8:1000:9::/64'}\n"
)


def test_an_ipv6_only_subnets_instances_have_no_ipv4():
    topology = load(
        one_vpc(
            NATIVE
            + "instances: [{name: w1, subnet: six}, {name: w2, subnet: six, ipv6: '2001:db8:1000:9::20'}]"
        )
    )
    w1, w2 = topology.instance("w1"), topology.instance("w2")
    assert (w1.ip, w1.ipv6, w2.ipv6) == (
        None,
        IPv6Address("2001:db8:1000:9::4"),
        IPv6Address("2001:db8:1000:9::20"),
    )
    assert topology.vpcs[0].subnet("six").ipv6_native
    refused = trace(topology, w1, topology.vpcs[0].subnet("a").router_address + 9, 1)
    assert (refused.reason, refused.rule) == ("no-ipv4", "vpcs[0].instances[0]")
    assert ping6(topology, "w1", "w2").accepted  # the default SG admits its members, IPv6 too
    assert compile_topology(topology).flows  # the cards compile the IPv4 part


@pytest.mark.parametrize(
    "body, path, message",
    [
        (
            V6
            + "subnets: [{name: six, ipv6_native: true, cidr: 10.0.1.0/24,"
            + " ipv6_cidr: '2001:db8:1000:9::/64'}]",
            "vpcs[0].subnets[0].cidr",
            "an IPv6-only subnet (ipv6_native: true) has no IPv4 'cidr'",
        ),
        (
            V6 + "subnets: [{name: six, ipv6_native: true}]",
            "vpcs[0].subnets[0]",
            "needs an 'ipv6_cidr' (a /64)",
        ),
        ("subnets: [{name: s}]", "vpcs[0].subnets[0]", "a subnet needs a 'cidr' (or, IPv6-only"),
        (
            NATIVE + "instances: [{name: w, subnet: six, ip: 10.0.1.9}]",
            "vpcs[0].instances[0].ip",
            "is IPv6-only",
        ),
        (
            NATIVE + "instances: [{name: w, subnet: six, public_ip: true}]",
            "vpcs[0].instances[0].public_ip",
            "no public IPv4",
        ),
        (NATIVE + "nat_gateways: [{name: n, subnet: six}]", "vpcs[0].nat_gateways[0].subnet", "is IPv6-only"),
    ],
)
def test_bad_ipv6_only_input(body, path, message):
    found = problems(one_vpc(body))
    assert any(f": {path}: " in line and message in line for line in found), found


def test_the_example_designs_ipv6_only_worker_reaches_out_over_ipv6_only():
    assert main(["trace", DESIGN, "web1", "worker1", "-6"]) == 0
    assert main(["trace", DESIGN, "worker1", "client", "-6", "--port", "443"]) == 0
    assert main(["trace", DESIGN, "worker1", "web1", "--port", "443"]) == 1  # no-ipv4


def test_the_resolver_answers_aaaa_for_instance_names_and_zones(dual, capsys):
    from vpclab.intent.dns import resolve

    answer = resolve(dual, "dev", "web1.vpclab.internal", "AAAA")
    assert [(r.type, r.values) for r in answer.records] == [("AAAA", ("2001:db8:1000:1::10",))]
    assert [r.type for r in resolve(dual, "dev", "web1.vpclab.internal").records] == ["A"]
    native = load(one_vpc(NATIVE + "instances: [{name: w1, subnet: six}]"))
    only6 = resolve(native, "prod", "w1.vpclab.internal")
    assert (only6.rcode, only6.records) == ("NOERROR", ())  # no A record: NODATA
    zoned = load(
        one_vpc(
            NATIVE + "instances: [{name: w1, subnet: six}]",
            "private_hosted_zones:\n  - name: corp.internal\n    vpcs: [prod]\n    records:\n"
            "      - {name: api, type: AAAA, values: ['2001:DB8:1000:9:0::4']}\n",
        )
    )
    assert resolve(zoned, "prod", "api.corp.internal", "AAAA").records[0].values == ("2001:db8:1000:9::4",)
    assert main(["trace", DESIGN, "build1", "web1.vpclab.internal", "-6", "--port", "443"]) == 0
    assert "dns      web1.vpclab.internal is 2001:db8:1000:1::10" in capsys.readouterr().out


def test_an_aaaa_record_holds_ipv6_addresses():
    found = problems(
        one_vpc(
            "",
            "private_hosted_zones:\n  - name: corp.internal\n    vpcs: [prod]\n    records:\n"
            "      - {name: api, type: AAAA, values: [10.0.0.1]}\n",
        )
    )
    assert any("values[0]: an AAAA record's value is an IPv6 address, not '10.0.0.1'" in f for f in found), (
        found
    )


def test_check_counts_the_dual_stack_parts(capsys):
    assert main(["check", DESIGN]) == 0
    said = capsys.readouterr().out
    assert "2 dual-stack VPCs, 1 IPv6-only subnet, 1 internet gateway, 1 egress-only internet gateway" in said
