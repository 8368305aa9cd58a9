"""AWS's MTUs: instances at 9001, a transit gateway's 8500 (drop, no ICMP error, MSS clamped),
an internet gateway's 1500; trace's path MTU and size verdicts against the fake cards."""

from __future__ import annotations

import os
from ipaddress import IPv4Address

import pytest
import yaml
from fakeswitch import DATAPATH, FakeFabric, instance_packet, on_the_wire
from os_ken.lib.packet import icmp, ipv4, packet

from controller.compiler import compile_topology
from controller.hyperplane.ofmsg import NXActionCheckPktLarger, flow_mod
from nitro_switch.server import mss_clamp_ruleset
from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import load_topology, topology_from_data
from vpclab.intent.model import TGW_MSS
from vpclab.layout.actions import CheckLarger, Goto
from vpclab.layout.pipeline import Reg, flow
from vpclab.oracle.trace import trace
from vpclab.verify.live import _spec as live_spec
from vpclab.verify.live import expected
from vpclab.verify.plan import plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ICMP, TCP, UDP = 1, 6, 17
ETHERNET = 14


def design(name: str):
    return load_topology(os.path.join(ROOT, "topologies", name))


def of_size(compiled, source: str, address: str, size: int, protocol: int = UDP):
    """A UDP datagram (or a ping) of ``size`` IP bytes from ``source`` through the fake cards."""
    port = 5432 if protocol == UDP else None
    card, sent = instance_packet(compiled.plan, source, address, protocol, port, 40000)
    return FakeFabric(compiled).send(card, {**sent, "frame_length": ETHERNET + size})


# -- through a transit gateway -----------------------------------------------------------------
def test_a_packet_longer_than_8500_bytes_is_dropped_at_the_tgw_like_trace_says():
    topology = design("inspection.yaml")
    compiled = compile_topology(topology)
    app1, data1 = topology.instance("app1"), topology.instance("data1")
    fits = of_size(compiled, "app1", str(data1.ip), 8500, ICMP)
    assert fits.delivered and fits.delivered[0][2]["ipv4_dst"] == str(data1.ip)
    too_big = of_size(compiled, "app1", str(data1.ip), 8501, ICMP)
    server, stage, cookie = too_big.dropped_at
    assert (server, stage, compiled.origin(cookie)) == (app1.server, "tgw_mtu", "transit_gateways[0]")
    assert not too_big.delivered
    verdict = trace(topology, app1, data1.ip, ICMP, size=8501)
    assert (verdict.accepted, verdict.reason, verdict.rule) == (
        False,
        "packet-too-big",
        "transit_gateways[0]",
    )
    assert trace(topology, app1, data1.ip, ICMP, size=8500).accepted


def syn(name: str, source: str, target: str, **fields):
    """A SYN (to port 5432) from ``source`` to ``target`` of design ``name`` on the fake cards."""
    topology = design(name)
    compiled = compile_topology(topology)
    card, sent = instance_packet(compiled.plan, source, str(topology.instance(target).ip), TCP, 5432, 40000)
    return card, FakeFabric(compiled).send(card, {**sent, **fields})


def test_a_syn_through_the_tgw_comes_out_with_its_mss_clamped_to_8460():
    card, outcome = syn("inspection.yaml", "app1", "data1")
    assert (card, "kernel", "mss clamp") in outcome.path  # through the card's kernel, not Hyperplane
    ((_, _, arrived),) = outcome.delivered
    assert (arrived["ipv4_dst"], arrived["tcp_mss"]) == ("10.2.1.4", 8460)
    # what the clamp's MACs carried is gone: data1 sees fw1's MAC, the appliance that sent it on
    # (it names itself: the SGs it meets look it up by interface)
    assert arrived["eth_src"] == compile_topology(design("inspection.yaml")).plan.instances["fw1"].mac
    assert TGW_MSS == 8460
    ((_, _, arrived),) = syn("inspection.yaml", "app1", "data1", tcp_mss=1460)[1].delivered
    assert arrived["tcp_mss"] == 1460  # a smaller MSS stays


def test_the_syn_ack_back_through_the_tgw_is_clamped_too():
    topology = design("inspection.yaml")
    compiled = compile_topology(topology)
    fabric = FakeFabric(compiled)
    app1, data1 = topology.instance("app1"), topology.instance("data1")
    card, sent = instance_packet(compiled.plan, "app1", str(data1.ip), TCP, 5432, 40000)
    assert fabric.send(card, sent).delivered
    card, reply = instance_packet(compiled.plan, "data1", str(app1.ip), TCP, 40000, 5432)
    back = fabric.send(card, {**reply, "tcp_flags": 0x12})  # SYN-ACK
    assert (card, "kernel", "mss clamp") in back.path
    ((_, _, arrived),) = back.delivered
    assert (arrived["ipv4_dst"], arrived["tcp_mss"]) == (str(app1.ip), 8460)


def test_a_syn_that_crosses_no_tgw_keeps_its_mss():
    _, outcome = syn("three-tier.yaml", "app1", "db1")
    assert not any(step[1] == "kernel" for step in outcome.path)
    assert outcome.delivered[0][2].get("tcp_mss") is None  # never rewritten: the fake sent no option


def test_the_kernel_clamp_lowers_only_a_larger_mss_of_a_syn_and_sends_everything_back():
    ruleset = mss_clamp_ruleset("mss-kernel")
    assert 'hook ingress device "mss-kernel"' in ruleset
    assert (
        "ether type ip tcp flags & (syn | rst) == syn tcp option maxseg size > 8460 "
        "tcp option maxseg size set 8460" in ruleset
    )
    assert (  # over IPv6, 20 bytes less: its header is 40
        "ether type ip6 tcp flags & (syn | rst) == syn tcp option maxseg size > 8440 "
        "tcp option maxseg size set 8440" in ruleset
    )
    assert ruleset.rstrip().splitlines()[-3].strip() == 'fwd to "mss-kernel"'


# -- through an internet gateway -------------------------------------------------------------
def test_what_leaves_by_the_internet_gateway_must_fit_1500_bytes():
    topology = design("two-tier.yaml")
    compiled = compile_topology(topology)
    web1, client = topology.instance("web1"), topology.internet_host("client")
    fits = of_size(compiled, "web1", str(client.ip), 1500)
    assert fits.delivered
    too_big = of_size(compiled, "web1", str(client.ip), 1501)
    server, stage, cookie = too_big.dropped_at
    assert (server, stage, compiled.origin(cookie)) == (web1.server, "igw_mtu", "vpcs[0].internet_gateway")
    ((card, answer),) = too_big.answers  # Hyperplane answers from the internet's card
    error = packet.Packet(on_the_wire_packet_out(answer))
    header, message = error.get_protocol(ipv4.ipv4), error.get_protocol(icmp.icmp)
    assert (card, header.src, header.dst) == ("internet", str(client.ip), str(web1.public_ip))
    assert (message.type, message.code, message.data.mtu) == (3, 4, 1500)
    quoted = ipv4.ipv4.parser(bytes(message.data.data))[0]
    assert (quoted.src, quoted.dst, quoted.total_length) == (str(web1.public_ip), str(client.ip), 1501)
    card, sent = instance_packet(compiled.plan, "web1", str(client.ip), UDP, 5432, 40000)
    no_df = FakeFabric(compiled).send(card, {**sent, "frame_length": ETHERNET + 1501, "ip_df": False})
    assert no_df.dropped_at[1] == "igw_mtu" and not no_df.answers  # AWS would fragment it
    verdict = trace(topology, web1, client.ip, UDP, 5432, size=1501)
    assert (verdict.reason, verdict.rule) == ("packet-too-big", "vpcs[0].internet_gateway")
    through_nat = trace(topology, topology.instance("app1"), client.ip, UDP, 5432, size=1501)
    assert (through_nat.reason, through_nat.rule) == ("packet-too-big", "vpcs[0].internet_gateway")
    by_nat = of_size(compiled, "app1", str(client.ip), 1501)
    ((_, answer),) = by_nat.answers  # to the NAT gateway's Elastic IP, which leaves for app1
    nat = topology.vpc("shop").nat_gateways[0]
    assert packet.Packet(on_the_wire_packet_out(answer)).get_protocol(ipv4.ipv4).dst == str(nat.public_ip)


def test_an_ipv6_packet_too_long_for_the_gateway_gets_packet_too_big_from_the_internet():
    """IPv6 is never fragmented on the way: Hyperplane answers an ICMPv6 Packet Too Big (MTU
    1500) from the address the packet was for, quoting it up to IPv6's minimum MTU."""
    from os_ken.lib.packet import icmpv6, ipv6

    topology = design("dual-stack.yaml")
    compiled = compile_topology(topology)
    build1, client = topology.instance("build1"), topology.internet_host("client")
    assert of_size(compiled, "build1", str(client.ipv6), 1500).delivered
    too_big = of_size(compiled, "build1", str(client.ipv6), 1501)
    server, stage, cookie = too_big.dropped_at
    assert (stage, compiled.origin(cookie)) == ("igw_mtu", "vpcs[1].egress_only_internet_gateway")
    ((card, answer),) = too_big.answers
    error = packet.Packet(on_the_wire_packet_out(answer))
    header, message = error.get_protocol(ipv6.ipv6), error.get_protocol(icmpv6.icmpv6)
    assert (card, header.src, header.dst) == ("internet", str(client.ipv6), str(build1.ipv6))
    assert (message.type_, message.code, int.from_bytes(bytes(message.data)[:4], "big")) == (2, 0, 1500)
    assert len(on_the_wire_packet_out(answer)) == ETHERNET + 1280  # IPv6's minimum MTU, filled
    verdict = trace(topology, build1, client.ipv6, UDP, 5432, size=1501)
    assert verdict.reason == "packet-too-big"


def on_the_wire_packet_out(message) -> bytes:
    """The frame a packet-out carries (os-ken parses no packet-out: read its layout)."""
    message.datapath = DATAPATH
    message.serialize()
    buffer = bytes(message.buf)
    return buffer[24 + int.from_bytes(buffer[16:18], "big") :]


# -- trace's path MTU ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, source, destination, mtu, set_by",
    [
        ("three-tier.yaml", "app1", "db1", 9001, "app1's interface"),
        ("inspection.yaml", "app1", "data1", 8500, "transit gateway core"),
        ("two-tier.yaml", "app1", "client", 1500, "internet gateway shop/igw-shop"),
        ("two-tier.yaml", "client", "web1", 1500, "client's interface"),
    ],
)
def test_trace_reports_the_path_mtu_and_what_sets_it(name, source, destination, mtu, set_by):
    topology = design(name)
    target = topology.endpoint(destination)
    address = target.public_ip if name == "two-tier.yaml" and source == "client" else target.ip
    verdict = trace(topology, topology.endpoint(source), address, TCP, 443 if source == "app1" else 80)
    assert verdict.path_mtu == (mtu, set_by)
    assert verdict.as_dict()["path_mtu"] == {"bytes": mtu, "set_by": set_by}


def test_an_instance_may_set_a_smaller_mtu_and_the_path_takes_it():
    with open(os.path.join(ROOT, "topologies", "three-tier.yaml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    db = next(i for v in data["vpcs"] for i in v["instances"] if i["name"] == "db1")
    db["mtu"] = 1500
    topology = topology_from_data("t.yaml", data)
    verdict = trace(topology, topology.instance("app1"), topology.instance("db1").ip, TCP, 5432)
    assert verdict.path_mtu == (1500, "db1's interface")
    db["mtu"] = 9002
    with pytest.raises(TopologyError) as error:
        topology_from_data("t.yaml", data)
    assert any("mtu" in ".".join(map(str, p.path)) for p in error.value.problems)


# -- the OpenFlow action os-ken lacks --------------------------------------------------------------
def test_check_pkt_larger_survives_a_flow_dump():
    made = flow_mod(flow("tgw_entry", 100, {}, (CheckLarger(8514, Reg.TOO_BIG), Goto("tgw_mtu")), "x"))
    parsed = on_the_wire(made)
    (action,) = parsed.instructions[0].actions
    assert isinstance(action, NXActionCheckPktLarger)
    assert (action.pkt_len, action.offset, action.dst) == (8514, 0, "metadata")


# -- verify probes the path MTU ------------------------------------------------------------------
def test_verify_pings_at_the_path_mtu_and_a_byte_over_where_a_tgw_sets_it():
    topology = design("mtu.yaml")
    probes = plan(topology).probes
    sized = {(p.source, p.target, p.size) for p in probes if p.kind == "mtu"}
    assert {("web1", "db1", 8500), ("web1", "db1", 8501), ("db1", "web1", 8500)} <= sized
    assert not any(p.target == "db2" or p.source == "db2" for p in probes if p.kind == "mtu")  # 1500 < 8500
    assert not any(p.target == "client" for p in probes if p.kind == "mtu")  # the internet's hosts: 1500
    fits, over = (next(p for p in probes if p.kind == "mtu" and p.size == s) for s in (8500, 8501))
    assert expected(topology, fits)[0] and not expected(topology, over)[0]
    assert expected(topology, over)[1:] == ("packet-too-big", "transit_gateways[0]")
    assert (fits.label, live_spec(over)) == ("icmp of 8500 bytes", "icmp:10.60.1.4:8501")


# -- the receiver's MTU, and twin addresses in two VPCs --------------------------------------------
TWINS = """
name: twins
servers: 2
vpcs:
  - name: a
    cidr: 10.0.0.0/16
    subnets: [{name: s, cidr: 10.0.1.0/24}]
    security_groups: [{name: open-a, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
    instances:
      - {name: src, subnet: s, ip: 10.0.1.10, security_groups: [open-a]}
      - {name: twin, subnet: s, ip: 10.0.1.4, security_groups: [open-a]}
  - name: b
    cidr: 10.0.0.0/16
    subnets: [{name: s, cidr: 10.0.1.0/24}]
    security_groups: [{name: open-b, ingress: [{protocol: all, cidr: 10.0.0.0/8}]}]
    instances:
      - {name: small, subnet: s, ip: 10.0.1.4, mtu: 1500, security_groups: [open-b]}
      - {name: src-b, subnet: s, ip: 10.0.1.10, security_groups: [open-b]}
"""


def test_a_request_longer_than_the_receivers_mtu_is_dropped_at_its_interface():
    """Trace named small's 1500 as the path MTU yet accepted 1501 bytes; live, small drops them."""
    topology = topology_from_data("twins.yaml", yaml.safe_load(TWINS))
    sender, small = topology.instance("src-b"), topology.instance("small")
    over = trace(topology, sender, small.ip, ICMP, size=1501)
    assert (over.accepted, over.reason, over.rule) == (False, "packet-too-big", small.origin)
    assert over.hops[-1].at == "small" and "1501 bytes > MTU 1500" in over.hops[-1].detail
    fits = trace(topology, sender, small.ip, ICMP, size=1500)
    assert fits.accepted and fits.path_mtu == (1500, "small's interface")


def test_verify_plans_mtu_probes_for_the_instance_the_address_reaches():
    """From src-b, twin's address reaches small (1500): small's own interface sets the path MTU,
    so nothing on the path carries less than both ends and verify plans no MTU probes (it
    planned 1500 and 1501 against twin's 9001). From src, small's address reaches twin."""
    topology = topology_from_data("twins.yaml", yaml.safe_load(TWINS))
    probes = plan(topology).probes
    assert [p for p in probes if p.kind == "mtu"] == []
    pings = {(p.source, p.target): p.address for p in probes if p.kind == "icmp"}
    assert pings["src-b", "twin"] == pings["src", "small"] == IPv4Address("10.0.1.4")
    reached = trace(topology, topology.instance("src"), IPv4Address("10.0.1.4"), ICMP).delivered_to
    assert reached == "twin"
