"""Security groups, each end: stateful (a reply passes by connection state), a rule's
reference matching the interface that sent the packet, as AWS matches it (not across the
internet, not behind an NLB, across a TGW only with SG referencing support)."""

from __future__ import annotations

from typing import Optional

from vpclab.intent import model as m

from .packet import RETURN, Arrival, Endpoint, Interface, Packet
from .policy import instance_rules, sg_allowing
from .walk import WalkState


class SecurityGroups(WalkState):
    def sg_egress(self, source: m.Instance, packet: Packet) -> None:
        if self.options.direction == RETURN:
            self.hop("sg-egress", source.name, True, None, "reply of a tracked connection")
            return
        rules = instance_rules(self.topology, source, "egress")
        rule = sg_allowing(
            rules,
            packet.dst,
            packet.protocol,
            packet.port,
            lambda ref: self.destination_in_group(source, packet, ref),
            packet.icmp,
        )
        self.sg_hop("sg-egress", source, rule, packet, "outbound")

    def destination_in_group(self, source: m.Instance, packet: Packet, ref: m.SGRef) -> bool:
        """Does the destination count as a member of ``ref``? Outbound SG references do not cross a TGW."""
        target, kind = self.routed_destination(source, packet.dst)
        return target in self.topology.members(ref) and kind not in ("tgw", "internet")

    def sg_ingress(self, target: Interface, packet: Packet, source: Endpoint, arrival) -> None:
        if self.options.direction == RETURN:
            self.hop("sg-ingress", target.name, True, None, "reply of a tracked connection")
            return
        rules = instance_rules(self.topology, target, "ingress")
        rule = sg_allowing(
            rules,
            packet.src,
            packet.protocol,
            packet.port,
            lambda ref: self.counts_as_member(source, arrival, ref),
            packet.icmp,
        )
        self.sg_hop("sg-ingress", target, rule, packet, "inbound")

    def counts_as_member(self, source, arrival: Arrival, ref: m.SGRef) -> bool:
        """May an inbound rule naming ``ref`` match the sender? The network interface that sent
        the packet counts, not its source address (an appliance forwarding it is the sender).
        Not across the internet, not behind an NLB (it sees the NLB's address), across a TGW
        only with SG referencing support on this path (AWS 2024)."""
        crossed = arrival.kind == "internet" or (arrival.kind == "tgw" and not arrival.sg_references_hold)
        sender = self.carried.sent_by or source
        return not (crossed or self.carried.behind_nlb) and sender in self.topology.members(ref)

    def sg_hop(self, stage: str, instance: Interface, rule: Optional[m.SGRule], packet: Packet, way: str):
        """Record an SG verdict: the rule that allows the packet, or the instance's SGs."""
        self.hop(
            stage,
            instance.name,
            rule is not None,
            rule.origin if rule else self.sg_origin(instance),
            f"{packet.describe()} allowed by {rule.describe()}"
            if rule
            else f"no {way} rule of {self.sg_names(instance)} allows {packet.describe()}",
        )

    def sg_origin(self, instance: Interface) -> str:
        return self.topology.security_groups_origin(instance)

    def sg_names(self, instance: Interface) -> str:
        return ", ".join(ref.name for ref in instance.security_groups)
