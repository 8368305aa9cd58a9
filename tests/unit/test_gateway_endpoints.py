# ruff: noqa: E501  (the YAML edits of a variant read best on one line)
"""Gateway endpoints and prefix lists (issue 31, item 4): S3 through an endpoint with the
private source, over the internet without one, refused to what did not start in the VPC; a
CIDR route above a prefix list's of the same length; prefix lists in SG rules and routes, not
in NACLs; the cards deciding every pair as trace does; the import of Batfish's snapshot."""

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from fakeswitch import assert_cards_decide_like_trace
from vpc_fixtures import load, problems, verdict

from vpclab.aws_import import import_directory
from vpclab.intent.model import SGRef

DESIGN = (Path(__file__).resolve().parents[2] / "topologies" / "gateway-endpoint.yaml").read_text()
SNAPSHOTS = Path(__file__).resolve().parents[1] / "data" / "aws-configs"
S3 = "192.0.2.10"  # an address of vpclab's S3 in us-east-1 (192.0.2.0/28)


def variant(old: str, new: str) -> str:
    assert old in DESIGN, old
    return DESIGN.replace(old, new)


def stages(found) -> list[tuple[str, str, str]]:
    return [(h.direction, h.stage, h.at) for h in found.hops]


def test_the_private_subnet_reaches_s3_through_the_endpoint_with_its_private_address():
    topology = load(DESIGN)
    found = verdict(topology, "batch1", S3, "tcp", 443)
    assert found.accepted
    assert ("forward", "gateway-endpoint", "data/s3-ep") in stages(found)
    delivered = next(h for h in found.hops if h.stage == "deliver")
    assert delivered.at == "s3-us-east-1" and "10.0.2.4 -> 192.0.2.10:443" in delivered.detail
    assert ("return", "gateway-endpoint", "data/s3-ep") in stages(found)
    assert ("return", "nacl-ingress", "data/private") in stages(found)  # its NACL sees the reply


def test_without_an_endpoint_route_the_same_service_is_reached_over_the_internet():
    found = verdict(load(DESIGN), "web1", S3, "tcp", 443)
    assert found.accepted
    assert ("forward", "igw-outbound", "data/igw-data") in stages(found)
    assert not any(h.stage == "gateway-endpoint" for h in found.hops)


def test_what_a_transit_gateway_brings_may_not_use_the_endpoint():
    found = verdict(load(DESIGN), "worker1", S3, "tcp", 443)
    assert (found.accepted, found.reason, found.direction, found.rule) == (
        False,
        "not-transitive",
        "forward",
        "vpc_endpoints[0]",
    )


def test_sg_rules_name_prefix_lists_and_the_nacl_still_decides():
    topology = load(DESIGN)
    refused = verdict(topology, "batch1", S3, "tcp", 80)  # batch-sg allows 443 to S3 only
    assert (refused.reason, refused.rule) == ("sg-egress", "vpcs[0].security_groups[0]")
    closed = load(
        variant(
            "{rule: 110, protocol: tcp, ports: 1024-65535, cidr: 192.0.2.0/28, action: allow}",
            "{rule: 110, protocol: tcp, ports: 1024-65535, cidr: 192.0.2.0/28, action: deny}",
        )
    )
    back = verdict(closed, "batch1", S3, "tcp", 443)
    assert (back.accepted, back.reason, back.direction) == (False, "nacl-ingress", "return")
    rules = load(DESIGN).security_group(SGRef("data", "batch-sg")).ingress
    assert [(str(r.cidr), r.prefix_list) for r in rules[:2]] == [
        ("172.16.0.0/16", "offices"),
        ("172.17.0.0/16", "offices"),
    ]


def test_a_cidr_route_wins_over_a_prefix_list_route_of_the_same_length():
    topology = load(
        variant(
            "          - {destination: 10.20.0.0/16, transit_gateway: hub}\n          - {destination_prefix_list: offices",
            "          - {destination: 10.20.0.0/16, transit_gateway: hub}\n          - {destination: 192.0.2.0/28, blackhole: true}\n          - {destination_prefix_list: offices",
        )
    )
    found = verdict(topology, "batch1", S3, "tcp", 443)
    assert (found.reason, found.rule) == ("blackhole", "vpcs[0].route_tables[1].routes[1]")
    assert_cards_decide_like_trace(topology)


@pytest.mark.parametrize(
    "change",
    [
        None,
        ("route_tables: [private-rt, link-rt]", "route_tables: [private-rt]"),
        (
            "cidr: 192.0.2.0/28, action: allow}\n        egress",
            "cidr: 192.0.2.0/28, action: deny}\n        egress",
        ),
        (
            "- {protocol: all, cidr: 10.0.0.0/8}\n      - name: web-sg",
            "- {protocol: icmp, prefix_list: com.amazonaws.us-east-1.s3}\n      - name: web-sg",
        ),
    ],
)
def test_the_cards_decide_like_trace(change):
    assert_cards_decide_like_trace(load(variant(*change) if change else DESIGN))


def test_the_service_answers_on_every_address_of_its_block():
    topology = load(DESIGN)
    service = topology.endpoint("s3-us-east-1")
    assert (service.ip, service.network) == (IPv4Address("192.0.2.1"), IPv4Network("192.0.2.0/28"))
    assert topology.internet_host_at(IPv4Address("192.0.2.14")) is service
    assert topology.internet_host_at(IPv4Address("192.0.2.16")) is None


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "{rule: 110, protocol: tcp, ports: 1024-65535, cidr: 192.0.2.0/28, action: allow}",
            "{rule: 110, protocol: tcp, ports: 1024-65535, prefix_list: offices, action: allow}",
            "nacls[0].ingress[1].prefix_list: a network ACL rule needs a 'cidr': AWS's network ACLs do not take prefix lists",
        ),
        (
            "prefix_list: offices}",
            "prefix_list: branches}",
            "ingress[0].prefix_list: no prefix list 'branches' (the design's: offices;",
        ),
        (
            "prefix_list: com.amazonaws.us-east-1.s3}",
            "prefix_list: com.amazonaws.eu-west-1.s3}",
            "no prefix list 'com.amazonaws.eu-west-1.s3'",
        ),
        (
            "service: s3,",
            "service: sqs,",
            "vpc_endpoints[0].service: a gateway endpoint in us-east-1 reaches com.amazonaws.us-east-1.s3, com.amazonaws.us-east-1.dynamodb ('sqs' is none of them)",
        ),
        (
            "route_tables: [private-rt, link-rt]}",
            "route_tables: [private-rt, link-rt]}\n  - {name: s3-again, vpc: data, vpc_endpoint_type: Gateway, service: com.amazonaws.us-east-1.s3, route_tables: [link-rt]}",
            "vpc_endpoints[1].route_tables[0]: route table 'link-rt' already routes to a s3 gateway endpoint (AWS allows one)",
        ),
        (
            "route_tables: [private-rt, link-rt]}",
            "route_tables: [private-rt, link-rt], subnets: [private]}",
            "vpc_endpoints[0].subnets: 'subnets' belongs to an interface endpoint",
        ),
        (
            "route_tables: [private-rt, link-rt]}",
            "route_tables: [private-rt, nowhere]}",
            "vpc_endpoints[0].route_tables[1]: no route table 'nowhere' in VPC 'data'",
        ),
        (
            "    max_entries: 10\n",
            "    max_entries: 1\n",
            "prefix_lists[0].max_entries: the list has 2 entries, more than its max_entries 1",
        ),
        (
            "      - {name: worker1, subnet: work}",
            "      - {name: worker1, subnet: work}\ninternet:\n  hosts: [{name: mirror, ip: 192.0.2.5}]",
            "internet.hosts[0].ip: 192.0.2.5 is inside 192.0.2.0/28, where vpclab emulates com.amazonaws.us-east-1.s3",
        ),
        (
            "{destination_prefix_list: offices, transit_gateway: hub}",
            "{destination: 10.9.0.0/16, destination_prefix_list: offices, transit_gateway: hub}",
            "a route needs exactly one of 'destination' or 'destination_prefix_list'",
        ),
    ],
)
def test_what_aws_refuses_is_refused_saying_why(old, new, expected):
    found = problems(variant(old, new))
    assert any(expected in line for line in found), found


def test_batfishs_gateway_endpoint_snapshot_imports_the_endpoint_and_keeps_s3s_real_ranges():
    imported = import_directory(str(SNAPSHOTS / "test-vpc-endpoint-gateway"))
    [endpoint] = imported.data["vpc_endpoints"]
    assert endpoint == {
        "name": "vpce-0b7357542bb7b83ec",
        "description": "vpce-0b7357542bb7b83ec",
        "vpc": "testing",
        "vpc_endpoint_type": "Gateway",
        "service": "s3",
        "route_tables": ["testing-noigw", "testing-igw"],
        "aws_cidrs": ["54.231.0.0/17", "52.216.0.0/15", "3.5.16.0/21", "3.5.0.0/20"],
    }
    routes = [r for v in imported.data["vpcs"] for t in v["route_tables"] for r in t["routes"]]
    assert not any("pl-63a5400a" in str(r) for r in routes)  # the endpoint's own routes
    changed = {(c.kind, c.aws_id) for c in imported.changed}
    assert ("prefix list", "pl-63a5400a") in changed


def test_an_address_of_the_real_service_is_the_emulated_one():
    topology = load(
        variant(
            "route_tables: [private-rt, link-rt]}",
            "route_tables: [private-rt, link-rt], aws_cidrs: [52.216.0.0/15]}",
        )
    )
    assert topology.emulated_address(IPv4Address("52.216.237.77")) == IPv4Address("192.0.2.1")
    assert topology.emulated_address(IPv4Address("54.222.57.1")) == IPv4Address("54.222.57.1")


def test_a_prefix_list_counts_its_max_entries_against_the_quotas():
    """AWS: a rule or route naming a list counts as its max_entries (S3's list as 1)."""
    found = problems(variant("    max_entries: 10\n", "    max_entries: 60\n"))  # 60 + 1 > 60 rules
    assert any("security_groups[0].ingress: 61 ingress rules: AWS quota" in line for line in found), found
    assert any(
        "route_tables[1].routes: 61 routes: AWS quota 'Routes per route table'" in line for line in found
    ), found
    assert (
        load(variant("    max_entries: 10\n", "    max_entries: 49\n")).prefix_list("offices").max_entries
        == 49
    )


def test_the_resolver_answers_the_services_public_names():
    from vpclab.intent.dns import resolve

    topology = load(DESIGN)
    for name in ("s3.us-east-1.amazonaws.com", "reports.s3.us-east-1.amazonaws.com"):
        answer = resolve(topology, "data", name)
        assert (answer.rcode, [r.values for r in answer.records]) == ("NOERROR", [("192.0.2.1",)])
    assert resolve(topology, "data", "dynamodb.us-east-1.amazonaws.com").rcode == "NXDOMAIN"  # not used here


def test_the_service_answers_and_opens_no_connections():
    """As AWS's S3: trace refuses its host as a source, verify probes it only as a target (the
    live fuzzer's seed 15 had it send UDP to a public IP, the reply came back through the
    endpoint, and its unconnected socket took it)."""
    from vpclab.ui.arguments import UsageError, resolve_source
    from vpclab.verify.plan import internet_pairs

    topology = load(DESIGN)
    with pytest.raises(UsageError, match="'s3-us-east-1' stands for com.amazonaws.us-east-1.s3"):
        resolve_source(topology, "s3-us-east-1")
    pairs = [(s.name, t.name) for s, t in internet_pairs(topology)]
    assert ("batch1", "s3-us-east-1") in pairs and not any(s == "s3-us-east-1" for s, _ in pairs)
