"""Network ACLs: stateless, each subnet boundary a packet crosses, in rule-number order."""

from __future__ import annotations

from typing import Optional

from vpclab.intent import model as m

from .packet import Arrival, Packet
from .policy import nacl_verdict
from .walk import WalkState


class Nacls(WalkState):
    def nacl(
        self,
        subnet: m.Subnet,
        direction: str,
        packet: Packet,
        address: m.IPAddress,
        reason: Optional[str] = None,
    ) -> None:
        vpc = self.topology.vpc(subnet.vpc)
        nacl = vpc.nacl(subnet.nacl)
        rule = nacl_verdict(getattr(nacl, direction), address, packet.protocol, packet.port, packet.icmp)
        self.hop(
            f"nacl-{direction}",
            f"{vpc.name}/{subnet.name}",
            rule.allow,
            rule.origin,
            f"NACL {nacl.name} {rule.describe()} ({packet.describe()})",
            reason or f"nacl-{direction}",
        )

    def arriving_nacls(self, subnet: m.Subnet, packet: Packet, arrival: Arrival) -> None:
        """The NACLs a packet meets on its way into ``subnet``: after a TGW, its attachment
        subnet's egress; from another subnet, the subnet's ingress."""
        if not self.options.check:
            return
        if arrival.kind == "tgw" and arrival.subnet is not None and arrival.subnet != subnet:
            self.nacl(arrival.subnet, "egress", packet, packet.dst)
        if arrival.subnet != subnet:
            self.nacl(subnet, "ingress", packet, packet.src)
