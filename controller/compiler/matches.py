"""Match building blocks: IPv4 and IPv6 prefixes and port ranges as OpenFlow (value, mask)
pairs, a field per address family; and what the cards carry so far (``uncarried``)."""

from __future__ import annotations

from collections.abc import Collection
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Optional, Union

from vpclab.errors import InvalidInput
from vpclab.intent import model as m
from vpclab.intent.errors import ChangeError
from vpclab.layout.plan import card_names

ETH_IP, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
TCP_SYN = 0x002  # the SYN bit of tcp_flags (a SYN, or a SYN-ACK)
ETHERNET_HEADER = 14  # bytes before the IP header: an MTU check on a frame adds them
NEIGHBOR_SOLICITATION, ROUTER_SOLICITATION = 135, 133  # ICMPv6 types (RFC 4861)
ETH_TYPE = {4: ETH_IP, 6: ETH_IPV6}
# the address fields by family and side: IPv4's keep OpenFlow 1.0's names (nw_src, nw_dst)
ADDRESS_FIELD = {(4, "src"): "nw_src", (4, "dst"): "nw_dst", (6, "src"): "ipv6_src", (6, "dst"): "ipv6_dst"}
FAMILIES = (4, 6)

Address = Union[IPv4Address, IPv6Address]
Network = Union[IPv4Network, IPv6Network]

# what the data plane refuses to carry yet, where the design holds IPv6 addresses
UNCARRIED = (
    "the Nitro cards carry IPv6 within VPCs, across peerings and transit gateways, through "
    "appliances and internet and egress-only internet gateways; an IPv6 route to {target} is checked and "
    "traced (trace -6) but not yet emulated live"
)


def uncarried(topology: m.Topology) -> Optional[tuple[str, str]]:
    """The first route the data plane cannot carry yet (issue 34), as (YAML path, its target):
    an IPv6 route to something other than the VPC, a peering or an (egress-only) internet
    gateway, in a design that has IPv6 addresses. Without IPv6 addresses, IPv6 routes are inert
    (no IPv6 packet exists)."""
    if not topology.ipv6_holders:
        return None
    for vpc in topology.vpcs:
        for table in vpc.route_tables:
            for route in table.routes:
                if not carried(route):
                    return route.origin, route.describe().split(" -> ")[1]
    for tgw in topology.transit_gateways:
        for tgw_table in tgw.route_tables:
            for static in tgw_table.static_routes:
                if not carried_tgw_route(tgw, static):
                    return static.origin, f"{tgw.name}'s attachment {static.attachment} (a site)"
    return None


def refuse_uncarried(topology: m.Topology, cards: Optional[Collection[str]] = None) -> None:
    """Refuse a (changed) design the data plane cannot carry yet, or (with ``cards``, the
    running emulation's) one that needs a card the emulation did not build: the internet's,
    for a design that came up without an internet gateway, an internet host or a site."""
    found = uncarried(topology)
    if found:
        origin, target = found
        raise InvalidInput(f"{origin}: {UNCARRIED.format(target=target)}")
    missing = [card for card in card_names(topology) if cards is not None and card not in cards]
    if missing:
        raise ChangeError(
            f"the running emulation has no {' or '.join(missing)} card: it came up without an "
            "internet gateway, an internet host or a site (start it from a design that has one, "
            "e.g. an internet host)"
        )


def carried(route: m.Route) -> bool:
    """Is a VPC route compiled? Every IPv4 route; an IPv6 one to the VPC, a peering, a transit
    gateway, an appliance, an (egress-only) internet gateway or a blackhole (issue 34: NAT
    gateways, VGWs and failover routes come later)."""
    if route.destination.version == 4:
        return True
    simple = route.local or route.peering or route.internet_gateway or route.blackhole or route.instance
    return bool(simple or route.transit_gateway or route.egress_only_internet_gateway) and not route.failover


def carried_tgw_route(tgw: m.TransitGateway, route) -> bool:
    """Is a TGW's static route compiled? Every IPv4 one; an IPv6 one unless it goes to a VPN or
    Direct Connect attachment (a site's IPv6 is not emulated yet)."""
    if route.destination.version == 4 or route.attachment is None:
        return True
    return not tgw.attachment(route.attachment).hybrid


def ipv4(network) -> IPv4Network:
    """An IPv4 CIDR (for the type checker), where only IPv4 can come."""
    assert isinstance(network, IPv4Network), network
    return network


def prefix(network: Network) -> tuple[str, str]:
    return (str(network.network_address), str(network.netmask))


def host(address: Address) -> tuple[str, str]:
    if isinstance(address, str):
        address = ip_address(address)
    full = "255.255.255.255" if address.version == 4 else "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    return (str(address), full)


def address_match(side: str, address: Address) -> dict:
    """The match on one address as ``side`` ("src" or "dst") of a packet, with its family's
    eth_type."""
    return {"eth_type": ETH_TYPE[address.version], ADDRESS_FIELD[(address.version, side)]: host(address)}


def network_match(side: str, network: Network) -> dict:
    """The match on a prefix as ``side`` of a packet, with its family's eth_type."""
    return {"eth_type": ETH_TYPE[network.version], ADDRESS_FIELD[(network.version, side)]: prefix(network)}


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


def traffic_families(traffic: m.Traffic, network) -> tuple[int, ...]:
    """The families a rule covers: its CIDR's; without one (an SG reference) both, but ICMP
    is IPv4's and ICMPv6 IPv6's."""
    if network is not None:
        return (network.version,)
    if traffic.protocol == ICMP:
        return (4,)
    if traffic.protocol == ICMPV6:
        return (6,)
    return FAMILIES


def traffic_matches(traffic: m.Traffic, version: int = 4) -> list[dict]:
    """The match fragments that select ``traffic`` in one family (one per port block)."""
    base: dict = {"eth_type": ETH_TYPE[version]}
    if traffic.protocol is None:
        return [base]
    base["ip_proto"] = traffic.protocol
    if traffic.icmp_type is not None:
        kind = "icmpv4" if version == 4 else "icmpv6"
        base[f"{kind}_type"] = traffic.icmp_type
        if traffic.icmp_code is not None:
            base[f"{kind}_code"] = traffic.icmp_code
    if traffic.ports is None:
        return [base]
    return [{**base, "tp_dst": block} for block in port_blocks(*traffic.ports)]
