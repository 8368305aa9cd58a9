"""vpclab's model: traffic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .constants import PROTOCOL_NAMES


def protocol_label(number: Optional[int]) -> str:
    """Human name of an IP protocol number; None means all protocols."""
    if number is None:
        return "all"
    return PROTOCOL_NAMES.get(number, str(number))


@dataclass(frozen=True)
class Traffic:
    """What a rule matches besides the address: protocol (None = all), destination ports
    (tcp/udp) or ICMP type and code (icmp; None = any)."""

    protocol: Optional[int] = None
    ports: Optional[tuple[int, int]] = None  # inclusive; None = all ports
    icmp_type: Optional[int] = None
    icmp_code: Optional[int] = None

    def matches(self, protocol: int, port: Optional[int], icmp: Optional[tuple[int, int]] = None) -> bool:
        """Does a packet of ``protocol`` to ``port`` (tcp/udp) or of ICMP ``(type, code)`` match?"""
        if self.protocol is not None and self.protocol != protocol:
            return False
        if self.icmp_type is not None:
            if icmp is None or icmp[0] != self.icmp_type:
                return False
            return self.icmp_code is None or icmp[1] == self.icmp_code
        if self.ports is None or port is None:
            return self.ports is None
        return self.ports[0] <= port <= self.ports[1]

    def describe(self) -> str:
        text = protocol_label(self.protocol)
        if self.ports is not None:
            low, high = self.ports
            text += f"/{low}" if low == high else f"/{low}-{high}"
        if self.icmp_type is not None:
            text += f" type {self.icmp_type}"
            text += f" code {self.icmp_code}" if self.icmp_code is not None else ""
        return text
