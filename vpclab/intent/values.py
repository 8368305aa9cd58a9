"""Parsers for the scalar values of a topology: CIDRs, addresses, protocols, ports.

Each raises ValueError with a message meant for the user.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Optional

from .model import ICMP_PROTOCOLS, PROTOCOL_NUMBERS

PORTED_PROTOCOLS = (PROTOCOL_NUMBERS["tcp"], PROTOCOL_NUMBERS["udp"])


def parse_network(text: str) -> IPv4Network:
    """An IPv4 CIDR with no host bits set."""
    network = parse_any_network(text)
    if not isinstance(network, IPv4Network):
        raise ValueError(f"{text!r} is IPv6; an IPv4 CIDR is needed here (like 10.0.0.0/16)")
    return network


def parse_ipv6_network(text: str) -> IPv6Network:
    """An IPv6 CIDR with no host bits set."""
    network = parse_any_network(text)
    if not isinstance(network, IPv6Network):
        raise ValueError(f"{text!r} is IPv4; an IPv6 CIDR is needed here (like 2001:db8:1000::/56)")
    return network


def parse_any_network(text: str) -> IPv4Network | IPv6Network:
    """A CIDR of either family with no host bits set (IPv6 compressed or not)."""
    written = str(text).strip()
    try:
        network = ip_network(written, strict=False)
    except ValueError:
        like = (
            "an IPv6 CIDR (like 2001:db8:1000::/56)" if ":" in written else "an IPv4 CIDR (like 10.0.0.0/16)"
        )
        raise ValueError(f"{text!r} is not {like}") from None
    if "/" not in written:
        raise ValueError(f"{text!r} has no prefix length (like {text}/{network.max_prefixlen})")
    if ip_address(written.split("/")[0]) != network.network_address:
        raise ValueError(f"{text!r} has host bits set; did you mean {network}?")
    return network


def parse_address(text: str) -> IPv4Address:
    try:
        address = ip_address(str(text))
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 address (like 10.0.1.10)") from None
    if address.version != 4:
        raise ValueError(f"{text!r} is IPv6; an IPv4 address is needed here (like 10.0.1.10)")
    return address


def parse_ipv6_address(text: str) -> IPv6Address:
    try:
        address = ip_address(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv6 address (like 2001:db8:1000:1::10)") from None
    if not isinstance(address, IPv6Address):
        raise ValueError(f"{text!r} is IPv4; an IPv6 address is needed here (like 2001:db8:1000:1::10)")
    return address


def parse_protocol(value) -> Optional[int]:
    """'tcp'/'udp'/'icmp' or an IP protocol number; 'all' or -1 means every protocol (None)."""
    if value in ("all", -1, "-1"):
        return None
    if isinstance(value, str) and value.lower() in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[value.lower()]
    number = value
    if isinstance(value, str) and value.isdigit():
        number = int(value)
    if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= 255:
        return number
    raise ValueError(f"{value!r} is not a protocol (tcp, udp, icmp, icmpv6, all/-1 or a number 0-255)")


def parse_icmp_number(value, protocol: Optional[int]) -> Optional[int]:
    """An ICMP type or code, 0-255; -1 means any (AWS's convention). Only for icmp, icmpv6."""
    if protocol not in ICMP_PROTOCOLS:
        raise ValueError("icmp_type and icmp_code apply to protocols icmp and icmpv6 only")
    if value in (-1, "-1"):
        return None
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= 255:
        return number
    raise ValueError(f"{value!r} is not an ICMP type or code (0-255, or -1 for any)")


def parse_ports(value, protocol: Optional[int]) -> Optional[tuple[int, int]]:
    """``443`` or ``'1024-65535'``; None (omitted) means all ports. Only for tcp/udp."""
    if value is None:
        return None
    if protocol not in PORTED_PROTOCOLS:
        raise ValueError("ports apply to tcp and udp only")
    text = str(value).strip()
    low_text, dash, high_text = text.partition("-")
    try:
        low = int(low_text)
        high = int(high_text) if dash else low
    except ValueError:
        raise ValueError(
            f'{value!r} is not a port or a port range (ports: 443 or ports: "1024-65535")'
        ) from None
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        raise ValueError(f"{value!r}: ports are 0-65535")
    if low > high:
        raise ValueError(f"{value!r}: the range starts after it ends")
    return (low, high)
