"""Path MTU discovery at an internet gateway: what leaves through one must fit 1500 bytes.

A longer packet stops in ``igw_mtu``, its source already the public IP, and comes up to
Hyperplane. With Don't Fragment set, Hyperplane answers as AWS does: an ICMP "fragmentation
needed" (type 3, code 4, next-hop MTU 1500) from the address the packet was for, quoting it;
to an IPv6 packet, an ICMPv6 Packet Too Big (type 2, MTU 1500), which IPv6 always gets.
The answer enters through the internet's card like any packet from the internet: the
gateway's translation takes it back to the private IP (conntrack relates it to the
connection), the sender's NACLs must let it in (a NACL without it makes the classic black
hole), and its SG admits it as related. Without Don't Fragment AWS would fragment the packet;
vpclab drops it.
"""

from __future__ import annotations

from typing import Optional

from os_ken.lib.packet import ethernet, icmp, icmpv6, ipv4, ipv6, packet

from controller.compiler.matches import ETHERNET_HEADER
from controller.hyperplane.ofmsg import packet_out
from vpclab.intent import model as m
from vpclab.layout.actions import Resubmit
from vpclab.layout.pipeline import ROUTER_MAC, TABLE

STAGE = "igw_mtu"
DONT_FRAGMENT = 0b010  # the IPv4 flags' DF bit
FRAGMENTATION_NEEDED = (3, 4)  # destination unreachable, fragmentation needed and DF set
QUOTED_PAYLOAD = 8  # bytes of the packet's payload an ICMP error quotes after its header (RFC 792)
IPV6_MINIMUM_MTU, IPV6_HEADER, ICMPV6_ERROR_HEADER = 1280, 40, 8  # an ICMPv6 error fits 1280 (RFC 4443)


def handles(table_id: int) -> bool:
    """Whether a packet-in from ``table_id`` is a packet too long for an internet gateway."""
    return table_id == TABLE[STAGE]


def fragmentation_needed(frame: bytes, mtu: int = m.INTERNET_MTU) -> Optional[bytes]:
    """The ICMP error for ``frame`` (None without Don't Fragment, or if it is no IPv4 packet):
    from its destination back to its source, quoting its header and 8 bytes of its payload."""
    try:
        parsed = packet.Packet(frame)
    except Exception:  # a truncated or foreign frame
        return None
    header = parsed.get_protocol(ipv4.ipv4)
    if header is None or not header.flags & DONT_FRAGMENT:
        return None
    start = ETHERNET_HEADER
    quoted = frame[start : start + header.header_length * 4 + QUOTED_PAYLOAD]
    error = packet.Packet()
    error.add_protocol(ethernet.ethernet(dst=ROUTER_MAC, src=ROUTER_MAC, ethertype=0x0800))
    error.add_protocol(ipv4.ipv4(src=header.dst, dst=header.src, proto=1, ttl=64))
    error.add_protocol(
        icmp.icmp(
            type_=FRAGMENTATION_NEEDED[0],
            code=FRAGMENTATION_NEEDED[1],
            data=icmp.dest_unreach(data_len=0, mtu=mtu, data=quoted),
        )
    )
    error.serialize()
    return bytes(error.data)


def packet_too_big(frame: bytes, mtu: int = m.INTERNET_MTU) -> Optional[bytes]:
    """The ICMPv6 Packet Too Big for an IPv6 ``frame`` (IPv6 routers never fragment: always
    one), from its destination back to its source, quoting as much of it as fits in IPv6's
    minimum MTU (RFC 4443); None for anything else."""
    try:
        parsed = packet.Packet(frame)
    except Exception:
        return None
    header = parsed.get_protocol(ipv6.ipv6)
    if header is None:
        return None
    room = IPV6_MINIMUM_MTU - IPV6_HEADER - ICMPV6_ERROR_HEADER
    quoted = frame[ETHERNET_HEADER : ETHERNET_HEADER + room]
    error = packet.Packet()
    error.add_protocol(ethernet.ethernet(dst=ROUTER_MAC, src=ROUTER_MAC, ethertype=0x86DD))
    error.add_protocol(ipv6.ipv6(src=header.dst, dst=header.src, nxt=58, hop_limit=64))
    body = mtu.to_bytes(4, "big") + quoted  # os-ken has no Packet Too Big body: its MTU, the packet
    error.add_protocol(icmpv6.icmpv6(type_=icmpv6.ICMPV6_PACKET_TOO_BIG, code=0, data=body))
    error.serialize()
    return bytes(error.data)


def answer(frame: bytes):
    """The packet-out for the internet's card that sends the ICMP error back into its routing,
    as a packet from the internet; None for an IPv4 packet without Don't Fragment."""
    error = fragmentation_needed(frame) or packet_too_big(frame)
    return None if error is None else packet_out([Resubmit("internet_route")], error)
