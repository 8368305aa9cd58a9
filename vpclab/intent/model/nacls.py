"""vpclab's model: nacls."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Optional

from .traffic import Traffic


@dataclass(frozen=True)
class NaclRule:
    origin: str
    number: Optional[int]  # None for the final '*' rule
    traffic: Traffic
    cidr: IPv4Network | IPv6Network
    allow: bool

    def describe(self) -> str:
        number = "*" if self.number is None else str(self.number)
        action = "allow" if self.allow else "deny"
        return f"rule {number} {action} {self.traffic.describe()} {self.cidr}"


@dataclass(frozen=True)
class Nacl:
    """A network ACL; ``ingress``/``egress`` are sorted by rule number and end with ``*``."""

    origin: str
    name: str
    ingress: tuple[NaclRule, ...]
    egress: tuple[NaclRule, ...]
