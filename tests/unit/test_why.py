"""`why` without root: ofproto/trace's text (recorded from the real cards of three-tier.yaml,
web1 -> db1 tcp/5432) read back, followed over the tunnel, named by cookie and compared with
the static trace; a card that answers something else is asked exactly what `why` would ask."""

from pathlib import Path

from vpc_fixtures import example

from controller.pipeline import TUNNEL_PORT
from vpclab.why import NEW, agrees, explain, parse

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
