"""Dual stack, live (issue 34): what the cards do for IPv6 beside carrying it, on
topologies/dual-stack.yaml — neighbour discovery, the metadata service and resolver at
fd00:ec2::254 and ::253 (an IPv6-only instance's only ones), and ICMPv6 Packet Too Big from an
egress-only internet gateway. (Reachability in both families: test_live's verify.)"""

import pytest
from live_helpers import live, topology

from nitro_switch.emulation import Emulation

pytestmark = live


def quiet(*args, **kwargs):
    pass


@pytest.fixture(scope="module")
def dual():
    with Emulation(topology("dual-stack.yaml"), log=quiet) as emulation:
        yield emulation


def test_the_vpc_router_answers_neighbour_discovery(dual):
    web1 = dual.hosts.hosts["web1"]
    assert " 0% packet loss" in web1.cmd("ping -6 -c 1 -W 2 2001:db8:2000:1::10")
    neighbours = web1.cmd("ip -6 neigh show dev eth0")
    assert "2001:db8:1000:1::1 lladdr 02:00:00:00:00:01 router" in neighbours, neighbours


def test_an_ipv6_only_instance_has_its_metadata_and_resolver_over_ipv6(dual):
    worker1 = dual.hosts.hosts["worker1"]
    url = "http://[fd00:ec2::254]/latest/meta-data"
    assert worker1.cmd(f"curl -6 -s --max-time 3 {url}/ipv6").strip() == "2001:db8:2000:2::4"
    assert worker1.cmd(f"curl -6 -s --max-time 3 -o /dev/null -w '%{{http_code}}' {url}/local-ipv4") == "404"
    token = worker1.cmd(
        "curl -6 -s --max-time 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "
        "http://[fd00:ec2::254]/latest/api/token"
    ).strip()
    assert token and "html" not in token
    named = worker1.cmd(f"curl -6 -s --max-time 3 -H 'X-aws-ec2-metadata-token: {token}' {url}/hostname")
    assert named.strip() == "worker1"
    domain = dual.topology.dns_domain
    found = worker1.cmd(f"getent ahostsv6 web1.{domain} | head -1")
    assert found.startswith("2001:db8:1000:1::10"), found  # its AAAA record, from fd00:ec2::253


def test_a_dual_stack_instance_is_the_same_instance_to_the_service_in_both_families(dual):
    web1 = dual.hosts.hosts["web1"]
    over_ipv4 = web1.cmd("curl -s --max-time 3 http://169.254.169.254/latest/meta-data/instance-id")
    over_ipv6 = web1.cmd("curl -6 -s --max-time 3 http://[fd00:ec2::254]/latest/meta-data/instance-id")
    assert over_ipv4.startswith("i-") and over_ipv4 == over_ipv6


def test_a_packet_too_long_for_the_egress_only_gateway_gets_packet_too_big(dual):
    build1 = dual.hosts.hosts["build1"]
    said = build1.cmd("ping -6 -c 1 -W 2 -s 1600 -M do 2001:db8:ffff::10")
    assert "Packet too big: mtu=1500" in said, said
    assert "mtu 1500" in build1.cmd("ip -6 route get 2001:db8:ffff::10")
