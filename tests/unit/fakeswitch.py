"""Fake Nitro cards fed with the real OpenFlow messages Hyperplane sends (no OVS, no root).

Like Faucet's clib/fakeoftable: every ``OFPFlowMod`` that ``controller.hyperplane.ofmsg`` builds is
serialized to wire bytes and parsed back, exactly as a switch receives it, then applied with
OpenFlow's semantics (add replaces an identical match, delete-strict, modify, non-strict
delete). Adding a flow that overlaps another of equal priority and different match raises,
as that is an ambiguity a real switch resolves arbitrarily. Packets run through the tables:
highest priority match, apply-actions (set-field, NX ct/ct_clear/resubmit/reg-move,
dec_ttl, output), goto-table; VXLAN carries them between cards by tun_ipv4_dst.
Conntrack is modelled per (card, zone), with NAT: a committed translation rewrites its
connection's later packets, and the reverse for its replies.
"""

from __future__ import annotations

import functools
import types
import zlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Optional

from os_ken.lib.packet import ethernet, icmp, icmpv6, ipv4, ipv6, tcp
from os_ken.lib.packet import packet as packet_library
from os_ken.ofproto import nicira_ext, ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from controller.compiler import compile_topology
from controller.hyperplane import pmtu
from controller.hyperplane.core import Core
from controller.hyperplane.ofmsg import NXActionCheckPktLarger, flow_mod
from vpclab.intent.model import INTERNET_CARD, TGW_MSS
from vpclab.layout.pipeline import (
    CT_EST,
    CT_INV,
    CT_NEW,
    CT_SNAT,
    CT_TRK,
    MSS_CLAMP_PORT,
    ROUTER_MAC,
    STAGE_AT,
    TUNNEL_PORT,
)
from vpclab.oracle.trace import trace

ADDRESS_FIELDS = {"ipv4_src", "ipv4_dst", "tun_ipv4_dst", "tun_ipv4_src", "arp_tpa", "arp_spa"}
IPV6_FIELDS = {"ipv6_src", "ipv6_dst", "ipv6_nd_target"}
IP_TYPES = (0x0800, 0x86DD)
MAC_FIELDS = {"eth_src", "eth_dst", "arp_sha", "arp_tha"}
PREREQUISITES = {
    "ipv4_src": ("eth_type", 0x0800),
    "ipv4_dst": ("eth_type", 0x0800),
    "ipv6_src": ("eth_type", 0x86DD),
    "ipv6_dst": ("eth_type", 0x86DD),
    "ip_proto": ("eth_type", IP_TYPES),
    "tcp_dst": ("ip_proto", 6),
    "tcp_src": ("ip_proto", 6),
    "udp_dst": ("ip_proto", 17),
    "udp_src": ("ip_proto", 17),
    "icmpv4_type": ("ip_proto", 1),
    "icmpv4_code": ("ip_proto", 1),
    "icmpv6_type": ("ip_proto", 58),
    "icmpv6_code": ("ip_proto", 58),
    "ipv6_nd_target": ("icmpv6_type", (135, 136)),
    "arp_op": ("eth_type", 0x0806),
    "arp_tpa": ("eth_type", 0x0806),
}
MAX_STEPS = 64
# OVS translates a packet's actions with the fields it extracted: past a ct action with nat and
# no recirculation the datapath rewrites the packet, but the tables go on matching the old
# addresses and ports (kept here under this key) until the next recirculation or set_field
STALE = "_stale"
NAT_FIELDS = ("ipv4_src", "ipv4_dst", "tcp_src", "tcp_dst", "udp_src", "udp_dst")
ECHO_REQUESTS = {1: ("icmpv4_type", 8), 58: ("icmpv6_type", 128)}
ECHO_REPLIES = {1: ("icmpv4_type", 0), 58: ("icmpv6_type", 129)}
NAT_SRC = 1  # NX_NAT_F_SRC
TCP_SYN, TCP_SYN_ACK, TCP_RST = 0x02, 0x12, 0x04
SMALL_FRAME = 100  # a packet's frame length, unless it says ("frame_length")
JUMBO_MSS = 8961  # what an instance at MTU 9001 offers in its SYN, unless it says ("tcp_mss")
DATAPATH = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser, id=1)


class Ambiguous(AssertionError):
    """Two flows of equal priority in one table that a packet could both match."""


class Rejected(AssertionError):
    """A flow-mod a switch would refuse (e.g. a match without its prerequisite)."""


def on_the_wire(message):
    """The message as the switch sees it: serialized by os-ken, then parsed back."""
    message.datapath = DATAPATH
    message.set_xid(1)
    message.serialize()
    return ofproto_parser.msg(
        DATAPATH, ofp.OFP_VERSION, message.msg_type, len(message.buf), 1, bytes(message.buf)
    )


@functools.cache
def _added(flow):
    return on_the_wire(flow_mod(flow))


def _number(field: str, value):
    if field in ADDRESS_FIELDS:
        return int(IPv4Address(value))
    if field in IPV6_FIELDS:
        return int(IPv6Address(value))
    if field in MAC_FIELDS:
        return int(str(value).replace(":", ""), 16)
    return value


def _split(field: str, wanted) -> tuple[int, Optional[int]]:
    if isinstance(wanted, tuple):
        return _number(field, wanted[0]), _number(field, wanted[1])
    return _number(field, wanted), None


def field_matches(field: str, wanted, have) -> bool:
    if have is None:
        return False
    value, mask = _split(field, wanted)
    have = _number(field, have)
    return have == value if mask is None else (have & mask) == (value & mask)


def overlap(first: dict, second: dict) -> bool:
    """Could one packet match both? (every field both constrain is compatible)"""
    for field in first.keys() & second.keys():
        (a, mask_a), (b, mask_b) = _split(field, first[field]), _split(field, second[field])
        full = (1 << 128) - 1
        common = (full if mask_a is None else mask_a) & (full if mask_b is None else mask_b)
        if (a ^ b) & common:
            return False
    return True


@dataclass
class Entry:
    table: int
    priority: int
    match: dict
    instructions: list
    cookie: int

    @property
    def key(self) -> tuple:
        return (self.table, self.priority, tuple(sorted(self.match.items())))


@dataclass
class Translation:
    """A NAT binding: the connection's first packet (``original``) had ``field`` changed from
    ``before`` to ``after`` (and its port ``port`` from ``port_before`` to ``port_after``);
    ``reply`` is the 5-tuple of its replies as they arrive."""

    original: tuple
    field: str
    before: str
    after: str
    reply: tuple
    port: Optional[str] = None
    port_before: Optional[int] = None
    port_after: Optional[int] = None

    @property
    def reply_field(self) -> str:
        """The field a reply gets back: its destination for a source NAT, and vice versa."""
        return "ipv4_dst" if self.field == "ipv4_src" else "ipv4_src"

    @property
    def reply_port(self) -> Optional[str]:
        if self.port is None:
            return None
        return (
            self.port.replace("_src", "_dst")
            if self.port.endswith("_src")
            else self.port.replace("_dst", "_src")
        )


class FakeCard:
    """One card's flow tables, changed only through flow-mods."""

    def __init__(self, name: str):
        self.name = name
        self.entries: dict[tuple, Entry] = {}
        self.conntrack: dict[int, set] = {}
        self.translations: dict[int, list[Translation]] = {}
        self.marks: dict = {}  # (zone, five-tuple of either direction) -> ct_mark

    # -- flow-mods -------------------------------------------------------------------------
    def add(self, flow) -> None:
        """Install ``flow`` with the flow-mod Hyperplane would send (parsed once per flow)."""
        self._apply(_added(flow))

    def apply(self, message) -> None:
        self._apply(on_the_wire(message))

    def _apply(self, mod) -> None:
        match = dict(mod.match.items())
        entry = Entry(mod.table_id, mod.priority, match, list(mod.instructions), mod.cookie)
        if mod.command == ofp.OFPFC_ADD:
            self._check(entry)
            self.entries[entry.key] = entry
        elif mod.command == ofp.OFPFC_DELETE_STRICT:
            self.entries.pop(entry.key, None)
        elif mod.command == ofp.OFPFC_DELETE:
            self.entries = {
                k: e
                for k, e in self.entries.items()
                if not (mod.table_id in (ofp.OFPTT_ALL, e.table) and _covers(match, e.match))
            }
        elif mod.command in (ofp.OFPFC_MODIFY, ofp.OFPFC_MODIFY_STRICT):
            for existing in self.entries.values():
                same = (
                    existing.key == entry.key
                    if mod.command == ofp.OFPFC_MODIFY_STRICT
                    else existing.table == entry.table and _covers(match, existing.match)
                )
                if same:
                    existing.instructions = entry.instructions
        else:
            raise Rejected(f"unsupported flow-mod command {mod.command}")

    def _check(self, entry: Entry) -> None:
        for field in entry.match:
            needed = PREREQUISITES.get(field)
            allowed = needed[1] if needed and isinstance(needed[1], tuple) else needed and (needed[1],)
            if needed and entry.match.get(needed[0]) not in allowed:
                raise Rejected(f"{self.name} table {entry.table}: {field} without {needed}")
        for action in _apply_actions(entry):  # OVS: OFPBAC_MATCH_INCONSISTENT
            if isinstance(action, parser.NXActionCT) and entry.match.get("eth_type") not in IP_TYPES:
                raise Rejected(f"{self.name} table {entry.table}: ct without an IP match")
        for other in self.entries.values():
            if (
                (other.table, other.priority) == (entry.table, entry.priority)
                and other.key != entry.key
                and overlap(other.match, entry.match)
            ):
                raise Ambiguous(
                    f"{self.name} {STAGE_AT[entry.table]} priority {entry.priority}: "
                    f"{other.match} overlaps {entry.match}"
                )

    def state(self) -> set:
        """The card's flows, comparable between two cards."""
        return {(k, repr(e.instructions), e.cookie) for k, e in self.entries.items()}

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, table: int, packet: dict) -> Optional[Entry]:
        packet = {**packet, **packet.get(STALE, {})}  # what OVS's tables see (see ``STALE``)
        best = None
        for entry in self.entries.values():
            if (
                entry.table == table
                and (best is None or entry.priority > best.priority)
                and all(
                    field_matches(f, w, packet.get(f, 0 if f.startswith("reg") or f == "metadata" else None))
                    for f, w in entry.match.items()
                )
            ):
                best = entry
        return best

    def connection_state(self, zone: int, packet: dict) -> int:
        """+est for a known connection; +new for a packet that may open one; else +inv, as
        conntrack marks an echo reply or a SYN-ACK it never saw the request of."""
        key = _five_tuple(packet)
        known = self.conntrack.get(zone, set())
        translated = {b.reply for b in self.translations.get(zone, [])}
        if key in known or _reverse(key) in known or key in translated:
            return CT_TRK | CT_EST
        lone_reply = packet.get("icmpv4_type") == 0 or packet.get("tcp_flags", TCP_SYN) != TCP_SYN
        return CT_TRK | (CT_INV if lone_reply else CT_NEW)

    def commit(self, zone: int, packet: dict) -> None:
        key = _five_tuple(packet)
        known = self.conntrack.setdefault(zone, set())
        if _reverse(key) not in known:
            known.add(key)

    def nat(self, zone: int, packet: dict, nat, commit: bool) -> int:
        """Translate ``packet`` as its connection's binding says; a committed new connection
        with an address to translate to gets a binding. Returns CT_SNAT if its source was
        translated (the original direction of a source NAT), else 0."""
        key = _five_tuple(packet)
        for binding in self.translations.get(zone, []):
            if key == binding.original:
                packet[binding.field] = binding.after
                if binding.port:
                    packet[binding.port] = binding.port_after
                return CT_SNAT if binding.field == "ipv4_src" else 0
            if key == binding.reply:
                packet[binding.reply_field] = binding.before
                if binding.reply_port:
                    packet[binding.reply_port] = binding.port_before
                return 0
        if not (commit and nat.range_ipv4_min):
            return 0
        field = "ipv4_src" if nat.flags & NAT_SRC else "ipv4_dst"
        before = packet[field]
        packet[field] = nat.range_ipv4_min
        port = port_before = port_after = None
        kind = {6: "tcp", 17: "udp"}.get(packet.get("ip_proto"))
        if kind and nat.range_proto_min:
            port = f"{kind}_{field[-3:]}"
            port_before = packet.get(port)
            low, high = nat.range_proto_min, nat.range_proto_max or nat.range_proto_min
            taken = {b.port_after for b in self.translations.get(zone, []) if b.port == port}
            if field == "ipv4_dst":  # a destination port: the tuple stays unique by its source
                taken = set()
            port_after = (
                port_before
                if low <= port_before <= high and port_before not in taken
                else next(p for p in range(low, high + 1) if p not in taken)
            )
            packet[port] = port_after
        binding = Translation(
            key,
            field,
            before,
            nat.range_ipv4_min,
            _reverse(_five_tuple(packet)),
            port,
            port_before,
            port_after,
        )
        self.translations.setdefault(zone, []).append(binding)
        self.conntrack.setdefault(zone, set()).add(key)
        return CT_SNAT if field == "ipv4_src" else 0


def _apply_actions(entry: Entry) -> list:
    return [
        action
        for instruction in entry.instructions
        if isinstance(instruction, parser.OFPInstructionActions)
        for action in instruction.actions
    ]


def _covers(loose: dict, strict: dict) -> bool:
    """A non-strict match ``loose`` selects the flows whose match has all its fields."""
    return all(strict.get(field) == value for field, value in loose.items())


def _reverse(key: tuple) -> tuple:
    return (key[1], key[0], key[2], key[4], key[3])


def _five_tuple(packet: dict) -> tuple:
    """The connection key; an ICMP echo reply (type 0) is the reverse of its request (type 8)."""
    family = "ipv6" if packet.get("eth_type") == 0x86DD else "ipv4"
    source, destination = packet[f"{family}_src"], packet[f"{family}_dst"]
    protocol = packet.get("ip_proto")
    if protocol in ECHO_REQUESTS:
        field, request = ECHO_REQUESTS[protocol]
        ends = ("echo", 1) if packet.get(field) == request else (1, "echo")
        return (source, destination, protocol) + ends
    kind = {6: "tcp", 17: "udp"}.get(packet.get("ip_proto"), "ip")
    return (
        source,
        destination,
        packet.get("ip_proto"),
        packet.get(f"{kind}_src"),
        packet.get(f"{kind}_dst"),
    )


class Outcome:
    def __init__(self):
        self.delivered, self.tunnelled, self.arp_replies, self.path = [], [], [], []
        self.dropped_at = None  # (server, stage, cookie of the dropping flow, or None)
        self.answers = []  # (card, packet-out): what Hyperplane sent back for a packet-in
        self.samples = []  # (server, stage, obs_domain_id, obs_point_id, in_port, eth_dst)

    def drop(self, server, table, cookie):
        self.dropped_at = (server, STAGE_AT[table], cookie)


class FakeFabric:
    """Cards by server name, loaded with a compiled topology's flow-mods."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.core = Core.of_compiled(compiled)  # Hyperplane's, every card connected
        self.cards = {server: FakeCard(server) for server in compiled.flows}
        for server, flows in compiled.flows.items():
            for each in flows:
                self.cards[server].add(each)
        self.by_underlay = {int(compiled.plan.underlay_ip(s)): s for s in self.cards}
        self.appliances = {  # (card, port) -> an instance that forwards what is not for it
            (local.instance.server, local.port): local
            for local in compiled.plan.instances.values()
            if not local.instance.source_dest_check
        }

    def origin(self, cookie: Optional[int]) -> Optional[str]:
        return None if cookie is None else self.compiled.origin(cookie)

    def send(self, server: str, packet: dict) -> Outcome:
        outcome = Outcome()
        self._table(server, dict(packet), 0, outcome, steps=0)
        return outcome

    def inject(self, server: str, message) -> Outcome:
        """A packet-out from the controller, as the switch reads it off the wire: its actions
        run on the packet its data carries (os-ken parses no packet-out: read its layout)."""
        outcome = Outcome()
        self._packet_out(server, message, outcome, 0)
        return outcome

    def _packet_out(self, server: str, message, outcome, steps) -> None:
        message.datapath = DATAPATH
        message.serialize()
        buffer = bytes(message.buf)
        length = int.from_bytes(buffer[16:18], "big")
        actions, offset = [], 24  # header, buffer id, in_port, actions length, pad
        while offset < 24 + length:
            action = parser.OFPAction.parser(buffer, offset)
            actions.append(action)
            offset += action.len
        packet = {**frame_fields(buffer[24 + length :]), "in_port": int.from_bytes(buffer[12:16], "big")}
        entry = types.SimpleNamespace(table=0, cookie=None)
        self._actions(server, self.cards[server], entry, actions, packet, outcome, steps)

    def _controller(self, server: str, entry, packet: dict, outcome, steps) -> bool:
        """What Hyperplane's core does with a packet-in: a packet too long for an internet
        gateway stops there, and the ICMP error the core answers is kept in
        ``outcome.answers``; False for anything else (a probe's answer, counted by the core)."""
        frame = solicitation_frame(packet) if packet.get("icmpv6_type") == 135 else ip_frame(packet)
        index = self.compiled.plan.server_index[server]
        kind = self.core.packet_in(entry.table, frame, index, packet.get("in_port"))
        answers = [(out.server, out.message) for out in self.core.take()]
        if kind not in ("pmtu", "nd"):
            return False
        outcome.drop(server, entry.table, entry.cookie)
        outcome.answers += answers
        return True

    def _table(self, server, packet, table, outcome, steps) -> None:
        steps += 1
        assert steps < MAX_STEPS, "flow loop"
        card = self.cards[server]
        entry = card.lookup(table, packet)
        if entry is None:
            outcome.drop(server, table, None)
            return
        outcome.path.append((server, STAGE_AT[table], self.origin(entry.cookie)))
        goto, went_on = None, False
        for instruction in entry.instructions:
            if isinstance(instruction, parser.OFPInstructionActions):
                went_on, stop = self._actions(
                    server, card, entry, instruction.actions, packet, outcome, steps
                )
                if stop:
                    return
            elif isinstance(instruction, parser.OFPInstructionGotoTable):
                goto = instruction.table_id
        if goto is not None:
            self._table(server, packet, goto, outcome, steps)
        elif not went_on:
            outcome.drop(server, table, entry.cookie)  # no output, no goto: a drop

    def _actions(self, server, card, entry, actions, packet, outcome, steps) -> tuple[bool, bool]:
        """Run apply-actions: (the packet went somewhere, processing of this entry stops)."""
        went_on = False
        for action in actions:
            if isinstance(action, parser.OFPActionSetField):
                packet[action.key] = action.value
                packet.get(STALE, {}).pop(action.key, None)
            elif isinstance(action, parser.OFPActionDecNwTtl):
                packet["nw_ttl"] = packet.get("nw_ttl", 64) - 1
                if packet["nw_ttl"] <= 0:
                    outcome.drop(server, entry.table, entry.cookie)
                    return False, True
            elif isinstance(action, parser.NXActionCTClear):
                packet.pop("ct_state", None)
            elif isinstance(action, parser.NXActionCT):
                commit = bool(action.flags & nicira_ext.NX_CT_F_COMMIT)
                nat = next((a for a in action.actions if isinstance(a, parser.NXActionNAT)), None)
                translated, state = 0, card.connection_state(action.zone_ofs_nbits, packet)  # as it came
                if nat is not None:
                    before = {f: packet.get(f) for f in NAT_FIELDS}
                    translated = card.nat(action.zone_ofs_nbits, packet, nat, commit)
                    if action.recirc_table == 255:  # the tables go on matching the old values
                        stale = packet.setdefault(STALE, {})
                        for field, value in before.items():
                            if packet.get(field) != value:
                                stale.setdefault(field, value)
                elif commit:
                    card.commit(action.zone_ofs_nbits, packet)
                key = _five_tuple(packet)
                for mark in (a.value for a in action.actions if getattr(a, "key", None) == "ct_mark"):
                    if commit:
                        card.marks[action.zone_ofs_nbits, key] = mark
                        card.marks[action.zone_ofs_nbits, _reverse(key)] = mark
                if action.recirc_table != 255:
                    assert action is actions[-1], "nothing may follow a recirculating ct"
                    packet["ct_state"] = state | translated
                    packet["ct_mark"] = card.marks.get((action.zone_ofs_nbits, key), 0)
                    packet.pop(STALE, None)  # a recirculation extracts the packet's fields again
                    self._table(server, packet, action.recirc_table, outcome, steps)
                    return True, True
                # OVS: the ct fields are valid only after a recirculation; past a ct action
                # without one, the rest of the pass sees an untracked packet
                packet.pop("ct_state", None)
                packet.pop("ct_mark", None)
            elif isinstance(action, parser.NXActionResubmitTable):
                self._table(server, packet, action.table_id, outcome, steps)
                went_on = True
            elif isinstance(action, parser.NXActionRegMove):
                _move(action, packet)
            elif isinstance(action, parser.NXActionRegLoad) and action.dst == "in_port_nxm":
                packet["in_port"] = action.value  # what an output to the input port now needs
            elif isinstance(action, parser.NXActionRegLoad):
                _load(packet, action.dst, action.ofs_nbits, action.value)
            elif isinstance(action, parser.NXActionMultipath):
                ends = sorted(map(str, _five_tuple(packet)))  # symmetric, as OVS's hash
                _load(
                    packet,
                    action.dst,
                    action.ofs_nbits,
                    zlib.crc32(repr(ends).encode()) % (action.max_link + 1),
                )
            elif isinstance(action, parser.NXActionSample):
                outcome.samples.append(
                    (
                        server,
                        STAGE_AT[entry.table],
                        action.obs_domain_id,
                        action.obs_point_id,
                        packet.get("in_port"),
                        packet.get("eth_dst"),
                    )
                )
            elif isinstance(action, NXActionCheckPktLarger):
                larger = int(packet.get("frame_length", SMALL_FRAME) > action.pkt_len)
                _load(packet, action.dst, action.offset << 6, larger)  # one bit at the offset
            elif isinstance(action, parser.OFPActionOutput):
                if action.port == ofp.OFPP_CONTROLLER and self._controller(
                    server, entry, packet, outcome, steps
                ):
                    went_on = True
                    continue
                if action.port == packet.get("in_port") and action.port != ofp.OFPP_CONTROLLER:
                    outcome.drop(server, entry.table, entry.cookie)  # OVS: "skipping output to input port"
                    return False, True
                port = packet["in_port"] if action.port == ofp.OFPP_IN_PORT else action.port
                self._output(server, port, packet, outcome, steps)
                went_on = True
            else:
                raise Rejected(f"the fake switch does not know {action}")
        return went_on, False

    def _output(self, server, port, packet, outcome, steps) -> None:
        if packet.get("eth_type") == 0x0806:
            outcome.arp_replies.append((server, port, packet.get("arp_sha"), packet.get("arp_spa")))
            return
        appliance = self.appliances.get((server, port))
        own = {str(address) for address in appliance.instance.addresses} if appliance else set()
        if appliance is not None and (packet.get("ipv4_dst") or packet.get("ipv6_dst")) not in own:
            self._forward(server, appliance, packet, outcome, steps)
            return
        if port == MSS_CLAMP_PORT:
            self._clamp(server, packet, outcome, steps)
            return
        if port != TUNNEL_PORT:
            outcome.delivered.append((server, port, {f: v for f, v in packet.items() if f != STALE}))
            return
        remote = self.by_underlay[int(IPv4Address(packet["tun_ipv4_dst"]))]
        arriving = {
            field: value
            for field, value in packet.items()
            if not field.startswith(("reg", "tun_"))
            and field not in ("ct_state", "ct_mark", "metadata", STALE)
        }  # VXLAN keeps the VNI (tunnel_id), not the card's metadata (GBP's id: OVS's userspace
        # tunnels do not send it)
        arriving["in_port"] = TUNNEL_PORT
        arriving["tun_ipv4_src"] = str(self.compiled.plan.underlay_ip(server))
        outcome.tunnelled.append((server, remote, packet["tunnel_id"]))
        self._table(remote, arriving, 0, outcome, steps)

    def _clamp(self, server, packet, outcome, steps) -> None:
        """The card's kernel (nitro_switch.server.mss_clamp_ruleset): a SYN or SYN-ACK's MSS
        above TGW_MSS becomes TGW_MSS; the frame, MACs and all, comes back on the clamp port."""
        outcome.path.append((server, "kernel", "mss clamp"))
        back = {
            f: v
            for f, v in packet.items()
            if not f.startswith(("reg", "tun")) and f not in ("ct_state", "ct_mark", "metadata")
        }
        syn = packet.get("tcp_flags", 0) & (TCP_SYN | TCP_RST) == TCP_SYN  # SYN or SYN-ACK, no RST
        limit = TGW_MSS - (20 if packet.get("eth_type") == 0x86DD else 0)  # IPv6's header: 40 bytes
        if syn and packet.get("ip_proto") == 6 and back.get("tcp_mss", JUMBO_MSS) > limit:
            back["tcp_mss"] = limit
        back["in_port"] = MSS_CLAMP_PORT
        self._table(server, back, 0, outcome, steps)

    def _forward(self, server, appliance, packet, outcome, steps) -> None:
        """An appliance's kernel routes the packet back out to the subnet's router."""
        outcome.path.append((server, "appliance", appliance.instance.name))
        sent = {
            field: value
            for field, value in packet.items()
            if not field.startswith(("reg", "tun")) and field not in ("ct_state", "ct_mark", "metadata")
        }
        sent.update(in_port=appliance.port, eth_src=appliance.mac, eth_dst=ROUTER_MAC)
        sent["nw_ttl"] = sent.get("nw_ttl", 64) - 1
        if sent["nw_ttl"] > 0:
            self._table(server, sent, 0, outcome, steps)


def frame_fields(data: bytes) -> dict:
    """The match fields of an Ethernet/IPv4/ICMP frame, as the fake cards keep a packet."""
    frame = packet_library.Packet(data)
    ether, ip = frame.get_protocol(ethernet.ethernet), frame.get_protocol(ipv4.ipv4)
    fields = {
        "in_port": ofp.OFPP_CONTROLLER,
        "eth_src": ether.src,
        "eth_dst": ether.dst,
        "eth_type": ether.ethertype,
        "ipv4_src": ip.src,
        "ipv4_dst": ip.dst,
        "ip_proto": ip.proto,
        "nw_ttl": ip.ttl,
    }
    message, segment = frame.get_protocol(icmp.icmp), frame.get_protocol(tcp.tcp)
    if message is not None:
        fields.update(icmpv4_type=message.type, icmpv4_code=message.code)
    if segment is not None:
        fields.update(tcp_src=segment.src_port, tcp_dst=segment.dst_port, tcp_flags=segment.bits)
        sizes = [
            o.max_seg_size for o in segment.option or () if isinstance(o, tcp.TCPOptionMaximumSegmentSize)
        ]
        if sizes:
            fields["tcp_mss"] = sizes[0]
    fields["frame_length"] = len(data)
    return fields


def ip_frame(packet: dict) -> bytes:
    """The wire form of a fake IPv4 packet, ``frame_length`` long, with Don't Fragment unless
    it says ``ip_df: False`` (its payload zeros, whatever its protocol)."""
    frame = packet_library.Packet()
    if packet.get("eth_type") == 0x86DD:  # IPv6: no fragmentation flags
        frame.add_protocol(
            ethernet.ethernet(dst=packet.get("eth_dst", ROUTER_MAC), src=packet["eth_src"], ethertype=0x86DD)
        )
        frame.add_protocol(
            ipv6.ipv6(
                src=packet["ipv6_src"],
                dst=packet["ipv6_dst"],
                nxt=packet["ip_proto"],
                hop_limit=packet["nw_ttl"],
            )
        )
        frame.add_protocol(bytes(packet.get("frame_length", SMALL_FRAME) - 14 - 40))
        frame.serialize()
        return bytes(frame.data)
    frame.add_protocol(ethernet.ethernet(dst=packet.get("eth_dst", ROUTER_MAC), src=packet["eth_src"]))
    flags = pmtu.DONT_FRAGMENT if packet.get("ip_df", True) else 0
    header = ipv4.ipv4(
        src=packet["ipv4_src"],
        dst=packet["ipv4_dst"],
        proto=packet["ip_proto"],
        ttl=packet["nw_ttl"],
        flags=flags,
    )
    frame.add_protocol(header)
    frame.add_protocol(bytes(packet.get("frame_length", SMALL_FRAME) - 14 - 20))
    frame.serialize()
    return bytes(frame.data)


def solicitation_frame(packet: dict) -> bytes:
    """The wire form of a fake neighbour solicitation (its target: ``ipv6_nd_target``)."""
    frame = packet_library.Packet()
    frame.add_protocol(ethernet.ethernet(dst=packet["eth_dst"], src=packet["eth_src"], ethertype=0x86DD))
    frame.add_protocol(ipv6.ipv6(src=packet["ipv6_src"], dst=packet["ipv6_dst"], nxt=58, hop_limit=255))
    option = icmpv6.nd_option_sla(hw_src=packet["eth_src"])
    target = packet["ipv6_nd_target"]
    frame.add_protocol(icmpv6.icmpv6(type_=135, data=icmpv6.nd_neighbor(dst=target, option=option)))
    frame.serialize()
    return bytes(frame.data)


def syn_frame(packet: dict) -> bytes:
    """The wire form of a fake TCP SYN (or SYN-ACK), its MSS option as it says (``tcp_mss``)."""
    frame = packet_library.Packet()
    frame.add_protocol(ethernet.ethernet(dst=packet.get("eth_dst", ROUTER_MAC), src=packet["eth_src"]))
    frame.add_protocol(
        ipv4.ipv4(src=packet["ipv4_src"], dst=packet["ipv4_dst"], proto=6, ttl=packet["nw_ttl"])
    )
    option = [tcp.TCPOptionMaximumSegmentSize(max_seg_size=packet.get("tcp_mss", JUMBO_MSS))]
    frame.add_protocol(
        tcp.tcp(
            src_port=packet["tcp_src"], dst_port=packet["tcp_dst"], bits=packet["tcp_flags"], option=option
        )
    )
    frame.serialize()
    return bytes(frame.data)


def _load(packet: dict, field: str, ofs_nbits: int, value: int) -> None:
    """NXActionRegLoad (and the actions that write a bit range the same way): ``value`` into
    bits ofs_nbits >> 6 to ofs_nbits >> 6 + (ofs_nbits & 63) of ``field``, the rest kept."""
    offset, bits = ofs_nbits >> 6, (ofs_nbits & 63) + 1
    mask = ((1 << bits) - 1) << offset
    packet[field] = (packet.get(field, 0) & ~mask) | ((value << offset) & mask)


def _move(action, packet: dict) -> None:
    """NXActionRegMove: a whole field (an ARP reply's swaps) or a bit range of integers."""
    whole = action.src_ofs == action.dst_ofs == 0 and action.n_bits in (32, 48)
    if whole:
        packet[action.dst_field] = packet.get(action.src_field)
        return
    source, target = (FIELD_ALIASES.get(f, f) for f in (action.src_field, action.dst_field))
    bits = (1 << action.n_bits) - 1
    value = (_as_number(packet.get(source, 0)) >> action.src_ofs) & bits
    kept = _as_number(packet.get(target, 0)) & ~(bits << action.dst_ofs)
    moved = kept | value << action.dst_ofs
    packet[target] = _as_mac(moved) if target in MAC_FIELDS else moved


FIELD_ALIASES = {"in_port_nxm": "in_port"}


def _as_number(value) -> int:
    return int(value.replace(":", ""), 16) if isinstance(value, str) else value


def _as_mac(number: int) -> str:
    return ":".join(f"{number >> shift & 0xFF:02x}" for shift in range(40, -1, -8))


def endpoint(plan, name: str, version: int = 4) -> tuple[str, int, str, str]:
    """(card, port, MAC, address of IP ``version``) of an instance or an internet host."""
    if name in plan.instances:
        local = plan.instances[name]
        address = local.instance.ip if version == 4 else local.instance.ipv6
        return local.instance.server, local.port, local.mac, str(address)
    outside = plan.internet_hosts[name]
    address = outside.host.ip if version == 4 else outside.host.ipv6
    return INTERNET_CARD, outside.port, outside.mac, str(address)


def endpoint_at(plan, card: str, port: int) -> Optional[str]:
    """The instance or internet host at ``port`` of ``card``."""
    everyone = [*plan.instances, *plan.internet_hosts]
    return next((name for name in everyone if endpoint(plan, name)[:2] == (card, port)), None)


def instance_packet(
    plan, name: str, destination: str, protocol: int, port=None, source_port=None, **overrides
) -> tuple[str, dict]:
    """(card, packet) for a packet sent by instance (or internet host) ``name`` to address
    ``destination``."""
    version = 6 if ":" in destination else 4
    card, in_port, mac, address = endpoint(plan, name, version)
    family = f"ipv{version}"
    packet = {
        "in_port": in_port,
        "eth_src": mac,
        "eth_type": 0x0800 if version == 4 else 0x86DD,
        f"{family}_src": address,
        f"{family}_dst": destination,
        "ip_proto": protocol,
        "nw_ttl": 64,
    }
    if port is not None:
        kind = {6: "tcp", 17: "udp"}[protocol]
        packet.update({f"{kind}_src": source_port, f"{kind}_dst": port})
        if protocol == 6:
            packet["tcp_flags"] = TCP_SYN
    if protocol in ECHO_REQUESTS:
        field, request = ECHO_REQUESTS[protocol]
        packet.update({field: request, field.replace("type", "code"): 0})  # echo request
    packet.update(overrides)
    return card, packet


def exchange(fabric: FakeFabric, source: str, address: str, protocol: int, port=None, source_port=40000):
    """A request from ``source`` to ``address`` and, from wherever it arrives, the reply to
    the packet as it arrived (after any translation). Returns (accepted, direction, origin of
    the deciding drop, the endpoint the request reached)."""
    plan = fabric.compiled.plan
    client_port = source_port if port is not None else None
    card, request = instance_packet(plan, source, address, protocol, port, client_port)
    there = fabric.send(card, request)
    if not there.delivered:
        return False, "forward", there.dropped_at and fabric.origin(there.dropped_at[2]), None
    at_card, at_port, arrived = there.delivered[0]
    target = endpoint_at(plan, at_card, at_port)
    assert target is not None
    if port is not None:  # as it arrived: a translation may have changed the ports
        kind = {6: "tcp", 17: "udp"}[protocol]
        port, client_port = arrived[f"{kind}_dst"], arrived[f"{kind}_src"]
    family = "ipv6" if ":" in address else "ipv4"
    answering = {}  # an AWS service's host answers from the address it was asked at
    if target in plan.internet_hosts and plan.internet_hosts[target].host.network:
        answering["ipv4_src"] = arrived["ipv4_dst"]
    card, reply = instance_packet(
        plan, target, arrived[f"{family}_src"], protocol, client_port, port, **answering
    )
    _turn_around(reply, protocol, port, client_port)
    back = fabric.send(card, reply)
    if not any((c, p) == endpoint(plan, source)[:2] for c, p, _ in back.delivered):
        return False, "return", back.dropped_at and fabric.origin(back.dropped_at[2]), target
    return True, "return", None, target


def _turn_around(reply: dict, protocol: int, port, client_port) -> None:
    """Make ``reply`` the answer to a request to ``port`` from ``client_port``."""
    if port is not None:
        kind = {6: "tcp", 17: "udp"}[protocol]
        reply[f"{kind}_src"], reply[f"{kind}_dst"] = port, client_port
        if protocol == 6:
            reply["tcp_flags"] = TCP_SYN_ACK
    if protocol in ECHO_REPLIES:
        field, answer = ECHO_REPLIES[protocol]
        reply.update({field: answer, field.replace("type", "code"): 0})  # echo reply


def connection(
    fabric: FakeFabric, source: str, target: str, protocol: int, port=None, source_port=40000, version=4
):
    """Send a request and, if it arrives, the reply (of IP ``version``). Returns (accepted,
    direction, origin)."""
    plan = fabric.compiled.plan
    target_plan = plan.instances[target]
    to = target_plan.instance.ip if version == 4 else target_plan.instance.ipv6
    server, request = instance_packet(
        plan, source, str(to), protocol, port, source_port if port is not None else None
    )
    there = fabric.send(server, request)
    if not _arrived(there, target_plan):
        return False, "forward", there.dropped_at and fabric.origin(there.dropped_at[2])
    back_to = plan.instances[source].instance
    server, reply = instance_packet(
        plan,
        target,
        str(back_to.ip if version == 4 else back_to.ipv6),
        protocol,
        source_port if port is not None else None,
        port,
    )
    _turn_around(reply, protocol, port, source_port if port is not None else None)
    back = fabric.send(server, reply)
    if not _arrived(back, plan.instances[source]):
        return False, "return", back.dropped_at and fabric.origin(back.dropped_at[2])
    return True, "return", None


def _arrived(outcome: Outcome, local) -> bool:
    return any(
        server == local.instance.server and port == local.port for server, port, _ in outcome.delivered
    )


def decided_alike(expected, accepted: bool, direction: str, origin) -> bool:
    """Do the cards decide like trace's verdict ``expected``: the verdict, and for a drop the
    direction and the deciding object? A misrouted reply is dropped by the data plane at the
    wrong instance (conntrack: +inv), while trace names the route that sent it there."""
    if accepted != expected.accepted:
        return False
    if accepted:
        return True
    if expected.reason == "reply-misrouted":
        return direction == expected.direction
    return (direction, origin) == (expected.direction, expected.rule)


def assert_cards_decide_like_trace(topology, origins: bool = True):
    """Every endpoint to every address (private, public, a NAT gateway's, internet, nobody's), by
    ping and TCP:
    the fake cards deliver, and drop at the flow of the object trace names (with ``origins``;
    else they only drop where trace drops, forward or return)."""
    compiled = compile_topology(topology)
    endpoints = topology.endpoints
    addresses = {a for e in endpoints for a in (e.ip, getattr(e, "public_ip", None)) if a}
    addresses |= {a for nat in topology.nat_gateways for a in (nat.ip, nat.public_ip)}
    addresses |= {link.ip for vpc in topology.vpcs for link in compiled.plan.link_addresses(vpc)}
    addresses.add(IPv4Address("192.0.2.250"))
    addresses |= {h.network[10] for h in topology.internet_hosts if h.network}  # an AWS service's block
    listening = {x.port for b in topology.load_balancers for x in b.listeners}
    listening |= {443} if topology.aws_services else set()  # HTTPS, as S3 and DynamoDB take it
    kinds = [(1, None)] + [(6, port) for port in sorted({80, 9000} | listening)]
    checked = 0
    for source in endpoints:
        if source.service:
            continue  # an AWS service (its endpoint interface, S3's host) opens no connections
        for address in sorted(addresses - {source.ip, getattr(source, "public_ip", None)}):
            for protocol, port in kinds:
                fabric = FakeFabric(compiled)
                accepted, direction, origin, reached = exchange(
                    fabric, source.name, str(address), protocol, port
                )
                expected = trace(topology, source, address, protocol, port, source_port=port and 40000)
                if reached in expected.choices:  # the NLB's flow hash picked this target
                    expected = trace(
                        topology, source, address, protocol, port, source_port=port and 40000, pick=reached
                    )
                found = (
                    accepted,
                    direction if not accepted else "return",
                    origin if origins and expected.reason != "reply-misrouted" else None,
                )

                def seen(verdict) -> tuple:
                    # a misrouted reply: the cards drop it at the wrong instance (conntrack: +inv),
                    # trace names the route that sent it there (as ``decided_alike``)
                    named = origins and verdict.reason != "reply-misrouted"
                    rule = None if verdict.accepted or not named else verdict.rule
                    return (verdict.accepted, verdict.direction, rule)

                wanted = seen(expected)
                if found != wanted and reached is None and expected.choices:
                    # dropped on the way to the target the flow hash picked, which the cards do not
                    # name: agreeing with trace for one of the healthy targets is agreeing
                    picks = [
                        seen(
                            trace(
                                topology, source, address, protocol, port, source_port=port and 40000, pick=c
                            )
                        )
                        for c in expected.choices
                    ]
                    wanted = found if found in picks else wanted
                assert found == wanted, (source.name, str(address), protocol, port, expected.reason)
                checked += 1
    assert checked > 0


IPV6_KINDS = [(58, None), (6, 443), (6, 22), (17, 53)]


def assert_cards_decide_ipv6_like_trace(topology, kinds=IPV6_KINDS) -> int:
    """Every end with an IPv6 address to every IPv6 address (instances', internet hosts', one
    nobody has), by ICMPv6 echo, TCP and UDP: the fake cards deliver, and drop at the flow of
    the object trace names. Returns how many exchanges it checked."""
    compiled = compile_topology(topology)
    addresses = [i.ipv6 for i in topology.instances if i.ipv6 is not None]
    addresses += [h.ipv6 for h in topology.internet_hosts if h.ipv6 is not None]
    addresses.append(IPv6Address("2001:db8:ffff::99"))
    checked = 0
    for source in (e for e in topology.endpoints if getattr(e, "ipv6", None) is not None):
        if source.service:
            continue
        for address in addresses:
            if address == source.ipv6:
                continue
            for protocol, port in kinds:
                fabric = FakeFabric(compiled)
                accepted, direction, origin, _ = exchange(fabric, source.name, str(address), protocol, port)
                expected = trace(topology, source, address, protocol, port, source_port=port and 40000)
                wanted = (expected.accepted, expected.direction, None if expected.accepted else expected.rule)
                if expected.reason == "reply-misrouted":
                    wanted, origin = wanted[:2] + (None,), None
                found = (accepted, direction if not accepted else "return", origin)
                assert found == wanted, (source.name, str(address), protocol, port, expected.reason)
                checked += 1
    return checked
