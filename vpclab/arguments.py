"""Command arguments that name things in a topology: instances, addresses, protocols, ports.

Shared by the ``vpclab`` command and the Mininet shell's verbs, so both accept the same words
and refuse them with the same messages.
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address
from typing import Optional

from vpclab.intent.model import Topology
from vpclab.intent.values import PORTED_PROTOCOLS, parse_protocol


class UsageError(Exception):
    """A command-line argument that does not fit the topology."""


def resolve_destination(topology: Topology, text: str) -> IPv4Address:
    try:
        return topology.instance(text).ip
    except KeyError:
        pass
    try:
        address = ip_address(text)
    except ValueError:
        raise UsageError(f"'{text}' is neither an instance of '{topology.name}' nor an IP") from None
    if address.version != 4:
        raise UsageError(f"'{text}' is IPv6; vpclab models IPv4 only")
    return address


def traffic_arguments(args) -> tuple[int, Optional[int]]:
    """``--protocol`` and ``--port`` as trace takes them: tcp with a port, else icmp."""
    protocol_text = args.protocol or ("tcp" if args.port is not None else "icmp")
    try:
        protocol = parse_protocol(protocol_text)
    except ValueError as error:
        raise UsageError(str(error)) from None
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


def trace_arguments(topology: Topology, args) -> dict:
    """Turn trace's command-line arguments into keyword arguments of ``trace()``."""
    try:
        source = topology.instance(args.src)
    except KeyError:
        raise UsageError(f"no instance '{args.src}' in topology '{topology.name}'") from None
    destination = resolve_destination(topology, args.dst)
    if destination == source.ip:
        raise UsageError(f"{args.src} and {args.dst} are the same address")
    protocol, port = traffic_arguments(args)
    if protocol not in PORTED_PROTOCOLS and args.source_port is not None:
        raise UsageError("--source-port applies to tcp and udp only")
    if args.source_port is not None and not 0 <= args.source_port <= 65535:
        raise UsageError(f"--source-port {args.source_port}: ports are 0-65535")
    source_ip = None
    if args.source_ip:
        try:
            source_ip = IPv4Address(args.source_ip)
        except ValueError:
            raise UsageError(f"--source-ip {args.source_ip!r} is not an IPv4 address") from None
    return dict(
        source=source,
        destination=destination,
        protocol=protocol,
        port=port,
        source_port=args.source_port,
        source_ip=source_ip,
    )
