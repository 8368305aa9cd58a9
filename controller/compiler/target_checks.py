"""The NLB's health checks: what the target-health manager injects, and how answers come back.

Each target of a load balancer is checked from the NLB's first node: a TCP SYN from the node's
address (a source port of its own: below the interfaces' blocks behind an endpoint service;
an ephemeral one for an NLB reached directly, as AWS's, so the NACLs AWS tells users to write
for NLB health checks admit its answers) to the target's health-check
port, injected on the node's card as the node's subnet's own sender (the registers
``classify`` sets, then ``nacl_src_egress``). It crosses the node subnet's NACL, the route
table, the target's NACLs and SG exactly as the NLB's traffic does; the target's SYN-ACK (or
RST) comes back to the node's address, where ``privatelink`` hands it to the controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from vpclab.intent import model as m
from vpclab.layout.actions import Action, Resubmit

from .privatelink import HEALTH_PORTS, as_sender

DIRECT_HEALTH_PORTS = (61000, 61511)  # an NLB reached directly: ephemeral ports, one per target


@dataclass(frozen=True)
class TargetCheck:
    """One target's health check."""

    load_balancer: str
    target: str
    check: m.TargetHealthCheck
    server: str  # the card it is injected on (the first node's)
    source: IPv4Address  # the node's address
    source_port: int  # the target's own: its answers are told apart by it
    address: IPv4Address
    port: int
    actions: tuple[Action, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.load_balancer, self.target)


def target_checks(plan) -> list[TargetCheck]:
    """Every target of every load balancer, checked on its listener's (or the check's) port."""
    checks = []
    for balancer in plan.topology.load_balancers:
        low, high = DIRECT_HEALTH_PORTS if balancer.direct else HEALTH_PORTS
        ports = iter(range(low, high + 1))  # one per target (the loader caps them)
        node = balancer.nodes[0]
        provider = plan.topology.vpc(balancer.vpc)
        actions = as_sender(plan, provider, provider.subnet(node.subnet)) + (Resubmit("nacl_src_egress"),)
        port = balancer.health_check.port or balancer.listeners[0].target_port
        for name in balancer.targets:
            target = plan.topology.instance(name)
            checks.append(
                TargetCheck(
                    balancer.name,
                    name,
                    balancer.health_check,
                    node.server,
                    node.ip,
                    next(ports),
                    target.ip,
                    port,
                    actions,
                )
            )
    return checks
