"""The one place that turns Flow data into OpenFlow 1.3 messages (os-ken parser objects).

Like Faucet's valve_of: messages are built with ``datapath=None`` parsers and attached to a
datapath only when sent, so this module has no connection state.
"""
from __future__ import annotations

from os_ken.ofproto import nicira_ext
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from .pipeline import TABLE, Flow
from .plan import cookie_of

TCP, UDP = 6, 17
FIELD_NAMES = {"nw_src": "ipv4_src", "nw_dst": "ipv4_dst", "tun_id": "tunnel_id",
               "tun_dst": "tun_ipv4_dst"}


def of_match(flow: Flow) -> parser.OFPMatch:
    fields = {}
    for name, value in flow.match:
        if name == "tp_dst":
            name = {TCP: "tcp_dst", UDP: "udp_dst"}[flow.match_dict["ip_proto"]]
        fields[FIELD_NAMES.get(name, name)] = value
    return parser.OFPMatch(**fields)


def _actions(flow: Flow) -> tuple[list, list]:
    """(apply-actions, instructions tail) for a flow's plain-data actions."""
    actions, tail = [], []
    for action in flow.actions:
        kind = action[0]
        if kind == "drop":
            return [], []
        if kind == "goto":
            tail.append(parser.OFPInstructionGotoTable(TABLE[action[1]]))
        elif kind == "set":
            actions.append(parser.OFPActionSetField(**{FIELD_NAMES.get(action[1], action[1]):
                                                       action[2]}))
        elif kind == "output":
            actions.append(parser.OFPActionOutput(action[1]))
        elif kind == "dec_ttl":
            actions.append(parser.OFPActionDecNwTtl())
        elif kind == "ct_clear":
            actions.append(parser.NXActionCTClear())
        elif kind == "ct":
            _, commit, zone, next_stage = action
            actions.append(parser.NXActionCT(
                flags=nicira_ext.NX_CT_F_COMMIT if commit else 0, zone_src="",
                zone_ofs_nbits=zone, recirc_table=TABLE[next_stage] if next_stage else 255,
                alg=0, actions=[]))
        elif kind == "arp_reply":
            actions += _arp_reply(action[1], action[2])
        else:
            raise ValueError(f"unknown action {action}")
    return actions, tail


def _arp_reply(mac: str, address: str) -> list:
    """Turn an ARP request into the reply 'address is at mac' and send it back."""
    move = parser.NXActionRegMove
    return [move(src_field="eth_src", dst_field="eth_dst", n_bits=48),
            parser.OFPActionSetField(eth_src=mac),
            parser.OFPActionSetField(arp_op=2),
            move(src_field="arp_sha", dst_field="arp_tha", n_bits=48),
            move(src_field="arp_spa", dst_field="arp_tpa", n_bits=32),
            parser.OFPActionSetField(arp_sha=mac),
            parser.OFPActionSetField(arp_spa=address),
            parser.OFPActionOutput(ofp.OFPP_IN_PORT)]


def flow_mod(flow: Flow, command=ofp.OFPFC_ADD) -> parser.OFPFlowMod:
    """An OFPFlowMod (datapath attached later) that adds ``flow``; its cookie names its origin."""
    actions, tail = _actions(flow)
    instructions = ([parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
                    if actions else []) + tail
    return parser.OFPFlowMod(datapath=None, cookie=cookie_of(flow.origin), table_id=flow.table,
                             command=command, priority=flow.priority, match=of_match(flow),
                             instructions=instructions)


def delete_flow(flow: Flow) -> parser.OFPFlowMod:
    """A strict delete of exactly this flow (same table, priority and match)."""
    return parser.OFPFlowMod(datapath=None, table_id=flow.table, command=ofp.OFPFC_DELETE_STRICT,
                             priority=flow.priority, match=of_match(flow),
                             out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY)


def delete_all() -> parser.OFPFlowMod:
    return parser.OFPFlowMod(datapath=None, table_id=ofp.OFPTT_ALL, command=ofp.OFPFC_DELETE,
                             out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=parser.OFPMatch())


def barrier() -> parser.OFPBarrierRequest:
    return parser.OFPBarrierRequest(datapath=None)
