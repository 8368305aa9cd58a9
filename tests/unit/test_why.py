"""`why` without root: ofproto/trace's text (recorded from the real cards of three-tier.yaml,
web1 -> db1 tcp/5432) read back, followed over the tunnel, named by cookie and compared with
the static trace; a card that answers something else is asked exactly what `why` would ask."""

from pathlib import Path

from vpc_fixtures import example

from vpclab.inspection.why import NEW, agrees, explain, follow, parse, render
from vpclab.layout.pipeline import MSS_CLAMP_PORT, ROUTER_MAC, TABLE, TUNNEL_PORT
from vpclab.layout.plan import Plan

RECORDED = Path(__file__).resolve().parents[1] / "data" / "ofproto-trace"


class RecordedCard:
    """A card that answers ofproto/trace from the recording, and says what it was asked."""

    def __init__(self, name: str, asked: list):
        self.name, self.asked = name, asked

    def appctl(self, *args: str) -> str:
        self.asked.append((self.name, args))
        (path,) = RECORDED.glob(f"web1-db1-{len(self.asked) - 1}-{self.name}.txt")
        command, text = path.read_text().split("\n", 1)
        assert command == f"# ovs-appctl {' '.join(args)}", "why asked something else than was recorded"
        return text


def test_a_leg_is_read_back_flows_output_tunnel_and_packet():
    text = next(RECORDED.glob("web1-db1-0-srv1.txt")).read_text().split("\n", 1)[1]
    leg = parse("srv1", text)
    assert [step.stage for step in leg.steps][:3] == ["classify", "sg_egress_remote", "sg_egress"]
    assert leg.steps[-1].stage == "tunnel_out" and all(step.cookie for step in leg.steps)
    assert (leg.output, leg.vni, leg.tunnel_to) == (TUNNEL_PORT, 1, "192.168.200.3")
    assert leg.final["nw_ttl"] == "63" and leg.final["tp_dst"] == "5432"  # one routed hop
    assert parse("srv1", 'Flow: tcp\n\nbridge("br-int")\n 0. priority 0\n    drop\n').output is None


def test_the_walk_follows_the_tunnel_names_the_dropping_nacl_and_agrees_with_trace():
    topology = example("three-tier.yaml")
    asked: list = []
    cards = {name: RecordedCard(name, asked) for name in ("srv1", "srv2", "srv3")}
    found = explain(topology, {}, cards, topology.instance("web1"), topology.instance("db1").ip, 6, 5432)
    assert [server for server, _ in asked] == ["srv1", "srv3"]  # over the tunnel, no reply
    arriving = asked[1][1][-1]
    assert arriving.startswith("tcp,in_port=100,tun_id=0x1,tun_src=192.168.200.1,tun_dst=192.168.200.3,")
    assert (found.live.accepted, found.live.direction) == (False, "forward")
    assert found.live.origin == found.static.rule == "vpcs[0].nacls[2].ingress[*]" and found.agree
    assert found.lines[-1].endswith(": they agree")
    assert asked[0][1][:2] == ("ofproto/trace", "br-int")  # a new packet: no --ct-next
    assert NEW == "trk,new"


def test_a_different_drop_or_verdict_is_a_disagreement():
    topology = example("three-tier.yaml")
    asked: list = []
    cards = {name: RecordedCard(name, asked) for name in ("srv1", "srv2", "srv3")}
    found = explain(topology, {}, cards, topology.instance("web1"), topology.instance("db1").ip, 6, 5432)
    other = type(found.live)(False, "forward", "vpcs[0].nacls[2].ingress[0]")
    assert not agrees(other, found.static)
    assert not agrees(type(found.live)(True, "return", None), found.static)


def test_a_syn_that_the_kernel_clamps_at_a_tgw_is_followed_back_from_it():
    """ofproto/trace ends a SYN at the clamp port (tgw_mtu); why goes on from classify as the
    kernel sends it back: in on the clamp port, the input port and registers in its MACs."""
    tgw_mtu, onward = TABLE["tgw_mtu"], TABLE["nacl_tgw_entry"]
    to_kernel = (
        'Flow: tcp,in_port=1,tcp_flags=syn,tp_dst=5432\n\nbridge("br-int")\n'
        f"{tgw_mtu:2d}. priority 200, cookie 0x1\n    output:{MSS_CLAMP_PORT}\n\n"
        "Final flow: tcp,reg0=0x30000,reg1=0x20000,reg2=0x20001,in_port=1,"
        "nw_src=10.1.1.4,tcp_flags=syn,tp_dst=5432\n"
    )
    back = f'Flow: tcp\n\nbridge("br-int")\n 0. priority 100, cookie 0x3\n    goto_table:{onward}\n'
    back += f"{onward:2d}. priority 1, cookie 0x2\n    output:7\n"
    asked: list = []

    def run(server: str, flow: str, ct_next: str) -> str:
        asked.append(flow)
        return back if f"in_port={MSS_CLAMP_PORT}" in flow else to_kernel

    plan = Plan(example("inspection.yaml"))
    walk = follow(run, plan, {}, "srv1", "tcp,in_port=1,tcp_flags=syn,tp_dst=5432", NEW)
    assert asked[1] == (
        f"tcp,in_port={MSS_CLAMP_PORT},nw_src=10.1.1.4,tp_dst=5432,tcp_flags=syn,"
        "dl_src=02:00:00:01:00:02,dl_dst=02:01:00:03:00:01"
    )
    first, second = walk.legs
    assert first.clamped and [s.stage for s in first.steps] == ["tgw_mtu"]
    assert [s.stage for s in second.steps] == ["classify", "nacl_tgw_entry"]
    lines = render(walk, lambda cookie: str(cookie), "request")
    assert any("clamps the SYN's MSS to 8460, sends it back" in line for line in lines), lines


def test_after_check_pkt_larger_the_rewrites_that_follow_are_applied_to_the_final_packet():
    """Recorded from inspection.yaml (app1 -> data1, into the TGW): OVS's "Final flow" is the
    packet where check_pkt_larger forked; the appliance's MAC and the second TTL step come after."""
    text = (RECORDED / "inspection-app1-data1-srv1.txt").read_text().split("\n", 1)[1]
    assert "dl_dst=02:00:00:00:00:01" in next(line for line in text.splitlines() if line.startswith("Final"))
    leg = parse("srv1", text)
    assert (leg.final["dl_dst"], leg.final["dl_src"], leg.final["nw_ttl"]) == (
        "02:00:00:00:04:0a",
        ROUTER_MAC,
        "62",
    )
    assert (leg.output, leg.vni) == (TUNNEL_PORT, 0x3003)


def test_an_ipv6_packet_is_written_as_ovs_parses_it_and_taken_again_after_a_tunnel():
    """OVS's trace parser refuses tp_src with udp6 (it takes udp_src) and prints an ICMPv6
    type as icmp_type: the flows why sends are in the names it takes back."""
    from ipaddress import ip_address

    from vpclab.inspection.why import Leg, _again, first_packet

    plan = Plan(example("dual-stack.yaml"))
    build1, web1 = plan.topology.instance("build1"), plan.topology.instance("web1")
    sent = first_packet(plan, "worker1", build1.ipv6, 17, 53, 40000)
    assert sent.startswith("udp6,in_port=") and "ipv6_src=2001:db8:2000:2::4" in sent
    assert "udp_src=40000,udp_dst=53" in sent and "tp_src" not in sent
    ping = first_packet(plan, "web1", ip_address(str(build1.ipv6)), 58, None, None)
    assert ping.startswith("icmp6,") and ping.endswith("icmpv6_type=128,icmpv6_code=0")
    assert first_packet(plan, "web1", build1.ip, 1, None, None).startswith("icmp,")
    final = {"udp6": True, "ipv6_src": str(web1.ipv6), "ipv6_dst": str(build1.ipv6), "tp_src": "1"}
    again = _again(Leg("srv1", [], final=final), ["in_port=100"])
    assert again == f"udp6,in_port=100,ipv6_src={web1.ipv6},ipv6_dst={build1.ipv6},udp_src=1"
    echo = _again(Leg("srv1", [], final={"icmp6": True, "icmp_type": "128"}), [])
    assert echo == "icmp6,icmpv6_type=128"
