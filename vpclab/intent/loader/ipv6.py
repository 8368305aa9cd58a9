"""Dual stack: a VPC's IPv6 /56 and its subnets' /64s (from 2001:db8::/32 only), instances'
IPv6 addresses (given, or assigned), egress-only internet gateways, internet hosts' IPv6
addresses, and what an IPv6 route, rule or CIDR may say."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Address, IPv6Network
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_ipv6_address, parse_ipv6_network
from .reporter import Known, Reporter

DOCUMENTATION = m.IPV6_DOCUMENTATION_RANGE


def build_vpc_ipv6(r: Reporter, known: Known, data: dict) -> None:
    """Each VPC's IPv6 /56 (``known.vpc_ipv6``; no two VPCs share addresses: AWS's pool gives
    each VPC its own) and its egress-only internet gateway (``known.eigws``; a name no other
    VPC uses)."""
    owners: dict[str, int] = {}
    for v, vpc in enumerate(data["vpcs"]):
        known.vpc_ipv6[vpc["name"]] = _vpc_cidr(r, known, v, vpc)
        name = vpc.get("egress_only_internet_gateway")
        if name is None:
            continue
        path = ("vpcs", v, "egress_only_internet_gateway")
        if name in owners:
            owner = data["vpcs"][owners[name]]["name"]
            r.report(
                path,
                f"'{name}' is already VPC '{owner}''s egress-only gateway; a gateway attaches to one VPC",
            )
            continue
        if name in {g.name for g in known.internet_gateways.values()}:
            r.report(path, f"'{name}' already names an internet gateway")
            continue
        owners[name] = v
        known.eigws[vpc["name"]] = m.EgressOnlyInternetGateway(format_path(path), name, vpc["name"])


def _vpc_cidr(r: Reporter, known: Known, v: int, vpc: dict) -> Optional[IPv6Network]:
    if "ipv6_cidr" not in vpc:
        return None
    path = ("vpcs", v, "ipv6_cidr")
    cidr = r.parsed(path, parse_ipv6_network, vpc["ipv6_cidr"])
    if cidr is None:
        return None
    if cidr.prefixlen != m.VPC_IPV6_PREFIX:
        r.report(path, f"AWS gives a VPC an IPv6 /{m.VPC_IPV6_PREFIX}, got /{cidr.prefixlen}")
        return None
    if not cidr.subnet_of(DOCUMENTATION):
        r.report(
            path,
            f"{cidr} is not in {DOCUMENTATION}: vpclab's IPv6 addresses come from the documentation "
            "range (RFC 3849), so the emulation never uses a real host's address",
        )
        return None
    clash = next(
        (name for name, other in known.vpc_ipv6.items() if other is not None and other == cidr), None
    )
    if clash:
        r.report(path, f"{cidr} is already VPC '{clash}''s IPv6 CIDR; AWS gives each VPC its own /56")
        return None
    return cidr


def subnet_ipv6(
    r: Reporter, known: Known, path: DocPath, vpc: str, subnet: dict, siblings: dict
) -> Optional[IPv6Network]:
    """A subnet's /64: inside its VPC's /56, overlapping no sibling's (``siblings``: name ->
    draft)."""
    if "ipv6_cidr" not in subnet:
        return None
    path = path + ("ipv6_cidr",)
    cidr = r.parsed(path, parse_ipv6_network, subnet["ipv6_cidr"])
    if cidr is None:
        return None
    block = known.vpc_ipv6.get(vpc)
    if block is None:
        r.report(path, f"VPC '{vpc}' has no IPv6 CIDR: set its 'ipv6_cidr' (a /56) first")
        return None
    if cidr.prefixlen != m.SUBNET_IPV6_PREFIX:
        r.report(path, f"an IPv6 subnet is a /{m.SUBNET_IPV6_PREFIX} (AWS's size), got /{cidr.prefixlen}")
        return None
    if not cidr.subnet_of(block):
        r.report(path, f"{cidr} is not inside the VPC's IPv6 CIDR {block}")
        return None
    for name, sibling in siblings.items():
        if sibling.ipv6_cidr is not None and sibling.ipv6_cidr.overlaps(cidr):
            r.report(path, f"{cidr} overlaps subnet '{name}' ({sibling.ipv6_cidr})")
            return None
    return cidr


def assigned_ipv6(subnet: m.Subnet, ipv4, used) -> Optional[IPv6Address]:
    """The address an instance without ``ipv6`` gets in ``subnet`` (None: the subnet has no
    /64): the /64's base plus its IPv4 host number written in the same digits (10.0.1.10 ->
    2001:db8:1000:1::10), AWS's random choice made readable; taken: the first free one."""
    block = subnet.ipv6_cidr
    if block is None:
        return None
    if ipv4 is not None:
        host = int(ipv4) - int(subnet.ipv4.network_address)
        wanted = block.network_address + int(str(host), 16)
        if wanted not in used and wanted not in subnet.reserved_addresses_v6:
            return wanted
    return next(a for a in block.hosts() if a not in used and a not in subnet.reserved_addresses_v6)


def ipv4_subnet(r: Reporter, path: DocPath, subnet: m.Subnet) -> bool:
    """A NAT gateway's or an NLB's or endpoint's interface needs an IPv4 address (vpclab, as
    AWS's NAT gateways): not in an IPv6-only subnet."""
    if subnet.cidr is None:
        r.report(
            path, f"subnet '{subnet.name}' is IPv6-only: this needs an IPv4 address (a subnet with a 'cidr')"
        )
        return False
    return True


def route_family(r: Reporter, known: Known, path: DocPath, vpc: str, route: dict, destination) -> bool:
    """An IPv6 destination needs an IPv6 VPC and a target that carries IPv6; an egress-only
    gateway takes IPv6 destinations only, and only its own VPC's."""
    eigw = route.get("egress_only_internet_gateway")
    if isinstance(destination, IPv4Network):
        if eigw:
            r.report(
                path + ("egress_only_internet_gateway",),
                f"an egress-only internet gateway carries IPv6 only; {destination} is IPv4 "
                "(a private subnet's IPv4 goes out by a NAT gateway)",
            )
            return False
        return True
    if known.vpc_ipv6.get(vpc) is None:
        r.report(path + ("destination",), f"{destination} is IPv6 but VPC '{vpc}' has no 'ipv6_cidr'")
        return False
    if "vpn_gateway" in route:
        r.report(
            path + ("vpn_gateway",),
            f"{destination} is IPv6: AWS's virtual private gateways carry no IPv6 over a Site-to-Site "
            "VPN (a transit gateway's VPN attachment does)",
        )
        return False
    if "nat_gateway" in route:
        r.report(
            path + ("nat_gateway",),
            f"{destination} is IPv6: vpclab's NAT gateways carry IPv4 only, no NAT64 yet (IPv6 leaves "
            "by the internet gateway, or one way by an egress-only internet gateway)",
        )
        return False
    if eigw:
        own = known.eigws.get(vpc)
        if own is None or own.name != eigw:
            has = (
                f"(its egress-only gateway is '{own.name}')"
                if own
                else "(it has none: set 'egress_only_internet_gateway:')"
            )
            r.report(
                path + ("egress_only_internet_gateway",),
                f"egress-only internet gateway '{eigw}' is not attached to VPC '{vpc}' {has}",
            )
            return False
    return True


def rule_family(r: Reporter, path: DocPath, traffic: m.Traffic, cidr) -> bool:
    """ICMP for IPv4 is protocol icmp, for IPv6 icmpv6 (58): a rule that mixes them never
    matches, and AWS's console refuses it."""
    icmp, icmpv6 = m.PROTOCOL_NUMBERS["icmp"], m.PROTOCOL_NUMBERS["icmpv6"]
    if traffic.protocol == icmpv6 and isinstance(cidr, IPv4Network):
        r.report(path + ("protocol",), f"icmpv6 is IPv6's ICMP but {cidr} is IPv4 (use protocol icmp)")
        return False
    if traffic.protocol == icmp and isinstance(cidr, IPv6Network):
        r.report(path + ("protocol",), f"icmp is IPv4's ICMP but {cidr} is IPv6 (use protocol icmpv6)")
        return False
    return True


def host_ipv6(r: Reporter, known: Known, path: DocPath, text) -> Optional[IPv6Address]:
    """An internet host's IPv6 address: in 2001:db8::/32, in no VPC's /56, used once."""
    address = r.parsed(path, parse_ipv6_address, text)
    if address is None:
        return None
    if address not in DOCUMENTATION:
        r.report(
            path,
            f"{address} is not in {DOCUMENTATION}: internet hosts use documentation addresses "
            "(RFC 3849), so the emulation never uses a real host's address",
        )
        return None
    inside = next(
        (vpc for vpc, block in known.vpc_ipv6.items() if block is not None and address in block), None
    )
    if inside:
        r.report(path, f"{address} is inside VPC '{inside}''s IPv6 CIDR {known.vpc_ipv6[inside]}")
        return None
    if address in known.outside_addresses:
        r.report(path, f"{address} is already used by {format_path(known.outside_addresses[address])}")
        return None
    known.outside_addresses[address] = path
    return address
