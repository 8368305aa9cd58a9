"""MTUs: a packet longer than the MTU of what it enters is dropped there (the path's
smallest MTU is reported with the verdict)."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import Packet
from .walk import WalkState

IGW_DROPS = (
    "with Don't Fragment the sender hears ICMP 'fragmentation needed'; "
    "without, vpclab drops it (AWS fragments it)"
)


def mtu_of(endpoint) -> int:
    """An instance's MTU; the internet's hosts run at 1500."""
    return endpoint.mtu if isinstance(endpoint, m.Instance) else m.INTERNET_MTU


class Mtu(WalkState):
    def fits(self, packet: Packet, mtu: int, what: str, at: str, obj: str, otherwise: str) -> None:
        """A packet longer than the MTU of ``what`` it enters is dropped there."""
        self.found.limits.append((mtu, what))
        if packet.size is not None and packet.size > mtu:
            self.fail("mtu", at, obj, f"{packet.size} bytes > MTU {mtu}: {otherwise}", "packet-too-big")
