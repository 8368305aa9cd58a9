"""vpclab's model: security groups."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Optional

from .traffic import Traffic


@dataclass(frozen=True)
class SGRef:
    """A reference to a security group: the VPC that owns it and its name."""

    vpc: str
    name: str

    def __str__(self) -> str:
        return f"{self.vpc}/{self.name}"


@dataclass(frozen=True)
class SGRule:
    origin: str
    traffic: Traffic
    cidr: Optional[IPv4Network | IPv6Network] = None
    security_group: Optional[SGRef] = None
    prefix_list: Optional[str] = None  # the list this CIDR came from (one rule per CIDR)

    def describe(self) -> str:
        peer = str(self.cidr) if self.cidr is not None else f"sg {self.security_group}"
        if self.prefix_list:
            peer += f" (prefix list {self.prefix_list})"
        return f"{self.traffic.describe()} {peer}"


@dataclass(frozen=True)
class SecurityGroup:
    origin: str
    vpc: str
    name: str
    ingress: tuple[SGRule, ...]
    egress: tuple[SGRule, ...]

    @property
    def ref(self) -> SGRef:
        return SGRef(self.vpc, self.name)
