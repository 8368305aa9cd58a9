"""Match building blocks: IPv4 prefixes and port ranges as OpenFlow (value, mask) pairs; and
what the cards carry so far (IPv4: ``carried``, ``ipv4_view``, ``uncarried``)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Optional

from vpclab.errors import InvalidInput
from vpclab.intent import model as m

ETH_IP, ETH_ARP = 0x0800, 0x0806
TCP, UDP = 6, 17
TCP_SYN = 0x002  # the SYN bit of tcp_flags (a SYN, or a SYN-ACK)
ETHERNET_HEADER = 14  # bytes before the IP header: an MTU check on a frame adds them


UNCARRIED = (
    "it has an IPv6 address: IPv6 is checked and traced (trace -6) but not yet emulated live, "
    "the Nitro cards carry IPv4 only so far; run a design whose subnets and hosts have no IPv6"
)


def uncarried(topology: m.Topology) -> Optional[str]:
    """The first YAML path of what the data plane cannot carry yet (issue 34): something with
    an IPv6 address. IPv6 rules and routes alone are inert (no IPv6 packet exists): they run."""
    return topology.ipv6_holders[0] if topology.ipv6_holders else None


def refuse_uncarried(topology: m.Topology) -> None:
    """Refuse a changed design the data plane cannot carry yet."""
    origin = uncarried(topology)
    if origin:
        raise InvalidInput(f"{origin}: {UNCARRIED}")


def ipv4_view(topology: m.Topology) -> m.Topology:
    """The design as the cards carry it so far: without IPv6-only subnets and their instances."""
    if not any(subnet.ipv6_native for vpc in topology.vpcs for subnet in vpc.subnets):
        return topology
    vpcs = tuple(
        replace(
            vpc,
            subnets=tuple(s for s in vpc.subnets if not s.ipv6_native),
            instances=tuple(i for i in vpc.instances if i.ip is not None),
        )
        for vpc in topology.vpcs
    )
    return replace(topology, vpcs=vpcs)


def carried(network) -> bool:
    """Is a rule's or route's CIDR one the data plane carries? IPv4 only so far: IPv6 rules
    and routes are checked and traced, not yet compiled (issue 34; ``up`` refuses them)."""
    return network is None or network.version == 4


def ipv4(network) -> IPv4Network:
    """A CIDR ``carried`` let through (for the type checker)."""
    assert isinstance(network, IPv4Network), network
    return network


def prefix(network: IPv4Network) -> tuple[str, str]:
    return (str(network.network_address), str(network.netmask))


def host(address: IPv4Address) -> tuple[str, str]:
    return (str(address), "255.255.255.255")


def port_blocks(low: int, high: int) -> list[tuple[int, int]]:
    """Cover ``low..high`` with the fewest (value, mask) blocks of 16-bit ports."""
    blocks = []
    while low <= high:
        size = low & -low if low else 1 << 16
        while size > high - low + 1:
            size >>= 1
        blocks.append((low, 0xFFFF & ~(size - 1)))
        low += size
    return blocks


def traffic_matches(traffic: m.Traffic) -> list[dict]:
    """The match fragments that select ``traffic`` (one per port block), IPv4 implied."""
    base: dict = {"eth_type": ETH_IP}
    if traffic.protocol is None:
        return [base]
    base["ip_proto"] = traffic.protocol
    if traffic.icmp_type is not None:
        base["icmpv4_type"] = traffic.icmp_type
        if traffic.icmp_code is not None:
            base["icmpv4_code"] = traffic.icmp_code
    if traffic.ports is None:
        return [base]
    return [{**base, "tp_dst": block} for block in port_blocks(*traffic.ports)]
