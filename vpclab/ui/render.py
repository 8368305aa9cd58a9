"""How the command and the shell print a topology summary and a trace verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from vpclab.intent.model import Topology


def summary(topology: Topology) -> str:
    counts = [
        (len(topology.vpcs), "VPC"),
        (sum(len(v.subnets) for v in topology.vpcs), "subnet"),
        (len(topology.senders), "instance"),
        (len(topology.servers), "server"),
        (len(topology.peerings), "peering"),
        (len(topology.transit_gateways), "transit gateway"),
    ]
    counts += [  # named only where the design has them
        (n, word)
        for n, word in (
            (len(topology.accounts), "account"),
            (len(topology.regions), "Region"),
            (len(topology.transit_gateway_peerings), "TGW peering"),
            (sum(1 for v in topology.vpcs if v.ipv6_cidr is not None), "dual-stack VPC"),
            (sum(1 for v in topology.vpcs for s in v.subnets if s.ipv6_native), "IPv6-only subnet"),
        )
        if n > (1 if word in ("account", "Region") else 0)
    ]
    edge = [  # named only where the design has an internet edge
        (sum(1 for v in topology.vpcs if v.internet_gateway), "internet gateway"),
        (sum(1 for v in topology.vpcs if v.egress_only_internet_gateway), "egress-only internet gateway"),
        (len(topology.nat_gateways), "NAT gateway"),
        (sum(1 for h in topology.internet_hosts if not h.service), "internet host"),
        (len(topology.endpoint_services), "endpoint service"),
        (len(topology.network_load_balancers), "network load balancer"),
        (len(topology.vpc_endpoints), "VPC endpoint"),
        (len(topology.gateway_endpoints), "gateway endpoint"),
        (len(topology.instances) - len(topology.senders), "AWS service interface"),
        (len(topology.aws_services), "AWS service"),
        (sum(1 for p in topology.prefix_lists if not p.aws_managed), "prefix list"),
        (len(topology.hybrid.sites), "on-premises site"),
        (len(topology.hybrid.vpn_gateways), "virtual private gateway"),
        (len(topology.hybrid.vpn_connections), "VPN connection"),
        (len(topology.hybrid.dx_gateways), "Direct Connect gateway"),
        (len(topology.hybrid.dx_connections), "Direct Connect connection"),
    ]
    counts += [(n, word) for n, word in edge if n]
    parts = ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
    return f"{topology.source}: ok: topology '{topology.name}': {parts}"


def render_verdict(verdict, aws_id: Callable[[str], Optional[str]] = lambda origin: None) -> str:
    """One readable line per hop, then the verdict; ``aws_id`` names an object's AWS id."""

    def named(origin: Optional[str]) -> str:
        found = aws_id(origin) if origin else None
        return f"{origin} {found}" if found else str(origin)

    lines = [
        f"{hop.direction:<8} {hop.stage:<15} {hop.at:<22} {hop.result:<5} {hop.detail}"
        + (f"  [{named(hop.object)}]" if hop.object else "")
        for hop in verdict.hops
    ]
    if verdict.path_mtu and (verdict.path_mtu[0] < verdict.sender_mtu or verdict.size):
        lines.append(f"path MTU {verdict.path_mtu[0]} bytes (set by {verdict.path_mtu[1]})")
    if verdict.accepted:
        lines.append(f"ACCEPTED (admitted by {named(verdict.rule)})")
        if verdict.left_network:
            lines.append(
                f"(the request left the network for {verdict.left_network}, outside the emulation; "
                "its reply was traced back as if a host there answered)"
            )
        if len(verdict.choices) > 1:  # trace followed one target; it checked them all
            lines.append(f"(through the NLB to any of its targets: {', '.join(verdict.choices)} each accept)")
    else:
        failing = f", client ports {verdict.ports_failing}" if verdict.ports_failing else ""
        decided = named(verdict.rule)
        lines.append(
            f"DROPPED: {verdict.reason} on the {verdict.direction} path{failing} (decided by {decided})"
        )
    return "\n".join(lines)
