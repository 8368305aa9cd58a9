"""Command arguments that name things in a topology: instances, addresses, protocols, ports.

Shared by the ``vpclab`` command and the Mininet shell's verbs, so both accept the same words
and refuse them with the same messages.
"""

from __future__ import annotations

import argparse
from ipaddress import IPv6Address, ip_address
from typing import Optional

from vpclab.errors import InvalidInput
from vpclab.intent.dns import resolve
from vpclab.intent.model import (
    EC2_INTERNAL,
    ICMP_PROTOCOLS,
    PROTOCOL_NUMBERS,
    Instance,
    InternetHost,
    IPAddress,
    Topology,
)
from vpclab.intent.values import PORTED_PROTOCOLS, parse_protocol
from vpclab.oracle.packet import addresses_of
from vpclab.oracle.trace import Endpoint


class UsageError(InvalidInput):
    """A command-line argument that does not fit the topology."""


def resolve_source(topology: Topology, text: str) -> Endpoint:
    """An instance (by name, or an imported one by its AWS id), a host of the emulated internet
    or of an on-premises site, by name."""
    try:
        found = topology.endpoint(text)
    except KeyError:
        raise UsageError(
            f"no instance, internet host or site host '{text}' in topology '{topology.name}'"
        ) from None
    if isinstance(found, Instance) and found.service:
        raise UsageError(
            f"'{text}' is endpoint {found.endpoint}'s interface to {found.service}: it opens no connections"
        )
    if isinstance(found, InternetHost) and found.service:
        raise UsageError(f"'{text}' stands for {found.service}: it answers, and opens no connections")
    return found


def resolve_destination(
    topology: Topology, text: str, source: Optional[Endpoint] = None, ipv6: bool = False
) -> IPAddress:
    """An address, or what a name means to ``source``: an instance's private IP (from the
    internet: its public IP, if it has one), an internet host's address; with ``ipv6``, their
    IPv6 addresses (as ``ping -6 NAME``)."""
    try:
        instance = topology.instance(text)
    except KeyError:
        pass
    else:
        if ipv6:
            return _ipv6_of(instance.ipv6, text, "its subnet has no ipv6_cidr")
        if isinstance(source, InternetHost) and instance.public_ip is not None:
            return instance.public_ip
        if instance.ip is None:
            raise UsageError(f"'{text}' is IPv6-only (its subnet is ipv6_native): add -6")
        return instance.ip
    try:
        host = topology.internet_host(text)
    except KeyError:
        pass
    else:
        return _ipv6_of(host.ipv6, text, "give it 'ipv6:'") if ipv6 else host.ip
    try:
        return topology.hybrid.host(text).ip
    except KeyError:
        pass
    try:
        address = ip_address(text)
    except ValueError:
        if "." in text or isinstance(source, Instance):
            try:
                return dns_lookup(topology, text, source, ipv6)[0]
            except UsageError as error:
                if "." in text:
                    raise
                raise UsageError(
                    f"'{text}' is neither an instance nor an internet host of '{topology.name}', "
                    f"nor an IP; as a DNS name: {error}"
                ) from None
        raise UsageError(
            f"'{text}' is neither an instance nor an internet host of '{topology.name}', nor an IP"
        ) from None
    if address.version == 6:
        return address
    if ipv6:
        raise UsageError(f"'{text}' is an IPv4 address; -6 asks for IPv6")
    return topology.emulated_address(address)  # an imported instance's real public IP: its own


def _ipv6_of(address: Optional[IPv6Address], name: str, hint: str) -> IPv6Address:
    if address is None:
        raise UsageError(f"'{name}' has no IPv6 address ({hint})")
    return address


def dns_lookup(
    topology: Topology, name: str, source: Optional[Endpoint], ipv6: bool = False
) -> tuple[IPAddress, str]:
    """The address ``source``'s resolver gives ``name`` (as glibc does with the instance's
    resolv.conf: a name with a dot as it is first, then under the search domains), and how;
    ``ipv6``: its AAAA record (as ``ping -6 NAME``)."""
    if not isinstance(source, Instance):
        raise UsageError(f"'{name}': only an instance asks a VPC's resolver (name an address instead)")
    vpc = topology.vpc(source.vpc)
    if not vpc.dns_support:
        raise UsageError(f"'{name}': VPC {vpc.name} has enable_dns_support: false (no resolver answers)")
    searched = [f"{name}.{suffix}" for suffix in (topology.dns_domain, EC2_INTERNAL)]
    kind = "AAAA" if ipv6 else "A"
    for candidate in [name, *searched] if "." in name else [*searched, name]:
        found = resolve(topology, vpc.name, candidate, kind)
        addresses = [r for r in found.records if r.type == kind]
        if addresses:
            aliases = [r.name for r in found.records if r.type == "CNAME"]
            via = f" (CNAME {' -> '.join([*aliases, addresses[0].name])})" if aliases else ""
            address = ip_address(addresses[0].values[0])
            return (
                address,
                f"{candidate} is {address}{via}, as VPC {vpc.name}'s resolver answers {source.name}",
            )
    raise UsageError(f"'{name}' does not resolve in VPC {vpc.name} (NXDOMAIN or no {kind} record)")


def dns_note(topology: Topology, text: str, source: Endpoint, ipv6: bool = False) -> Optional[str]:
    """How a destination written as a DNS name resolved (None for an instance, an internet
    host or an address): what trace prints before its hops."""
    try:
        ip_address(text)
    except ValueError:
        try:
            topology.endpoint(text)  # a name (or an imported instance's AWS id): no DNS
        except KeyError:
            return dns_lookup(topology, text, source, ipv6)[1]
    return None


def traffic_arguments(args, ipv6: bool = False) -> tuple[int, Optional[int]]:
    """``--protocol`` and ``--port`` as trace takes them: tcp with a port, else a ping, whose
    ICMP is the destination's family's (icmp and icmpv6 mean a ping in either, as ping does)."""
    protocol_text = args.protocol or ("tcp" if args.port is not None else "icmp")
    try:
        protocol = parse_protocol(protocol_text)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if protocol in ICMP_PROTOCOLS:
        protocol = PROTOCOL_NUMBERS["icmpv6" if ipv6 else "icmp"]
    if protocol is None:
        raise UsageError("trace follows one packet: name a protocol (tcp, udp, icmp or a number)")
    ported = protocol in PORTED_PROTOCOLS
    if ported and args.port is None:
        raise UsageError(f"--protocol {protocol_text} needs --port")
    if not ported and args.port is not None:
        raise UsageError("--port applies to tcp and udp only")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: ports are 0-65535")
    return protocol, args.port


MIN_PACKET, MAX_PACKET = 20, 65535  # an IPv4 header alone; the largest total length


def trace_arguments(topology: Topology, args) -> dict:
    """Turn trace's command-line arguments into keyword arguments of ``trace()``."""
    source = resolve_source(topology, args.src)
    destination = resolve_destination(topology, args.dst, source, getattr(args, "ipv6", False))
    if destination in addresses_of(source):
        raise UsageError(f"{args.src} and {args.dst} are the same address")
    protocol, port = traffic_arguments(args, destination.version == 6)
    if protocol not in PORTED_PROTOCOLS and args.source_port is not None:
        raise UsageError("--source-port applies to tcp and udp only")
    if args.source_port is not None and not 0 <= args.source_port <= 65535:
        raise UsageError(f"--source-port {args.source_port}: ports are 0-65535")
    source_ip = None
    if args.source_ip:
        try:
            source_ip = ip_address(args.source_ip)
        except ValueError:
            raise UsageError(f"--source-ip {args.source_ip!r} is not an IP address") from None
        if source_ip.version != destination.version:
            raise UsageError(f"--source-ip {source_ip} and the destination {destination} are of two families")
    size = getattr(args, "size", None)
    if size is not None and not MIN_PACKET <= size <= MAX_PACKET:
        raise UsageError(f"--size {size}: an IP packet is {MIN_PACKET}-{MAX_PACKET} bytes")
    return dict(
        source=source,
        destination=destination,
        protocol=protocol,
        port=port,
        source_port=args.source_port,
        source_ip=source_ip,
        size=size,
    )


def positive(text: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number above zero")
    return number
