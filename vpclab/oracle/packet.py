"""What the oracle walks and what it reports: a packet, each hop it passes or is dropped at,
how it arrived, and a connection's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from vpclab.intent import model as m

FORWARD, RETURN = "forward", "return"

Endpoint = Union[m.Instance, m.InternetHost, m.SiteHost]
Interface = Union[m.Instance, m.EndpointInterface]  # what has security groups

# a ping's (echo request, echo reply) of each family's ICMP
ECHOES = {
    m.PROTOCOL_NUMBERS["icmp"]: (m.ICMP_ECHO_REQUEST, m.ICMP_ECHO_REPLY),
    m.PROTOCOL_NUMBERS["icmpv6"]: (m.ICMPV6_ECHO_REQUEST, m.ICMPV6_ECHO_REPLY),
}

LEFT_NETWORK = "left-network"  # the stage of a packet that leaves for an address beyond the emulation


@dataclass(frozen=True)
class Packet:
    src: m.IPAddress
    dst: m.IPAddress
    protocol: int
    port: Optional[int] = None  # destination port (tcp/udp)
    icmp: Optional[tuple[int, int]] = None  # (type, code) of an ICMP packet
    size: Optional[int] = None  # its IP length in bytes (None: small enough for any path)

    @classmethod
    def request(cls, src: m.IPAddress, dst: m.IPAddress, protocol: int, port: Optional[int]) -> Packet:
        """The first packet of a connection; ICMP (either family's) is a ping (echo request)."""
        icmp = ECHOES.get(protocol, (None, None))[0]
        return cls(src, dst, protocol, port, icmp)

    def reply(self, client_port: Optional[int]) -> Packet:
        """The answer: an echo reply is as long as its request; other replies are small."""
        request, answer = ECHOES.get(self.protocol, (None, None))
        echo = self.icmp is not None and self.icmp == request
        icmp = answer if echo else self.icmp
        return Packet(self.dst, self.src, self.protocol, client_port, icmp, self.size if echo else None)

    @property
    def ipv6(self) -> bool:
        return self.dst.version == 6

    def describe(self) -> str:
        kind = m.protocol_label(self.protocol)
        if self.icmp is not None:
            request, answer = ECHOES.get(self.protocol, (None, None))
            kind = "ping" if self.icmp == request else "ping reply" if self.icmp == answer else kind
            kind += " -6" if self.ipv6 and self.icmp in (request, answer) else ""
        if self.port is None:
            return f"{kind} {self.src} -> {self.dst}"
        return f"{kind} {self.src} -> " + (
            f"[{self.dst}]:{self.port}" if self.ipv6 else f"{self.dst}:{self.port}"
        )


def addresses_of(endpoint: Endpoint) -> tuple:
    """An endpoint's own addresses, IPv4 first: what it may send from."""
    if isinstance(endpoint, m.Instance):
        return endpoint.addresses
    if isinstance(endpoint, m.InternetHost) and endpoint.ipv6 is not None:
        return (endpoint.ip, endpoint.ipv6)
    return (endpoint.ip,)


def address_for(endpoint: Endpoint, ipv6: bool) -> Optional[m.IPAddress]:
    """The endpoint's address of one family (None: it has none of it)."""
    return next((a for a in addresses_of(endpoint) if (a.version == 6) == ipv6), None)


@dataclass(frozen=True)
class Hop:
    direction: str
    stage: str
    at: str
    result: str  # "pass" or "drop"
    object: Optional[str]
    detail: str

    def as_dict(self) -> dict:
        return {
            "direction": self.direction,
            "stage": self.stage,
            "at": self.at,
            "result": self.result,
            "object": self.object,
            "detail": self.detail,
        }


class Dropped(Exception):
    """The walk stops: a hop dropped the packet (``reason``, and the YAML object ``rule``).
    Control flow inside the oracle, never raised out of it (not a VpclabError)."""

    def __init__(self, reason: str, rule: Optional[str]):
        super().__init__(reason)
        self.reason, self.rule = reason, rule


@dataclass
class Verdict:
    accepted: bool
    reason: Optional[str]
    direction: str
    rule: Optional[str]
    hops: list[Hop] = field(default_factory=list)
    ports_failing: Optional[str] = None
    choices: tuple[str, ...] = ()  # through an endpoint: the NLB targets a connection may get
    path_mtu: Optional[tuple[int, str]] = None  # the request's path: its MTU, and what sets it
    sender_mtu: int = m.INSTANCE_MTU  # the MTU of the interface the request left by
    size: Optional[int] = None  # the request's IP length, if the trace gave one

    @property
    def left_network(self) -> Optional[str]:
        """The address beyond the emulation the request left the network for, if it did."""
        return next((h.at for h in self.hops if h.direction == FORWARD and h.stage == LEFT_NETWORK), None)

    @property
    def delivered_to(self) -> Optional[str]:
        """The instance the request reached (None if it was dropped on the way)."""
        return next(
            (
                hop.at
                for hop in self.hops
                if hop.direction == FORWARD and hop.stage == "deliver" and hop.result == "pass"
            ),
            None,
        )

    def as_dict(self) -> dict:
        result: dict = {
            "verdict": "accepted" if self.accepted else "dropped",
            "reason": self.reason,
            "direction": self.direction,
            "hops": [hop.as_dict() for hop in self.hops],
            "rule": self.rule,
        }
        if self.ports_failing:
            result["ports_failing"] = self.ports_failing
        if self.choices:
            result["load_balancer_targets"] = list(self.choices)
        if self.path_mtu:
            result["path_mtu"] = {"bytes": self.path_mtu[0], "set_by": self.path_mtu[1]}
        if self.left_network:
            result["left_network"] = self.left_network
        return result


@dataclass(frozen=True)
class Arrival:
    """How a packet reached its destination: 'local', 'peering', 'tgw', 'internet', 'vgw' (from
    a site through a virtual private gateway) or 'site' (into a site), and where."""

    kind: str
    subnet: Optional[m.Subnet]  # local: the source subnet; tgw: the attachment subnet
    az: str
    sg_references_hold: bool = False  # tgw: may an inbound rule name the sender's SGs?
