"""Neighbour discovery answered for the cards, as they answer ARP themselves.

AWS's VPC router answers an instance's neighbour solicitations for the subnet's router
address (the /64's base + 1) and for the other instances of the subnet. A card's ``nd`` stage
(``controller.compiler.edge.nd``) sends a solicitation for such an address up to Hyperplane
with the answer's MAC written as its destination; Hyperplane sends the advertisement (solicited,
override, and router for the router's address, with the target's link-layer address) back out
of the port the solicitation came in by. OpenFlow cannot build one in the switch: OVS 3.1
could rewrite the ICMPv6 type and the option, but os-ken has no field for the advertisement's
flags (``nd_reserved``).
"""

from __future__ import annotations

from typing import Optional

from os_ken.lib.packet import ethernet, icmpv6, ipv6, packet

from controller.hyperplane.ofmsg import packet_out
from vpclab.layout.actions import Output
from vpclab.layout.pipeline import ROUTER_MAC, TABLE

STAGE = "nd"
ROUTER, SOLICITED, OVERRIDE = 0b100, 0b010, 0b001  # the advertisement's R, S and O flags (RFC 4861)
ALL_NODES = "ff02::1"
HOP_LIMIT = 255  # RFC 4861: a receiver drops neighbour discovery with any other hop limit


def handles(table_id: int) -> bool:
    """Whether a packet-in from ``table_id`` is a neighbour solicitation the card passed up."""
    return table_id == TABLE[STAGE]


def advertisement(frame: bytes) -> Optional[bytes]:
    """The neighbour advertisement answering the solicitation ``frame`` (its destination MAC is
    the answer, as the card wrote it); None if it is no solicitation."""
    try:
        parsed = packet.Packet(frame)
    except Exception:  # a truncated or foreign frame
        return None
    ether, header = parsed.get_protocol(ethernet.ethernet), parsed.get_protocol(ipv6.ipv6)
    message = parsed.get_protocol(icmpv6.icmpv6)
    if ether is None or header is None or message is None or message.type_ != icmpv6.ND_NEIGHBOR_SOLICIT:
        return None
    target, answer = message.data.dst, ether.dst
    unspecified = header.src == "::"  # duplicate address detection: the answer goes to all nodes
    flags = (ROUTER if answer == ROUTER_MAC else 0) | OVERRIDE | (0 if unspecified else SOLICITED)
    reply = packet.Packet()
    reply.add_protocol(ethernet.ethernet(dst=ether.src, src=answer, ethertype=0x86DD))
    reply.add_protocol(
        ipv6.ipv6(src=target, dst=ALL_NODES if unspecified else header.src, nxt=58, hop_limit=HOP_LIMIT)
    )
    reply.add_protocol(
        icmpv6.icmpv6(
            type_=icmpv6.ND_NEIGHBOR_ADVERT,
            data=icmpv6.nd_neighbor(res=flags, dst=target, option=icmpv6.nd_option_tla(hw_src=answer)),
        )
    )
    reply.serialize()
    return bytes(reply.data)


def answer(frame: bytes, in_port: Optional[int]):
    """The packet-out that sends the advertisement back out of ``in_port``; None for anything
    else."""
    advertised = advertisement(frame)
    if advertised is None or in_port is None:
        return None
    return packet_out([Output(in_port)], advertised)
