"""The typed actions of a flow: small frozen values that ``ofmsg`` turns into OpenFlow.

Stage names are strings declared in ``pipeline``; register fields are ``pipeline.Reg``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union


@dataclass(frozen=True)
class Goto:
    """Continue in a later stage (OpenFlow goto-table)."""

    stage: str

    def describe(self) -> str:
        return f"goto {self.stage}"


@dataclass(frozen=True)
class Resubmit:
    """Run an earlier stage again (the one way back: a TGW hairpin)."""

    stage: str

    def describe(self) -> str:
        return f"resubmit {self.stage}"


@dataclass(frozen=True)
class SetReg:
    """Write a register (a ``pipeline.Reg``)."""

    field: str
    value: int

    def describe(self) -> str:
        return f"{self.field}={self.value}"


@dataclass(frozen=True)
class SetField:
    """Rewrite a header or tunnel field: eth_src, eth_dst, tun_id, tun_dst."""

    field: str
    value: Union[int, str]

    def describe(self) -> str:
        return f"{self.field}={self.value}"


@dataclass(frozen=True)
class Move:
    """Copy ``width`` bits of ``source`` (a register or field, from bit ``source_offset`` on)
    into ``field`` from bit ``offset`` on."""

    source: str
    field: str
    width: int
    offset: int
    source_offset: int = 0

    def describe(self) -> str:
        source = str(self.source)
        if self.source_offset:
            source += f"[{self.source_offset}..{self.source_offset + self.width - 1}]"
        return f"{self.field}[{self.offset}..{self.offset + self.width - 1}]={source}"


@dataclass(frozen=True)
class FlowHash:
    """Write into register ``field`` a hash of the packet's addresses, protocol and ports,
    modulo ``buckets`` (Nicira multipath): the same connection always gets the same number."""

    field: str
    buckets: int

    def describe(self) -> str:
        return f"{self.field}=hash(5-tuple) mod {self.buckets}"


@dataclass(frozen=True)
class CheckLarger:
    """Write 1 into bit 0 of ``field`` if the frame (Ethernet header and payload) is longer
    than ``length`` bytes, else 0 (OVS's check_pkt_larger)."""

    length: int
    field: str

    def describe(self) -> str:
        return f"{self.field}[0]=(length > {self.length})"


@dataclass(frozen=True)
class Nat:
    """Conntrack NAT in a ct action: with ``kind`` ('src' or 'dst'), a new connection's
    source or destination becomes ``address``; without, a tracked connection's packets get
    the translation it already has (both ways). ``ports`` (low, high): the port may change
    too, within that range (many-to-one)."""

    kind: Optional[str] = None
    address: Optional[str] = None
    ports: Optional[tuple[int, int]] = None

    def describe(self) -> str:
        if not self.kind:
            return "nat"
        ports = f":{self.ports[0]}-{self.ports[1]}" if self.ports else ""
        return f"nat({self.kind}={self.address}{ports})"


@dataclass(frozen=True)
class Ct:
    """Send through conntrack in ``zone``; ``commit`` records the connection; with
    ``next_stage`` the packet continues there with its ct_state (recirculation); ``nat``
    translates its addresses; ``mark`` (with commit) sets the connection's ct_mark."""

    commit: bool
    zone: int
    next_stage: Optional[str] = None
    nat: Optional[Nat] = None
    mark: Optional[int] = None

    def describe(self) -> str:
        parts = ["commit"] if self.commit else []
        parts.append(f"zone={self.zone}")
        if self.nat:
            parts.append(self.nat.describe())
        if self.mark is not None:
            parts.append(f"mark={self.mark}")
        if self.next_stage:
            parts.append(f"then {self.next_stage}")
        return f"ct({', '.join(parts)})"


@dataclass(frozen=True)
class CtClear:
    """Forget the conntrack state (before a local hand-over into another zone)."""

    def describe(self) -> str:
        return "ct_clear"


CONTROLLER = 0xFFFFFFFD  # OpenFlow's OFPP_CONTROLLER: a packet-in to Hyperplane


@dataclass(frozen=True)
class Output:
    port: int

    def describe(self) -> str:
        return "output controller" if self.port == CONTROLLER else f"output {self.port}"


@dataclass(frozen=True)
class Sample:
    """Copy the packet to the card's IPFIX exporter (a flow log record): ``domain`` is a
    ``pipeline.SampleKey`` (the verdict, and which end's interface records it), ``point`` the
    low 32 bits of the flow's cookie (the YAML object that decided)."""

    domain: int
    point: int

    def describe(self) -> str:
        return f"sample(domain={self.domain}, point={self.point:#x})"


@dataclass(frozen=True)
class Drop:
    def describe(self) -> str:
        return "drop"


@dataclass(frozen=True)
class DecTtl:
    """The VPC router forwards the packet: one TTL less (and a drop at zero)."""

    def describe(self) -> str:
        return "dec_ttl"


@dataclass(frozen=True)
class ArpReply:
    """Turn an ARP request for ``address`` into the reply 'address is at mac', sent back."""

    mac: str
    address: str

    def describe(self) -> str:
        return f"arp reply {self.address} is-at {self.mac}"


Action = Union[
    Goto,
    Resubmit,
    SetReg,
    SetField,
    Move,
    Ct,
    CtClear,
    Output,
    Drop,
    DecTtl,
    ArpReply,
    Sample,
    FlowHash,
    CheckLarger,
]
DROP = Drop()
