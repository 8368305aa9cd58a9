"""Rule evaluation: NACLs (ordered, first match) and security groups (union of allow rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from ..intent import model as m


def nacl_verdict(
    rules: tuple[m.NaclRule, ...],
    address: m.IPAddress,
    protocol: int,
    port: Optional[int],
    icmp: Optional[tuple[int, int]] = None,
) -> m.NaclRule:
    """The first rule (lowest number; ``*`` last) matching the packet; it decides."""
    return next(
        (rule for rule in rules if address in rule.cidr and rule.traffic.matches(protocol, port, icmp)),
        rules[-1],  # an IPv6 packet at a NACL of a VPC without IPv6 rules: its '*' denies it
    )


def sg_allowing(
    rules: list[m.SGRule],
    address: m.IPAddress,
    protocol: int,
    port: Optional[int],
    peer_in_group: Callable[[m.SGRef], bool],
    icmp: Optional[tuple[int, int]] = None,
) -> Optional[m.SGRule]:
    """The first rule of a union of SG rules that allows the packet, or None.

    ``address`` is the remote end's IP (destination for egress, source for ingress);
    ``peer_in_group(ref)`` says whether the remote end counts as a member of SG ``ref``.
    ``icmp`` is an ICMP packet's (type, code). CIDR rules are tried first so that the (possibly
    costly) membership test runs last.
    """
    candidates = [rule for rule in rules if rule.traffic.matches(protocol, port, icmp)]
    for rule in candidates:
        if rule.cidr is not None and address in rule.cidr:
            return rule
    for rule in candidates:
        if rule.security_group is not None and peer_in_group(rule.security_group):
            return rule
    return None


def instance_rules(
    topology: m.Topology, instance: m.Instance | m.EndpointInterface, direction: str
) -> list[m.SGRule]:
    """All ``ingress`` or ``egress`` rules of an instance's security groups (their union)."""
    return [
        rule for ref in instance.security_groups for rule in getattr(topology.security_group(ref), direction)
    ]
