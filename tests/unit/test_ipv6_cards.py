"""Dual stack on the cards (issue 34): the compiled IPv6 flows, run on the fake fabric, decide
like trace (peering, internet gateway without NAT, the egress-only gateway's state, SGs and
NACLs); the cards' neighbour discovery; what ``up`` still refuses."""

from pathlib import Path

import pytest
from fakeswitch import FakeFabric, assert_cards_decide_ipv6_like_trace, exchange, instance_packet
from os_ken.lib.packet import icmpv6
from os_ken.lib.packet import packet as packet_library
from test_ipv6 import DUAL, TGW
from vpc_fixtures import example, load

from controller.compiler import compile_topology
from controller.hyperplane import nd
from vpclab.layout.pipeline import ROUTER_MAC
from vpclab.oracle.trace import trace
from vpclab.ui.cli import main


@pytest.mark.parametrize("design", [DUAL, "dual-stack.yaml"])
def test_the_cards_decide_ipv6_like_trace_between_every_end_and_address(design):
    topology = example(design) if design.endswith(".yaml") else load(design)
    assert assert_cards_decide_ipv6_like_trace(topology) > 50


def test_the_egress_only_gateway_admits_replies_and_nothing_new():
    topology = example("dual-stack.yaml")
    compiled = compile_topology(topology)
    client = str(topology.internet_host("client").ipv6)
    build1 = str(topology.instance("build1").ipv6)
    out = exchange(FakeFabric(compiled), "build1", client, 6, 443)
    assert out[:3] == (True, "return", None)
    unsolicited = exchange(FakeFabric(compiled), "client", build1, 6, 22)
    assert unsolicited[:3] == (False, "forward", "vpcs[1].egress_only_internet_gateway")


def test_a_solicitation_for_the_router_is_answered_with_its_mac_out_of_the_port_it_came_by():
    topology = example("dual-stack.yaml")
    compiled = compile_topology(topology)
    fabric = FakeFabric(compiled)
    web1 = compiled.plan.instances["web1"]
    router = topology.vpc("prod").subnet("public").router_address_v6
    card, solicit = instance_packet(
        compiled.plan,
        "web1",
        "ff02::1:ff00:1",
        58,
        icmpv6_type=135,
        icmpv6_code=0,
        ipv6_nd_target=str(router),
        eth_dst="33:33:ff:00:00:01",
    )
    outcome = fabric.send(card, solicit)
    [(server, message)] = outcome.answers
    assert server == card and message.actions[-1].port == web1.port
    frame = packet_library.Packet(message.data)
    advert = frame.get_protocol(icmpv6.icmpv6)
    assert advert.type_ == icmpv6.ND_NEIGHBOR_ADVERT and advert.data.dst == str(router)
    assert advert.data.res == nd.ROUTER | nd.SOLICITED | nd.OVERRIDE
    assert advert.data.option.hw_src == ROUTER_MAC
    assert frame.protocols[0].dst == web1.mac


def test_a_solicitation_for_a_neighbour_gets_its_mac_and_for_itself_nothing():
    topology = load(DUAL)
    compiled = compile_topology(topology)
    web1, web2 = (compiled.plan.instances[n] for n in ("web1", "web2"))
    for target, answered in ((web2, True), (web1, False)):
        card, solicit = instance_packet(
            compiled.plan,
            "web1",
            "ff02::1:ff00:11",
            58,
            icmpv6_type=135,
            icmpv6_code=0,
            ipv6_nd_target=str(target.instance.ipv6),
            eth_dst="33:33:ff:00:00:11",
        )
        outcome = FakeFabric(compiled).send(card, solicit)
        assert bool(outcome.answers) == answered
        if answered:
            advert = packet_library.Packet(outcome.answers[0][1].data).get_protocol(icmpv6.icmpv6)
            assert advert.data.option.hw_src == web2.mac and advert.data.res == nd.SOLICITED | nd.OVERRIDE


def test_up_refuses_an_ipv6_route_the_cards_do_not_carry_yet(tmp_path, capsys):
    """A TGW's static IPv6 route to a VPN attachment (a site's IPv6 is not emulated), in a
    design with IPv6 addresses: refused before anything is built, at its line."""
    import yaml

    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "topologies" / "vpn-tgw.yaml").read_text())
    vpc = data["vpcs"][0]
    vpc["ipv6_cidr"], vpc["subnets"][0]["ipv6_cidr"] = "2001:db8:1000::/56", "2001:db8:1000:1::/64"
    data["transit_gateways"][0]["route_tables"][0]["routes"].append(
        {"destination": "2001:db8:9000::/48", "attachment": "dc2-vpn"}
    )
    design = tmp_path / "vpn6.yaml"
    design.write_text(yaml.safe_dump(data, sort_keys=False))
    line = next(
        n for n, text in enumerate(design.read_text().splitlines(), 1) if "2001:db8:9000::/48" in text
    )
    assert main(["up", str(design)]) == 2
    said = capsys.readouterr().err
    assert f"{design}:{line}: transit_gateways[0].route_tables[0].routes[1]: the Nitro cards carry" in said
    assert "an IPv6 route to core's attachment dc2-vpn (a site) is checked and traced" in said


def test_ipv6_crosses_a_transit_gateway_by_its_propagated_56_and_its_static_routes():
    hub = load(TGW)
    assert assert_cards_decide_ipv6_like_trace(hub) > 0
    blackholed = load(TGW + "        routes: [{destination: '2001:db8:200:1::/64', blackhole: true}]\n")
    assert assert_cards_decide_ipv6_like_trace(blackholed) > 0
    fabric = FakeFabric(compile_topology(hub))
    b1 = str(hub.instance("b1").ipv6)
    assert exchange(fabric, "a1", b1, 58)[:3] == (True, "return", None)
    syn_back = exchange(FakeFabric(compile_topology(hub)), "a1", b1, 6, 22)  # the SG refuses
    assert syn_back[:3] == (False, "forward", "vpcs[1].security_groups[0]")


@pytest.mark.parametrize("design", ["dual-stack.yaml", "dual-stack-hub.yaml"])
def test_the_example_designs_trace_as_their_comments_say(design, capsys):
    """Every `vpclab trace` line of the example's header ends as it says (-> accepted, or the
    reason), and its cards decide both families like trace."""
    import re
    import shlex
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "topologies" / design
    lines = [line for line in path.read_text().splitlines() if line.startswith("#   vpclab trace ")]
    assert len(lines) >= 5
    for line in lines:
        command, expected = line[len("#   vpclab ") :].split("->")
        main(shlex.split(command))
        said = capsys.readouterr().out.strip().splitlines()[-1]
        reason = "accepted" if said.startswith("ACCEPTED") else re.match(r"DROPPED: (\S+)", said)[1]
        assert reason == expected.strip(), line
    assert assert_cards_decide_ipv6_like_trace(example(design)) > 0


def test_the_metadata_service_and_resolver_answer_at_fd00_ec2_254_and_253():
    """An instance's IPv6 requests reach its card's metadata service from its link-local IPv6
    address (the service tells instances apart by it), and the answers come back to it; an
    IPv6-only instance has its metadata there, without local-ipv4."""
    from agents.metadata import documents, lookup, tree
    from vpclab.intent.model import METADATA_ADDRESS_V6, RESOLVER_ADDRESS_V6
    from vpclab.layout.plan import METADATA_PORT

    topology = example("dual-stack.yaml")
    compiled = compile_topology(topology)
    worker1 = compiled.plan.instances["worker1"]
    for address, protocol, port in ((METADATA_ADDRESS_V6, 6, 80), (RESOLVER_ADDRESS_V6, 17, 53)):
        card, request = instance_packet(compiled.plan, "worker1", str(address), protocol, port, 40000)
        ((server, out_port, there),) = FakeFabric(compiled).send(card, request).delivered
        assert (server, out_port) == (worker1.instance.server, METADATA_PORT)
        assert (there["ipv6_src"], there["ipv6_dst"]) == (str(worker1.link_local_v6), str(address))
        kind = "tcp" if protocol == 6 else "udp"
        answer = {
            "in_port": METADATA_PORT,
            "eth_src": "02:00:00:00:a9:fe",
            "eth_type": 0x86DD,
            "ipv6_src": str(address),
            "ipv6_dst": str(worker1.link_local_v6),
            "ip_proto": protocol,
            f"{kind}_src": port,
            f"{kind}_dst": 40000,
            "nw_ttl": 64,
        }
        ((server, out_port, back),) = FakeFabric(compiled).send(card, answer).delivered
        assert (out_port, back["ipv6_dst"], back["eth_dst"]) == (
            worker1.port,
            str(worker1.instance.ipv6),
            worker1.mac,
        )
    found = documents(compiled.plan, worker1.instance.server)
    document = found[str(worker1.link_local_v6)]
    assert str(compiled.plan.instances["worker1"].link_local) not in found  # no IPv4 to ask from
    listing = lookup(tree(document), "/")
    assert "ipv6" in listing.split() and "local-ipv4" not in listing.split()
    assert lookup(tree(document), "/ipv6") == "2001:db8:2000:2::4"


INSPECTED = """\
name: inspected
servers: 2
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    ipv6_cidr: 2001:db8:1000::/56
    subnets:
      - {name: web, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:1000:1::/64", route_table: web-rt}
      - {name: db, cidr: 10.0.2.0/24, ipv6_cidr: "2001:db8:1000:2::/64", route_table: db-rt}
      - {name: fw, cidr: 10.0.3.0/24, ipv6_cidr: "2001:db8:1000:3::/64"}
    route_tables:
      - {name: main, main: true}
      - name: web-rt
        routes:
          - {destination: 10.0.2.0/24, instance: fw1}
          - {destination: "2001:db8:1000:2::/64", instance: fw1}
      - name: db-rt
        routes:
          - {destination: 10.0.1.0/24, instance: fw1}
          - {destination: "2001:db8:1000:1::/64", instance: fw1}
          - {destination: "2001:db8:1000:3::/64", instance: fw1}  # its own subnet: replies to it
    security_groups:
      - name: open
        ingress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, cidr: "::/0"}]
        egress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, cidr: "::/0"}]
      - name: fw-sg  # what it forwards needs its inbound rules: echo requests, not replies
        ingress:
          - {protocol: all, cidr: 0.0.0.0/0}
          - {protocol: tcp, cidr: "::/0"}
          - {protocol: icmpv6, icmp_type: 128, cidr: "::/0"}
        egress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, cidr: "::/0"}]
      - name: db-sg
        ingress:
          - {protocol: tcp, ports: 5432, cidr: "2001:db8:1000:1::/64"}
          - {protocol: icmpv6, security_group: fw-sg}
    instances:
      - {name: web1, subnet: web, security_groups: [open]}
      - {name: db1, subnet: db, security_groups: [db-sg]}
      - {name: fw1, subnet: fw, source_dest_check: false, security_groups: [fw-sg]}
"""


def test_an_appliance_routes_ipv6_between_two_subnets_like_trace():
    """Routes to an instance (fw1, no source/destination check) for each subnet's /64: both
    families go through it; db-sg's ICMPv6 rule names a group fw1 has, which an appliance's
    forwarded packets carry (AWS: the interface that sends them)."""
    topology = load(INSPECTED)
    assert assert_cards_decide_ipv6_like_trace(topology) > 0
    fabric = FakeFabric(compile_topology(topology))
    db1 = str(topology.instance("db1").ipv6)
    assert exchange(fabric, "web1", db1, 6, 5432)[:3] == (True, "return", None)
    through = trace(topology, topology.instance("web1"), topology.instance("db1").ipv6, 6, 5432)
    assert any(hop.stage == "appliance" for hop in through.hops)
    # fw1's own ping: db1's reply is routed to fw1, and for its own address it is delivered to
    # it as a reply (trace once ran it through fw1's inbound rules as a new ICMPv6 packet)
    own = trace(topology, topology.instance("fw1"), topology.instance("db1").ipv6, 58)
    assert own.accepted and not any(hop.stage == "appliance" for hop in own.hops)


def test_a_virtual_private_gateway_takes_no_ipv6_as_aws_says():
    """AWS: virtual private gateways do not support IPv6 for Site-to-Site VPN (a transit
    gateway's VPN attachment does): check refuses the route, at its line."""
    import yaml

    from vpclab.intent.errors import TopologyError
    from vpclab.intent.loader import topology_from_data

    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "topologies" / "vpn-sites.yaml").read_text())
    vpc = data["vpcs"][0]
    vpc["ipv6_cidr"], vpc["subnets"][0]["ipv6_cidr"] = "2001:db8:1000::/56", "2001:db8:1000:1::/64"
    vpc["route_tables"][0]["routes"].append({"destination": "2001:db8:9000::/48", "vpn_gateway": "vgw-app"})
    with pytest.raises(TopologyError) as refused:
        topology_from_data("vpn6.yaml", data)
    (problem,) = refused.value.problems
    assert problem.path[-1] == "vpn_gateway"
    assert "AWS's virtual private gateways carry no IPv6 over a Site-to-Site VPN" in problem.message
