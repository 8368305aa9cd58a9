"""The one place that turns Flow data into OpenFlow 1.3 messages (os-ken parser objects).

Like Faucet's valve_of: messages are built with ``datapath=None`` parsers and attached to a
datapath only when sent, so this module has no connection state.
"""

from __future__ import annotations

import functools
import struct
import types
from typing import Optional

from os_ken.lib.pack_utils import msg_pack_into
from os_ken.ofproto import nicira_ext
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from controller.compiler.differ import FlowDiff
from vpclab.errors import Defect
from vpclab.layout.actions import (
    CONTROLLER,
    ArpReply,
    CheckLarger,
    Ct,
    CtClear,
    DecTtl,
    Drop,
    FlowHash,
    Goto,
    Move,
    Nat,
    Output,
    Resubmit,
    Sample,
    SetField,
    SetReg,
)
from vpclab.layout.pipeline import COLLECTOR_SET, FIELDS, TABLE, Field, Flow
from vpclab.layout.plan import cookie_of

TCP, UDP = 6, 17
NX_IN_PORT = 0xFFF8  # Nicira actions take 16-bit ports: "the packet's own in_port"
NO_RECIRCULATION = 255  # NXActionCT's recirc_table when the packet does not go on
NAT_FLAGS = {None: 0, "src": 1, "dst": 2}  # NX_NAT_F_SRC, NX_NAT_F_DST (OVS's nx-match.h)
FIELD_NAMES = {
    "nw_src": "ipv4_src",
    "nw_dst": "ipv4_dst",
    "tun_id": "tunnel_id",
    "tun_dst": "tun_ipv4_dst",
    "tun_src": "tun_ipv4_src",
}


WIRE = types.SimpleNamespace(ofproto=ofp, ofproto_parser=parser, id=0)  # serializes, sends nothing
CACHED_FLOWS = 1 << 17  # flows whose encodings are kept (a design's distinct flows, and some)

# OVS skips an output to the port a packet came in by ("skipping output to input port"), yet a
# card may rightly send a packet back where it came from: out of the tunnel it came in by (the
# internet's card, a NAT gateway's, an NLB node's), or to the instance that sent it (an NLB
# target calling its own service through an endpoint: the NLB hands the call back to it). So
# every output first clears the input port, as OpenStack's br-tun does
# (load:0->NXM_OF_IN_PORT[]: OVS refuses an OXM set_field of in_port to 0)
FORGET_INPUT_PORT = 0
HASH_FIVE_TUPLE = 3  # OVS's NX_HASH_FIELDS_SYMMETRIC_L3L4_UDP: addresses, protocol, TCP/UDP ports
EVERY_PACKET = 0xFFFF  # a sample action's probability (in 65535ths): every packet


class NXActionCheckPktLarger(parser.NXAction):
    """OVS's check_pkt_larger(LENGTH)->FIELD[BIT], which os-ken lacks (OVS's
    nx_action_check_pkt_larger: the length, the result's bit offset, the field's OXM header,
    padded to 24 bytes)."""

    _subtype = 49  # NXAST_RAW_CHECK_PKT_LARGER
    _fmt_str = "!HH4s6x"

    def __init__(self, pkt_len, offset, dst, type_=None, len_=None, experimenter=None, subtype=None):
        super().__init__()
        self.pkt_len, self.offset, self.dst = pkt_len, offset, dst

    @classmethod
    def parser(cls, buf):
        pkt_len, offset, header = struct.unpack_from(cls._fmt_str, buf, 0)
        number, _ = ofp.oxm_parse_header(header, 0)
        return cls(pkt_len, offset, ofp.oxm_to_user_header(number))

    def serialize_body(self):
        header = bytearray()
        ofp.oxm_serialize_header(ofp.oxm_from_user_header(self.dst), header, 0)
        data = bytearray()
        msg_pack_into(self._fmt_str, data, 0, self.pkt_len, self.offset, bytes(header))
        return data


parser.NXAction.register(NXActionCheckPktLarger)  # flow dumps read it back

FULL_MASKS = ("255.255.255.255", 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
EMPTY_MASKS = ("0.0.0.0", 0)


def _normal(value):
    """A masked value as the switch reports it: None if wildcarded, exact if fully masked."""
    if isinstance(value, tuple):
        if value[1] in EMPTY_MASKS:
            return None
        if value[1] in FULL_MASKS:
            return value[0]
    return value


def of_match(flow: Flow) -> parser.OFPMatch:
    fields: dict = {}
    registers: dict[str, tuple[int, int]] = {}  # a register's bit fields, one masked match
    for name, value in flow.match:
        if name in FIELDS:
            field = FIELDS[name]
            wanted, mask = value if isinstance(value, tuple) else (value, (1 << field.width) - 1)
            if wanted >> field.width or mask >> field.width:
                raise Defect(f"{flow.stage}: {name} {value} does not fit in {field.width} bits")
            held, held_mask = registers.get(field.register, (0, 0))
            registers[field.register] = (
                held | (wanted & mask) << field.offset,
                held_mask | mask << field.offset,
            )
            continue
        if name == "tp_dst":
            name = {TCP: "tcp_dst", UDP: "udp_dst"}[flow.match_dict["ip_proto"]]
        value = _normal(value)
        if value is not None:
            fields[FIELD_NAMES.get(name, name)] = value
    for register, (wanted, mask) in registers.items():
        whole = (1 << (64 if register == "metadata" else 32)) - 1
        fields[register] = wanted if mask == whole else (wanted, mask)
    return parser.OFPMatch(**fields)


def _bits(name: str, offset: int = 0) -> tuple[str, int]:
    """Where a field named in a flow lives: a register's bit field, or an OXM/NXM field."""
    field = FIELDS.get(str(name))
    if field is None:
        return FIELD_NAMES.get(str(name), str(name)), offset
    return field.register, field.offset + offset


def match_items(match: parser.OFPMatch) -> tuple:
    """A comparable form of a match, the same for one we built and one a flow dump returned."""
    return tuple(
        sorted((name, str(_normal(value))) for name, value in match.items() if _normal(value) is not None)
    )


def _actions(typed) -> tuple[list, list]:
    """(apply-actions, instructions tail) for a flow's typed actions; Drop ends them (what
    came before it, a sample, stays)."""
    actions: list = []
    tail: list = []
    for action in typed:
        if isinstance(action, Drop):
            return actions, []
        if isinstance(action, Sample):
            actions.append(
                parser.NXActionSample(
                    probability=EVERY_PACKET,
                    collector_set_id=COLLECTOR_SET,
                    obs_domain_id=action.domain,
                    obs_point_id=action.point,
                )
            )
            continue
        if isinstance(action, Goto):
            tail.append(parser.OFPInstructionGotoTable(TABLE[action.stage]))
        elif isinstance(action, SetReg):
            actions.append(_load(FIELDS[str(action.field)], int(action.value)))
        elif isinstance(action, SetField):
            name = str(action.field)
            actions.append(parser.OFPActionSetField(**{FIELD_NAMES.get(name, name): action.value}))
        elif isinstance(action, Move):
            for name, at in ((action.source, action.source_offset), (action.field, action.offset)):
                if str(name) in FIELDS and at + action.width > FIELDS[str(name)].width:
                    raise Defect(f"a move of {action.width} bits at {at} overflows {name}")
            source, source_offset = _bits(action.source, action.source_offset)
            target, target_offset = _bits(action.field, action.offset)
            actions.append(
                parser.NXActionRegMove(
                    src_field=source,
                    dst_field=target,
                    n_bits=action.width,
                    src_ofs=source_offset,
                    dst_ofs=target_offset,
                )
            )
        elif isinstance(action, Output):
            if action.port != CONTROLLER:  # see FORGET_INPUT_PORT
                actions.append(
                    parser.NXActionRegLoad(
                        ofs_nbits=nicira_ext.ofs_nbits(0, 15), dst="in_port_nxm", value=FORGET_INPUT_PORT
                    )
                )
            actions.append(parser.OFPActionOutput(action.port))
        elif isinstance(action, DecTtl):
            actions.append(parser.OFPActionDecNwTtl())
        elif isinstance(action, CtClear):
            actions.append(parser.NXActionCTClear())
        elif isinstance(action, Ct):
            actions.append(
                parser.NXActionCT(
                    flags=nicira_ext.NX_CT_F_COMMIT if action.commit else 0,
                    zone_src="",
                    zone_ofs_nbits=action.zone,
                    recirc_table=TABLE[action.next_stage] if action.next_stage else NO_RECIRCULATION,
                    alg=0,
                    actions=([] if action.nat is None else [_nat(action.nat)])
                    + ([] if action.mark is None else [parser.OFPActionSetField(ct_mark=action.mark)]),
                )
            )
        elif isinstance(action, FlowHash):
            field = FIELDS[str(action.field)]
            if action.buckets > 1 << field.width:
                raise Defect(f"{action.buckets} buckets do not fit in {field} ({field.width} bits)")
            actions.append(
                parser.NXActionMultipath(
                    fields=HASH_FIVE_TUPLE,
                    basis=0,
                    algorithm=nicira_ext.NX_MP_ALG_MODULO_N,
                    max_link=action.buckets - 1,
                    arg=0,
                    ofs_nbits=nicira_ext.ofs_nbits(field.offset, field.offset + field.width - 1),
                    dst=field.register,
                )
            )
        elif isinstance(action, Resubmit):
            actions.append(parser.NXActionResubmitTable(in_port=NX_IN_PORT, table_id=TABLE[action.stage]))
        elif isinstance(action, CheckLarger):
            field = FIELDS[str(action.field)]
            actions.append(NXActionCheckPktLarger(action.length, field.offset, field.register))
        elif isinstance(action, ArpReply):
            actions += _arp_reply(action.mac, action.address)
        else:
            raise ValueError(f"unknown action {action!r}")
    return actions, tail


def _load(field: Field, value: int) -> parser.NXActionRegLoad:
    """Write ``value`` into a register's bit field, its other bits untouched."""
    if value >> field.width:
        raise Defect(f"{field} {value} does not fit in {field.width} bits")
    last = field.offset + field.width - 1
    return parser.NXActionRegLoad(
        ofs_nbits=nicira_ext.ofs_nbits(field.offset, last), dst=field.register, value=value
    )


def _nat(nat: Nat) -> parser.NXActionNAT:
    if nat.address is None:
        return parser.NXActionNAT(flags=NAT_FLAGS[nat.kind])
    ports = {}
    if nat.ports is not None:
        ports = {"range_proto_min": nat.ports[0], "range_proto_max": nat.ports[1]}
    return parser.NXActionNAT(
        flags=NAT_FLAGS[nat.kind], range_ipv4_min=nat.address, range_ipv4_max=nat.address, **ports
    )


def _arp_reply(mac: str, address: str) -> list:
    """Turn an ARP request into the reply 'address is at mac' and send it back."""
    move = parser.NXActionRegMove
    return [
        move(src_field="eth_src", dst_field="eth_dst", n_bits=48),
        parser.OFPActionSetField(eth_src=mac),
        parser.OFPActionSetField(arp_op=2),
        move(src_field="arp_sha", dst_field="arp_tha", n_bits=48),
        move(src_field="arp_spa", dst_field="arp_tpa", n_bits=32),
        parser.OFPActionSetField(arp_sha=mac),
        parser.OFPActionSetField(arp_spa=address),
        parser.OFPActionOutput(ofp.OFPP_IN_PORT),
    ]


def flow_mod(flow: Flow, command=ofp.OFPFC_ADD) -> parser.OFPFlowMod:
    """An OFPFlowMod (datapath attached later) that adds ``flow``; its cookie names its origin."""
    actions, tail = _actions(flow.actions)
    instructions = (
        [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)] if actions else []
    ) + tail
    return parser.OFPFlowMod(
        datapath=None,
        cookie=cookie_of(flow.origin),
        table_id=flow.table,
        command=command,
        priority=flow.priority,
        match=of_match(flow),
        instructions=instructions,
    )


@functools.lru_cache(maxsize=CACHED_FLOWS)
def flow_mod_bytes(flow: Flow) -> bytes:
    """``flow_mod(flow)`` on the wire (xid 0), encoded once however many cards get it."""
    message = flow_mod(flow)
    message.datapath = WIRE
    message.set_xid(0)
    message.serialize()
    return bytes(message.buf)


def delete_flow(flow: Flow) -> parser.OFPFlowMod:
    """A strict delete of exactly this flow (same table, priority and match)."""
    return delete_matching(flow.table, flow.priority, of_match(flow))


def diff_messages(delta: FlowDiff) -> list:
    """The flow-mods that turn a card's old flow set into the new one: deletes, then adds."""
    return [delete_flow(each) for each in delta.delete] + [flow_mod(each) for each in delta.add]


def delete_matching(table_id: int, priority: int, match: parser.OFPMatch) -> parser.OFPFlowMod:
    """A strict delete of a flow found on the switch (from a flow dump)."""
    return parser.OFPFlowMod(
        datapath=None,
        table_id=table_id,
        command=ofp.OFPFC_DELETE_STRICT,
        priority=priority,
        match=match,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
    )


def flow_stats_request() -> parser.OFPFlowStatsRequest:
    return parser.OFPFlowStatsRequest(datapath=None, table_id=ofp.OFPTT_ALL)


@functools.lru_cache(maxsize=CACHED_FLOWS)
def match_key(flow: Flow) -> tuple:
    """(table, priority, match) as a flow dump reports it, to compare with the switch."""
    return (flow.table, flow.priority, match_items(_roundtrip(of_match(flow))))


def _roundtrip(match: parser.OFPMatch) -> parser.OFPMatch:
    """Serialize and parse a match, so it reads exactly as a flow dump's match does."""
    buffer = bytearray()
    length = match.serialize(buffer, 0)
    return parser.OFPMatch.parser(bytes(buffer[:length]), 0)


def packet_out(actions, data: bytes, in_port: Optional[int] = None) -> parser.OFPPacketOut:
    """A packet the controller injects, running the typed ``actions`` (e.g. registers set,
    then a resubmit into a stage), as from its own port or from ``in_port``."""
    encoded, tail = _actions(actions)
    if tail:
        raise Defect("a packet-out continues by resubmit, not goto")
    return parser.OFPPacketOut(
        datapath=None,
        buffer_id=ofp.OFP_NO_BUFFER,
        in_port=ofp.OFPP_CONTROLLER if in_port is None else in_port,
        actions=encoded,
        data=data,
    )


def barrier() -> parser.OFPBarrierRequest:
    return parser.OFPBarrierRequest(datapath=None)
