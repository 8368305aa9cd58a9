"""VPC peering: one hop between exactly two VPCs, never transitive."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import Arrival, Endpoint, Packet
from .walk import WalkState


class Peering(WalkState):
    def via_peering(self, vpc, route: m.Route, packet: Packet, az: str, source) -> Endpoint:
        assert route.peering is not None
        peering = self.topology.peering(route.peering)
        at = f"{vpc.name}/peering {peering.name}"
        if not peering.active:
            self.fail(
                "route",
                at,
                route.origin,
                f"{route.describe()}: the peering is {peering.status} (route state blackhole)",
                "blackhole",
            )
        self.hop("route", at, True, route.origin, route.describe())
        peer = self.topology.vpc(peering.other(vpc.name))
        transitive = not vpc.contains(packet.src) or not peer.contains(packet.dst)
        self.hop(
            "peering",
            f"peering {peering.name}",
            not transitive,
            peering.origin,
            f"{packet.dst} is not in {peer.name} or {packet.src} is not in {vpc.name}: "
            "a peering carries only traffic between the two VPCs"
            if transitive
            else f"{vpc.name} -> {peer.name}",
            "not-transitive",
        )
        if peering.inter_region:  # AWS: 8500 bytes between Regions
            self.fits(
                packet,
                m.INTER_REGION_MTU,
                f"inter-Region peering {peering.name}",
                f"peering {peering.name}",
                peering.origin,
                "dropped without an ICMP error",
            )
        return self.deliver(peer, packet, Arrival("peering", None, az), source)
