"""TCP MSS clamping at a transit gateway, as AWS does for every connection through one.

The ``tgw_mtu`` stage hands each SYN (and SYN-ACK) entering a TGW up to Hyperplane; here its
MSS option is lowered to what fits the TGW's MTU, and the packet goes back to its card with
the registers it had, into the stage after ``tgw_mtu``: both ends then send segments that fit
8500 bytes, where a packet one byte larger would be dropped without an ICMP error.
"""

from __future__ import annotations

from typing import Optional

from os_ken.lib.packet import ipv4, packet, tcp

from vpclab.intent.model import TGW_MTU

from .actions import Resubmit, SetReg
from .ofmsg import packet_out
from .pipeline import TABLE, Reg

TCP_IP_HEADERS = 40  # an MSS counts the bytes after the IPv4 and TCP headers (no options)
TGW_MSS = TGW_MTU - TCP_IP_HEADERS
CLAMPING_STAGE = "tgw_mtu"
CONTINUES_AT = "nacl_tgw_entry"
REGISTERS = tuple(reg for reg in Reg if reg.value.startswith("reg"))


def clamped(frame: bytes, mss: int = TGW_MSS) -> Optional[bytes]:
    """``frame`` with its TCP MSS option lowered to ``mss`` if it was higher (checksum made
    anew); None if it is no TCP segment. A SYN without the option keeps TCP's default, 536."""
    try:
        parsed = packet.Packet(frame)
    except Exception:  # a truncated or foreign frame
        return None
    segment, header = parsed.get_protocol(tcp.tcp), parsed.get_protocol(ipv4.ipv4)
    if segment is None or header is None:
        return None
    changed = False
    for option in segment.option or ():
        if isinstance(option, tcp.TCPOptionMaximumSegmentSize) and option.max_seg_size > mss:
            option.max_seg_size, changed = mss, True
    if not changed:
        return frame
    segment.csum = 0
    parsed.serialize()
    return bytes(parsed.data)


def handles(table_id: int) -> bool:
    """Whether a packet-in from ``table_id`` is a SYN to clamp."""
    return table_id == TABLE[CLAMPING_STAGE]


def continuation(fields: dict, frame: bytes):
    """The packet-out that sends the clamped SYN on from where ``tgw_mtu`` stopped: its
    registers and input port as the packet-in reported them; None if it is no TCP segment."""
    data = clamped(frame)
    if data is None:
        return None
    registers = [SetReg(reg, fields[reg.value]) for reg in REGISTERS if fields.get(reg.value)]
    return packet_out([*registers, Resubmit(CONTINUES_AT)], data, in_port=fields.get("in_port"))
