"""A fake fabric of Nitro cards that executes compiled flows (no OVS, no root).

Like Faucet's fakeoftable: it answers "where does this packet go?" by running the flow
tables as OpenFlow would (highest priority match per table, goto, conntrack recirculation),
and carries VXLAN between cards by tun_dst. Conntrack is modelled per (card, zone).
"""
from __future__ import annotations

from ipaddress import IPv4Address

from controller.pipeline import CT_EST, CT_NEW, CT_TRK, STAGES, TUNNEL_PORT

IP_FIELDS = ("nw_src", "nw_dst", "tun_dst")
MAX_STEPS = 64


def _int(field, value):
    return int(IPv4Address(value)) if field in IP_FIELDS else value


def matches(match: dict, packet: dict) -> bool:
    for field, wanted in match.items():
        have = packet.get(field, 0 if field.startswith("reg") else None)
        if have is None:
            return False
        if isinstance(wanted, tuple):
            value, mask = (_int(field, part) for part in wanted)
            if _int(field, have) & mask != value & mask:
                return False
        elif have != wanted:
            return False
    return True


class FakeCard:
    def __init__(self, name: str, flows):
        self.name = name
        self.tables = {stage: sorted((f for f in flows if f.stage == stage),
                                     key=lambda f: -f.priority) for stage in STAGES}
        self.conntrack: dict[int, set] = {}

    def lookup(self, stage: str, packet: dict):
        return next((f for f in self.tables[stage] if matches(f.match_dict, packet)), None)

    def connection_state(self, zone: int, packet: dict) -> int:
        key = _five_tuple(packet)
        reverse = (key[1], key[0], key[2], key[4], key[3])
        known = self.conntrack.get(zone, set())
        return CT_TRK | (CT_EST if key in known or reverse in known else CT_NEW)

    def commit(self, zone: int, packet: dict) -> None:
        key = _five_tuple(packet)
        reverse = (key[1], key[0], key[2], key[4], key[3])
        known = self.conntrack.setdefault(zone, set())
        if reverse not in known:
            known.add(key)


def _five_tuple(packet):
    """The connection key; an ICMP echo reply (type 0) is the reverse of its request (type 8)."""
    if packet.get("ip_proto") == 1:
        ends = ("echo", 1) if packet.get("icmp_type") == 8 else (1, "echo")
        return (packet["nw_src"], packet["nw_dst"], 1) + ends
    return (packet["nw_src"], packet["nw_dst"], packet.get("ip_proto"), packet.get("tp_src"),
            packet.get("tp_dst"))


class FakeFabric:
    """Cards by server name; ``send`` returns where the packet ended up."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.cards = {server: FakeCard(server, flows) for server, flows in compiled.flows.items()}
        self.by_underlay = {str(compiled.plan.underlay_ip(s)): s for s in self.cards}

    def send(self, server: str, packet: dict) -> "Outcome":
        outcome = Outcome()
        self._run(server, dict(packet), "classify", outcome, steps=0)
        return outcome

    def _run(self, server, packet, stage, outcome, steps):
        card = self.cards[server]
        while stage is not None:
            steps += 1
            assert steps < MAX_STEPS, "flow loop"
            rule = card.lookup(stage, packet)
            if rule is None:
                outcome.drop(server, stage, None)
                return
            outcome.path.append((server, stage, rule.origin))
            stage = self._apply(server, card, rule, packet, outcome, steps)

    def _apply(self, server, card, rule, packet, outcome, steps):
        for action in rule.actions:
            kind = action[0]
            if kind == "drop":
                outcome.drop(server, rule.stage, rule.origin)
                return None
            if kind in ("goto", "resubmit"):  # resubmit is always the last action here
                return action[1]
            if kind == "set":
                packet[action[1]] = action[2]
            elif kind == "dec_ttl":
                packet["nw_ttl"] = packet.get("nw_ttl", 64) - 1
                if packet["nw_ttl"] <= 0:
                    outcome.drop(server, rule.stage, rule.origin)
                    return None
            elif kind == "ct_clear":
                packet.pop("ct_state", None)
            elif kind == "ct":
                _, commit, zone, next_stage = action
                if commit:
                    card.commit(zone, packet)
                if next_stage is not None:
                    packet["ct_state"] = card.connection_state(zone, packet)
                    self._run(server, packet, next_stage, outcome, steps)
                    return None
            elif kind == "output":
                self._output(server, action[1], packet, outcome, steps)
            elif kind == "arp_reply":
                outcome.arp_replies.append((server, packet["in_port"], action[1], action[2]))
            else:
                raise AssertionError(f"unknown action {action}")
        return None

    def _output(self, server, port, packet, outcome, steps):
        if port != TUNNEL_PORT:
            outcome.delivered.append((server, port, dict(packet)))
            return
        remote = self.by_underlay[packet["tun_dst"]]
        arriving = {key: value for key, value in packet.items()
                    if not key.startswith("reg") and key not in ("ct_state", "tun_dst")}
        arriving["in_port"] = TUNNEL_PORT
        outcome.tunnelled.append((server, remote, packet["tun_id"]))
        self._run(remote, arriving, "classify", outcome, steps)


class Outcome:
    def __init__(self):
        self.delivered, self.tunnelled, self.arp_replies, self.path = [], [], [], []
        self.dropped_at = None  # (server, stage, origin of the dropping flow or None)

    def drop(self, server, stage, origin):
        self.dropped_at = (server, stage, origin)


def instance_packet(plan, name: str, destination: str, protocol: int, port=None,
                    source_port=None, **overrides) -> tuple[str, dict]:
    """(server, packet) for a packet sent by instance ``name`` to address ``destination``."""
    local = plan.instances[name]
    packet = {"in_port": local.port, "eth_src": local.mac, "eth_type": 0x0800,
              "nw_src": str(local.instance.ip), "nw_dst": destination, "ip_proto": protocol,
              "nw_ttl": 64}
    if port is not None:
        packet.update(tp_src=source_port, tp_dst=port)
    if protocol == 1:
        packet["icmp_type"] = 8  # echo request
    packet.update(overrides)
    return local.instance.server, packet


def connection(fabric: FakeFabric, source: str, target: str, protocol: int, port=None,
               source_port=40000):
    """Send a request and, if it arrives, the reply. Returns (accepted, direction, origin)."""
    plan = fabric.compiled.plan
    target_plan = plan.instances[target]
    server, request = instance_packet(plan, source, str(target_plan.instance.ip), protocol,
                                      port, source_port if port is not None else None)
    there = fabric.send(server, request)
    if not _arrived(there, target_plan):
        return False, "forward", there.dropped_at and there.dropped_at[2]
    server, reply = instance_packet(plan, target, str(plan.instances[source].instance.ip),
                                    protocol, source_port if port is not None else None, None)
    if port is not None:
        reply["tp_src"] = port
    if protocol == 1:
        reply["icmp_type"] = 0  # echo reply
    back = fabric.send(server, reply)
    if not _arrived(back, plan.instances[source]):
        return False, "return", back.dropped_at and back.dropped_at[2]
    return True, "return", None


def _arrived(outcome: Outcome, local) -> bool:
    return any(server == local.instance.server and port == local.port
               for server, port, _ in outcome.delivered)
