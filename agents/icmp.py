"""ICMP echo as bytes, shared by whoever pings from a raw socket (verify's prober, the
experiments' steady probes, the VPN tunnels' dead peer detection)."""

from __future__ import annotations

import struct

ECHO_REQUEST, ECHO_REPLY = 8, 0


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, sequence: int, payload: bytes) -> bytes:
    """An ICMP echo request (its header and ``payload``), checksummed."""
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, sequence & 0xFFFF)
    return (
        struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum(header + payload), ident, sequence & 0xFFFF) + payload
    )
