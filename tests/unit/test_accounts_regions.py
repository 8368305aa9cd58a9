"""Accounts and Regions (issue 31, contract v3): who owns what and where it lives, the rules
AWS holds a design to across them (a TGW attaches its own Region's VPCs, of accounts it is
shared with; an inter-Region peering names no peer SG), peering and attachment states,
quotas, and NAT gateway fidelity; trace and the compiled cards agree on each."""

from ipaddress import IPv4Address

import pytest
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange
from test_nat_gateway import NAT
from vpc_fixtures import load, problems, verdict

from controller.compiler import compile_topology
from vpclab.oracle.trace import trace

TWO_ACCOUNTS = """
    name: org
    accounts:
      - {name: shop, id: "111111111111"}
      - {name: network, id: "222222222222"}
    regions: [{name: us-east-1}, {name: eu-west-1}]
    servers:
      - {name: use1, region: us-east-1, az: a}
      - {name: euw1, region: eu-west-1, az: a}
    vpcs:
      - name: prod
        account: shop
        cidr: 10.1.0.0/16
        subnets: [{name: web, cidr: 10.1.1.0/24, az: a, route_table: rt}]
        route_tables: [{name: rt, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
        security_groups: [{name: open-prod, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
        instances: [{name: shop1, subnet: web, security_groups: [open-prod]}]
      - name: shared
        account: network
        cidr: 10.2.0.0/16
        subnets: [{name: svc, cidr: 10.2.1.0/24, az: a, route_table: rt}]
        route_tables: [{name: rt, routes: [{destination: 10.0.0.0/8, transit_gateway: core}]}]
        security_groups: [{name: open-shared, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
        instances: [{name: net1, subnet: svc, security_groups: [open-shared]}]
      - name: eu
        account: shop
        region: eu-west-1
        cidr: 10.3.0.0/16
        subnets: [{name: app, cidr: 10.3.1.0/24, az: a}]
        instances: [{name: eu1, subnet: app}]
    transit_gateways:
      - name: core
        account: network
        shared_with: [shop]
        attachments:
          - {name: prod-att, vpc: prod, subnets: [web]STATUS}
          - {name: shared-att, vpc: shared, subnets: [svc]}
        route_tables:
          - {name: rt, associations: [prod-att, shared-att], propagations: [prod-att, shared-att]}
"""


def two_accounts(status: str = "") -> str:
    return TWO_ACCOUNTS.replace("STATUS", f", status: {status}" if status else "")


def test_a_file_without_accounts_or_regions_is_one_account_in_us_east_1():
    topology = load(NAT)
    assert [(a.name, a.id) for a in topology.accounts] == [("default", "123456789012")]
    assert [r.name for r in topology.regions] == ["us-east-1"]
    assert {(v.account, v.region) for v in topology.vpcs} == {("default", "us-east-1")}


def test_vpcs_and_tgws_belong_to_their_account_and_region_and_servers_host_their_region():
    topology = load(two_accounts("available"))
    assert topology.owner("prod").id == "111111111111" and topology.owner("shared").id == "222222222222"
    assert (topology.vpc("eu").region, topology.vpc("eu").account) == ("eu-west-1", "shop")
    core = topology.transit_gateway("core")
    assert (core.account, core.region, core.shared_with) == ("network", "us-east-1", ("shop",))
    placed = {i.name: i.server for i in topology.instances}
    assert placed == {"shop1": "use1", "net1": "use1", "eu1": "euw1"}


def test_another_accounts_attachment_is_pending_until_accepted_and_carries_nothing():
    pending = load(two_accounts())
    assert pending.transit_gateway("core").attachment("prod-att").status == "pending-acceptance"
    assert pending.transit_gateway("core").attachment("shared-att").status == "available"
    stuck = verdict(pending, "shop1", "net1", "tcp", 443)
    assert (stuck.accepted, stuck.reason, stuck.rule) == (
        False,
        "tgw-attachment-pending",
        "transit_gateways[0].attachments[0]",
    )
    back = verdict(pending, "net1", "shop1", "tcp", 443)  # the owner's side cannot use it either
    assert (back.accepted, back.reason) == (False, "tgw-attachment-pending")
    accepted = load(two_accounts("available"))
    assert verdict(accepted, "shop1", "net1", "tcp", 443).accepted
    auto = load(
        two_accounts().replace(
            "shared_with: [shop]", "shared_with: [shop]\n        auto_accept_shared_attachments: true"
        )
    )
    assert auto.transit_gateway("core").attachment("prod-att").available
    assert verdict(auto, "shop1", "net1", "tcp", 443).accepted


@pytest.mark.parametrize("status", ["", "available"])
def test_the_cards_drop_at_a_pending_attachment_where_trace_does(status):
    topology = load(two_accounts(status))
    assert_cards_decide_like_trace(topology)
    accepted, direction, origin, _ = exchange(
        FakeFabric(compile_topology(topology)), "shop1", "10.2.1.4", 6, 443
    )
    expected = verdict(topology, "shop1", "net1", "tcp", 443)
    assert (accepted, origin) == (expected.accepted, None if expected.accepted else expected.rule)


def test_a_tgw_attaches_only_vpcs_of_its_region_and_of_accounts_it_is_shared_with():
    text = two_accounts("available").replace("shared_with: [shop]", "shared_with: []")
    text = text.replace(
        "- {name: shared-att, vpc: shared, subnets: [svc]}",
        "- {name: shared-att, vpc: shared, subnets: [svc]}\n"
        "          - {name: eu-att, vpc: eu, subnets: [app]}",
    )
    found = problems(text)
    assert any(
        "transit_gateways[0].attachments[0].vpc: VPC 'prod' belongs to account 'shop'; transit gateway "
        "'core' of account 'network' is not shared with it (add it to 'shared_with': AWS RAM)" in line
        for line in found
    ), found
    assert any(
        "transit_gateways[0].attachments[2].vpc: VPC 'eu' is in eu-west-1 and transit gateway 'core' in "
        "us-east-1: a transit gateway attaches only VPCs of its own Region" in line
        for line in found
    ), found


def test_unknown_accounts_and_regions_are_named_where_they_are_used():
    found = problems(
        two_accounts().replace(
            "account: shop\n        region: eu-west-1", "account: shopp\n        region: eu-west-2"
        )
    )
    assert any(
        "vpcs[2].account: no account named 'shopp' in 'accounts' (shop, network)" in line for line in found
    ), found
    unknown = "vpcs[2].region: no Region named 'eu-west-2' in 'regions' (us-east-1, eu-west-1)"
    assert any(unknown in line for line in found), found
    mars = problems(two_accounts().replace("{name: us-east-1}", "{name: mars}"))
    assert any("regions[0].name" in line for line in mars), mars


def test_an_instance_needs_a_server_in_its_vpcs_region():
    found = problems(
        two_accounts("available").replace("      - {name: euw1, region: eu-west-1, az: a}\n", "")
    )
    assert any(
        "vpcs[2].instances[0].subnet: no server is in AZ a of Region eu-west-1 (subnet 'app')" in line
        for line in found
    ), found
    named = two_accounts("available").replace(
        "{name: eu1, subnet: app}", "{name: eu1, subnet: app, server: use1}"
    )
    assert any(
        "server 'use1' is in Region us-east-1 but subnet 'app' is in Region eu-west-1 (VPC 'eu')" in line
        for line in problems(named)
    )


INTER_REGION = """
    name: across
    regions: [{name: us-east-1}, {name: eu-west-1}]
    servers:
      - {name: a, region: us-east-1}
      - {name: b, region: eu-west-1}
    peerings: [{name: us-eu, requester: us, accepter: eu, status: STATUS}]
    vpcs:
      - name: us
        cidr: 10.1.0.0/16
        subnets: [{name: s, cidr: 10.1.1.0/24, route_table: rt}]
        route_tables: [{name: rt, routes: [{destination: 10.2.0.0/16, peering: us-eu}]}]
        security_groups: [{name: us-sg, ingress: [{protocol: all, RULE}]}]
        instances: [{name: us1, subnet: s, security_groups: [us-sg]}]
      - name: eu
        region: eu-west-1
        cidr: 10.2.0.0/16
        subnets: [{name: s, cidr: 10.2.1.0/24, route_table: rt}]
        route_tables: [{name: rt, routes: [{destination: 10.1.0.0/16, peering: us-eu}]}]
        security_groups: [{name: eu-sg, ingress: [{protocol: all, cidr: 10.1.0.0/16}]}]
        instances: [{name: eu1, subnet: s, security_groups: [eu-sg]}]
"""


def inter_region(status: str = "active", rule: str = "cidr: 10.2.0.0/16") -> str:
    return INTER_REGION.replace("STATUS", status).replace("RULE", rule)


def test_an_inter_region_peering_carries_packets_but_names_no_peer_security_group():
    topology = load(inter_region())
    assert topology.peering("us-eu").inter_region
    assert verdict(topology, "us1", "eu1", "tcp", 22).accepted
    found = problems(inter_region(rule="security_group: eu-sg"))
    assert any(
        "vpcs[0].security_groups[0].ingress[0].security_group: security group 'eu-sg' belongs to VPC "
        "'eu' in eu-west-1, peered with 'us' across Regions (us-east-1)"
        in line
        and "name its CIDR instead" in line
        for line in found
    ), found


@pytest.mark.parametrize("status", ["pending-acceptance", "rejected", "deleted"])
def test_only_an_active_peering_carries_packets(status):
    topology = load(inter_region(status))
    dropped = verdict(topology, "us1", "eu1", "tcp", 22)
    assert (dropped.accepted, dropped.reason, dropped.rule) == (
        False,
        "blackhole",
        "vpcs[0].route_tables[0].routes[0]",
    )
    assert f"the peering is {status} (route state blackhole)" in dropped.hops[-1].detail
    assert_cards_decide_like_trace(topology)


def test_deleted_true_still_means_status_deleted_and_a_contradiction_is_named():
    text = inter_region().replace("status: active", "deleted: true")
    assert load(text).peering("us-eu").status == "deleted"
    found = problems(inter_region("active").replace("status: active", "status: active, deleted: true"))
    contradiction = "peerings[0].status: status active contradicts 'deleted: true'"
    assert any(contradiction in line for line in found), found


def test_a_design_over_an_aws_quota_names_the_quota_and_may_raise_it_as_far_as_aws_does():
    routes = ", ".join(f"{{destination: 10.9.{n}.0/24, blackhole: true}}" for n in range(51))
    over = f"""
    name: q
    vpcs:
      - name: v
        cidr: 10.0.0.0/16
        route_tables: [{{name: rt, routes: [{routes}]}}]
    """
    found = problems(over)
    assert any(
        "vpcs[0].route_tables[0].routes: 51 routes: AWS quota 'Routes per route table' is 50 "
        "(raise it under 'quotas:')" in line
        for line in found
    ), found
    assert load(over.replace("name: q", "name: q\n    quotas: {routes_per_route_table: 100}"))
    found = problems(over.replace("name: q", "name: q\n    quotas: {routes_per_route_table: 2000}"))
    assert any(
        "quotas.routes_per_route_table: AWS raises quota 'Routes per route table' to at most 1000" in line
        for line in found
    )


def test_a_network_acl_holds_20_rules_a_direction_or_40_raised():
    rules = ", ".join(
        f"{{rule: {n}, protocol: tcp, ports: {n}, cidr: 10.0.0.0/8, action: allow}}" for n in range(1, 22)
    )
    over = f"""
    name: q
    vpcs:
      - name: v
        cidr: 10.0.0.0/16
        nacls: [{{name: n, egress: [{rules}]}}]
    """
    found = problems(over)
    assert any(
        "vpcs[0].nacls[0].egress: 21 egress rules: AWS quota 'Rules per network ACL' is 20" in line
        for line in found
    ), found
    assert load(over.replace("name: q", "name: q\n    quotas: {rules_per_network_acl: 40}"))
    found = problems(over.replace("name: q", "name: q\n    quotas: {rules_per_network_acl: 41}"))
    assert any("to at most 40" in line for line in found), found


def test_a_nat_gateway_translates_tcp_udp_and_icmp_only_as_aws_documents():
    topology = load(NAT)
    internet = IPv4Address("198.51.100.10")
    for protocol in (1, 6, 17):
        ports = (None,) if protocol == 1 else (443, 40000)  # a source port the NACL lets back
        assert trace(topology, topology.instance("app"), internet, protocol, *ports).accepted
    dropped = trace(topology, topology.instance("app"), internet, 107, None)
    assert (dropped.accepted, dropped.reason, dropped.rule) == (
        False,
        "nat-protocol",
        "vpcs[0].nat_gateways[0]",
    )
    fabric = FakeFabric(compile_topology(topology))
    accepted, direction, origin, _ = exchange(fabric, "app", "198.51.100.10", 107)
    assert (accepted, direction, origin) == (False, "forward", "vpcs[0].nat_gateways[0]")
    assert exchange(FakeFabric(fabric.compiled), "app", "198.51.100.10", 17, 53)[0]


def test_a_nat_gateway_keeps_the_private_ip_it_is_given():
    topology = load(
        NAT.replace(
            "{name: nat-a, subnet: public, public_ip: 203.0.113.50}",
            "{name: nat-a, subnet: public, ip: 10.0.1.210, public_ip: 203.0.113.50}",
        )
    )
    assert str(topology.vpc("prod").nat_gateway("nat-a").ip) == "10.0.1.210"
    taken = NAT.replace(
        "{name: nat-a, subnet: public, public_ip: 203.0.113.50}",
        "{name: nat-a, subnet: public, ip: 10.0.2.1, public_ip: 203.0.113.50}",
    )
    outside = "nat_gateways[0].ip: 10.0.2.1 is not in subnet 'public' (10.0.1.0/24)"
    assert any(outside in line for line in problems(taken))


def test_every_underlay_name_of_a_region_is_one_clean_finds_and_linux_takes():
    from vpclab.layout.names import INTERFACE_PATTERN, Names

    names = Names("tgw-peering")
    made = [names.underlay_bridge, names.underlay_port(12), names.region_bridge(3), *names.region_link(3)]
    assert all(INTERFACE_PATTERN.match(name) and len(name) <= 15 for name in made), made
    assert len(set(made)) == len(made)
    assert not INTERFACE_PATTERN.match(names.region_bridge(3) + "x")


def test_an_inter_region_peering_carries_8500_bytes_and_drops_more_like_trace_says():
    from test_mtu import ICMP, of_size

    topology = load(inter_region())
    compiled = compile_topology(topology)
    us1, eu1 = topology.instance("us1"), topology.instance("eu1")
    fits = of_size(compiled, "us1", str(eu1.ip), 8500, ICMP)
    assert fits.delivered and fits.delivered[0][2]["ipv4_dst"] == str(eu1.ip)
    too_big = of_size(compiled, "us1", str(eu1.ip), 8501, ICMP)
    server, stage, cookie = too_big.dropped_at
    assert (server, stage, compiled.origin(cookie)) == (us1.server, "peering_mtu", "peerings[0]")
    verdict = trace(topology, us1, eu1.ip, 1, size=8501)
    assert (verdict.accepted, verdict.reason, verdict.rule) == (False, "packet-too-big", "peerings[0]")
    assert trace(topology, us1, eu1.ip, 1, size=8500).path_mtu == (8500, "inter-Region peering us-eu")
    same_region = load(inter_region().replace("region: eu-west-1\n        cidr", "cidr"))
    assert not same_region.peering("us-eu").inter_region
    assert trace(same_region, same_region.instance("us1"), eu1.ip, 1, size=9001).accepted
