"""The internet edge live: curl to a public IP, the translated source seen from the internet,
private instances out through their AZ's NAT gateway (seen as its Elastic IP), nothing in
through a NAT gateway, and nothing that could leave the machine (issue 11)."""

import subprocess
import time

import pytest
from live_helpers import serve_http, topology

from nitro_switch.emulation import Emulation
from vpclab.intent.model import INTERNET_CARD

pytestmark = pytest.mark.live
quiet = lambda line: None


@pytest.fixture(scope="module")
def two_tier():
    with Emulation(topology("two-tier.yaml"), log=quiet) as emulation:
        yield emulation


def capture_one(host, expression: str):
    """tcpdump on ``host``'s eth0 for the first packet matching ``expression``, once listening."""
    capture = host.popen(
        ["tcpdump", "-n", "-l", "-c", "1", "-i", "eth0", expression],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(1)  # tcpdump is listening
    return capture


def test_an_internet_host_curls_a_public_ip_and_the_instance_sees_its_private_address(two_tier):
    hosts = two_tier.hosts.hosts
    web1 = two_tier.topology.instance("web1")
    server = serve_http(hosts["web1"])
    try:
        answer = hosts["client"].cmd(
            f"curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://{web1.public_ip}/"
        )
        assert answer.strip() == "200"
        # no address of web1's own is public: the gateway translates on its card, as on EC2
        assert str(web1.public_ip) not in hosts["web1"].cmd("ip -4 addr show")
    finally:
        server.terminate()
        log = server.communicate(timeout=5)[1]
    assert "198.51.100.10 - - " in log and '"GET / HTTP/1.1" 200' in log  # the client's own address


def test_the_internet_sees_an_instance_by_its_public_ip(two_tier):
    hosts = two_tier.hosts.hosts
    web1 = two_tier.topology.instance("web1")
    capture = capture_one(hosts["client"], "icmp[icmptype] == icmp-echo")
    assert " 0% packet loss" in hosts["web1"].cmd("ping -c 1 -W 2 198.51.100.10")
    line = capture.communicate(timeout=5)[0]
    assert f"IP {web1.public_ip} > 198.51.100.10: ICMP echo request" in line


def test_private_instances_reach_the_internet_through_their_azs_nat_gateway(two_tier):
    hosts = two_tier.hosts.hosts
    shop = two_tier.topology.vpc("shop")
    server = serve_http(hosts["client"], 8000)
    capture = capture_one(hosts["client"], "tcp[tcpflags] == tcp-syn and dst port 8000")
    try:
        for name in ("app1", "app2", "app1"):
            answer = hosts[name].cmd("curl -s -m 5 -o /dev/null -w '%{http_code}' http://198.51.100.10:8000/")
            assert answer.strip() == "200", name
    finally:
        server.terminate()
        log = server.communicate(timeout=5)[1]
    clients = [line.split(" - - ")[0] for line in log.splitlines() if '"GET / HTTP/1.1" 200' in line]
    nat_a, nat_b = (str(shop.nat_gateway(name).public_ip) for name in ("nat-a", "nat-b"))
    assert clients == [nat_a, nat_b, nat_a]  # each AZ's own gateway, its Elastic IP only
    syn = capture.communicate(timeout=5)[0]  # on the wire: the Elastic IP, a translated port
    assert syn.split(" IP ")[1].startswith(f"{nat_a}.") and "> 198.51.100.10.8000: Flags [S]" in syn


def test_instances_reach_each_others_public_ips_through_the_internets_card(two_tier):
    """Out through the IGW (or a NAT gateway), into the internet's card by the tunnel and out
    by it again: the card must not skip an output to the port the packet came in by."""
    hosts, shop = two_tier.hosts.hosts, two_tier.topology.vpc("shop")
    web1, web2 = (two_tier.topology.instance(name) for name in ("web1", "web2"))
    assert (web1.server, web2.server) == ("srv-a", "srv-b")
    for source, target in (("web1", web2), ("web2", web1), ("app1", web1), ("app2", web2)):
        answer = hosts[source].cmd(f"ping -c 1 -W 2 {target.public_ip} >/dev/null; echo $?")
        assert answer.strip() == "0", (source, target.name)
    server = serve_http(hosts["web2"])
    try:  # web2 sees app1 as its AZ's NAT gateway's Elastic IP
        code = hosts["app1"].cmd(f"curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://{web2.public_ip}/")
        assert code.strip() == "200"
    finally:
        server.terminate()
        log = server.communicate(timeout=5)[1]
    assert log.split(" - - ")[0] == str(shop.nat_gateway("nat-a").public_ip)


def test_nothing_opens_a_connection_from_the_internet_to_a_private_instance(two_tier):
    hosts = two_tier.hosts.hosts
    app1 = two_tier.topology.instance("app1")
    nat_a = two_tier.topology.vpc("shop").nat_gateway("nat-a")
    assert " 100% packet loss" in hosts["client"].cmd(f"ping -c 1 -W 1 {app1.ip}")  # private: no route in
    assert " 100% packet loss" in hosts["client"].cmd(f"ping -c 1 -W 1 {nat_a.public_ip}")  # unsolicited
    web1 = two_tier.topology.instance("web1")
    refused = hosts["attacker"].cmd(
        f"curl -s -m 2 -o /dev/null -w '%{{http_code}}' http://{web1.public_ip}:22/"
    )
    assert refused.strip() == "000"  # web-sg admits ssh from the admin only: no answer at all


def test_the_emulated_internet_has_no_way_off_the_machine(two_tier):
    card = two_tier.servers_by_name[INTERNET_CARD]
    assert card.in_netns("ip", "-4", "route", "show", "default").strip() == ""
    for host in two_tier.topology.internet_hosts:
        routes = two_tier.hosts.hosts[host.name].cmd("ip -4 route show").strip().splitlines()
        assert routes == ["default via 169.254.0.1 dev eth0 onlink"]
