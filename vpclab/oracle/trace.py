"""Static reachability: follow a packet and its reply through a topology, AWS's way.

The oracle the live emulation is checked against. A packet leaves its instance through SG
egress (stateful), the source subnet's NACL egress (only when leaving the subnet), the subnet's
route table (longest prefix: local, peering, transit gateway, blackhole), then arrives through
the destination subnet's NACL ingress and the instance's SG ingress. The reply walks back with
stateless NACLs and routes but passes SGs by connection state. Through a transit gateway the
attachment subnets' NACLs apply as AWS documents (tgw-nacls): the source attachment subnet's
ingress, and the destination attachment subnet's egress unless it is the instance's own subnet.

The internet edge: a route to the VPC's internet gateway translates the source 1:1 from the
instance's private IP to its public IP (none: ``no-public-ip``); the emulated internet delivers
to its hosts by address and to a public IP through that instance's VPC's gateway, which
translates the destination back (no gateway: ``igw-not-attached``). SG references never
match across the internet: the other end is a public address. A route to a NAT gateway takes
the packet into the NAT gateway's subnet (its NACL in and out, no SG), translates the source
to the gateway's private address, and leaves by that subnet's route to the internet gateway
(none: ``nat-no-route``), which translates it to the gateway's Elastic IP; only replies come
back in (``nat-unsolicited``); it translates TCP, UDP and ICMP only (``nat-protocol``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Optional

from vpclab.intent import model as m
from vpclab.intent.values import PORTED_PROTOCOLS

from .delivery import Delivery
from .gateway_endpoints import GatewayEndpoints
from .internet import InternetEdge
from .load_balancers import LoadBalancers
from .middleboxes import Middleboxes
from .mtu import Mtu, mtu_of
from .nacls import Nacls
from .nat import NatGateways
from .packet import FORWARD, RETURN, Arrival, Dropped, Endpoint, Hop, Interface, Packet, Verdict, address_for
from .peering import Peering
from .privatelink import PrivateLink
from .routes import Routes
from .security_groups import SecurityGroups
from .sites import Sites
from .transit_gateways import TransitGateways
from .walk import MAX_TGW_TRAVERSALS, Options

__all__ = [
    "FORWARD", "RETURN", "MAX_TGW_TRAVERSALS", "Arrival", "Dropped", "Endpoint", "Hop", "Interface",
    "Options", "Packet", "Verdict", "Walked", "client_port_segments", "mtu_of", "routed_destination",
    "trace", "walk",
]  # fmt: skip


class Walk(
    Delivery,
    SecurityGroups,
    Nacls,
    Routes,
    Peering,
    TransitGateways,
    InternetEdge,
    NatGateways,
    PrivateLink,
    LoadBalancers,
    GatewayEndpoints,
    Middleboxes,
    Sites,
    Mtu,
):
    """One packet's walk, every AWS concept's steps joined (see ``walk.WalkState``)."""

    def routed_destination(self, source: m.Instance, address: m.IPAddress):
        return routed_destination(self.topology, source, address)


def routed_destination(topology: m.Topology, source: m.Instance, address: m.IPAddress):
    """Where routing alone takes a packet from ``source`` to ``address``: (endpoint, arrival
    kind 'local'/'peering'/'tgw'/'internet'), or (None, None). No SG or NACL is consulted."""
    probe = Walk(topology, Options(check=False))
    ipv6 = address.version == 6
    ping = m.PROTOCOL_NUMBERS["icmpv6" if ipv6 else "icmp"]
    own = address_for(source, ipv6)
    if own is None:
        return None, None
    try:
        target = probe.leave(source, Packet.request(own, address, ping, None))
    except Dropped:
        return None, None
    assert probe.found.arrival is not None
    return target, probe.found.arrival.kind


@dataclass
class Walked:
    """One packet's walk: its hops, and either where it arrived (as it arrived) or the drop."""

    hops: list[Hop]
    target: Optional[Endpoint] = None
    delivered: Optional[Packet] = None
    drop: Optional[Dropped] = None
    boxes: tuple[str, ...] = ()  # the appliances it went through
    interface: Optional[m.EndpointInterface] = None  # the interface endpoint it went through
    choices: tuple[str, ...] = ()  # the NLB targets it could have reached there
    limits: tuple[tuple[int, str], ...] = ()  # the MTUs on the way, and what has each
    gateway: Optional[m.GatewayEndpoint] = None  # the gateway endpoint it went through
    node: Optional[m.LoadBalancerNode] = None  # the NLB node (reached directly) it went through


def walk(topology: m.Topology, source: Endpoint, packet: Packet, options: Options) -> Walked:
    """Follow one packet (see ``Options``: a reply that reaches another endpoint than its
    ``requester`` is dropped there; ``tracked``: the appliances the request went through...)."""
    walker = Walk(topology, options)
    found = walker.found
    try:
        target = walker.leave(source, packet)
    except Dropped as drop:
        return Walked(
            found.hops, drop=drop, boxes=tuple(found.boxes), choices=found.choices, limits=tuple(found.limits)
        )
    return Walked(
        found.hops,
        target,
        found.delivered,
        None,
        tuple(found.boxes),
        found.interface,
        found.choices,
        tuple(found.limits),
        found.gateway,
        found.node,
    )


def client_port_segments(topology: m.Topology, ports: tuple[int, int]) -> list[tuple[int, int]]:
    """Split a client port range where any NACL rule's port range starts or ends.

    Within one segment every NACL rule matches all ports or none, so one port stands for all.
    """
    low, high = ports
    cuts = {low, high + 1}
    for vpc in topology.vpcs:
        for nacl in vpc.nacls:
            for rule in nacl.ingress + nacl.egress:
                if rule.traffic.ports:
                    cuts.update({rule.traffic.ports[0], rule.traffic.ports[1] + 1})
    edges = sorted(cut for cut in cuts if low <= cut <= high + 1)
    return [(start, end - 1) for start, end in pairwise(edges)]


def trace(
    topology: m.Topology,
    source: Endpoint,
    destination: m.IPAddress,
    protocol: int,
    port: Optional[int] = None,
    source_port: Optional[int] = None,
    source_ip: Optional[m.IPAddress] = None,
    check_source: bool = True,
    pick: Optional[str] = None,
    size: Optional[int] = None,
) -> Verdict:
    """Is a connection from ``source`` to ``destination`` accepted, request and reply?
    ``check_source=False`` asks what would happen if the card did not check the source.
    Through an interface endpoint the NLB may pick any healthy target: the connection is
    accepted only if it is with each (``pick``: follow that target alone). ``size``: the
    request's IP length (the replies are small)."""
    sender = source_ip or address_for(source, destination.version == 6)
    if sender is None:
        family = "IPv6" if destination.version == 6 else "IPv4"
        why = f"{source.name} has no {family} address to send to {destination} from"
        hop = Hop(FORWARD, "source", source.name, "drop", source.origin, why)
        return Verdict(False, f"no-{family.lower()}", FORWARD, source.origin, [hop])
    request = replace(Packet.request(sender, destination, protocol, port), size=size)
    first = _connection(topology, source, request, source_port, check_source, pick)
    if pick is None and len(first.choices) > 1:
        verdicts = [first] + [
            _connection(topology, source, request, source_port, check_source, other)
            for other in first.choices[1:]
        ]
        first = next((verdict for verdict in verdicts if not verdict.accepted), first)
    first.sender_mtu, first.size = mtu_of(source), size
    return first


def _connection(
    topology: m.Topology,
    source: Endpoint,
    request: Packet,
    source_port: Optional[int],
    check_source: bool,
    pick: Optional[str],
) -> Verdict:
    """One connection's verdict, the NLB (if any) taking target ``pick`` (None: its first)."""
    forward = walk(topology, source, request, Options(FORWARD, check_source=check_source, pick=pick))
    verdict = _verdict(topology, source, request, source_port, forward)
    verdict.path_mtu = min(
        ((mtu_of(source), f"{source.name}'s interface"), *forward.limits), key=lambda x: x[0]
    )
    return verdict


def _verdict(
    topology: m.Topology, source: Endpoint, request: Packet, source_port: Optional[int], forward: Walked
) -> Verdict:
    hops, target, arrived = forward.hops, forward.target, forward.delivered
    if forward.drop:
        return Verdict(False, forward.drop.reason, FORWARD, forward.drop.rule, hops, choices=forward.choices)
    assert target is not None and arrived is not None
    admitted_by = next(
        (h.object for h in reversed(hops) if h.stage == "sg-ingress"), hops[-1].object
    )  # an internet host has no SG: the host itself
    interface = forward.interface

    def reply(client_port: Optional[int]) -> Walked:
        """The reply, to the client's port (behind an NLB: to the port the NLB gave it)."""
        nlb_port = interface.nlb_ports[0] if interface and client_port is not None else client_port
        packet = arrived.reply(nlb_port)
        options = Options(
            RETURN,
            requester=source,
            tracked=forward.boxes,
            through=interface,
            client_port=client_port,
            gateway=forward.gateway,
            node=forward.node,
            node_port=request.port if forward.node else None,
        )
        return walk(topology, target, packet, options)

    if request.protocol not in PORTED_PROTOCOLS:
        back = reply(None)
        if back.drop:
            return Verdict(
                False, back.drop.reason, RETURN, back.drop.rule, hops + back.hops, choices=forward.choices
            )
        return Verdict(True, None, RETURN, admitted_by, hops + back.hops, choices=forward.choices)
    client_ports = (source_port, source_port) if source_port is not None else m.EPHEMERAL_PORTS
    failing: list[tuple[int, int]] = []
    first_failure: Optional[tuple[list[Hop], Dropped]] = None
    first_success: Optional[list[Hop]] = None
    for low, high in client_port_segments(topology, client_ports):
        back = reply(low)
        if back.drop:
            failing.append((low, high))
            first_failure = first_failure or (back.hops, back.drop)
        else:
            first_success = first_success or back.hops
    if not failing:
        assert first_success is not None
        return Verdict(True, None, RETURN, admitted_by, hops + first_success, choices=forward.choices)
    assert first_failure is not None
    reply_hops, reply_drop = first_failure
    return Verdict(
        False,
        reply_drop.reason,
        RETURN,
        reply_drop.rule,
        hops + reply_hops,
        ports_failing=_ranges(failing),
        choices=forward.choices,
    )


def _ranges(segments: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for low, high in segments:
        if merged and merged[-1][1] + 1 == low:
            merged[-1][1] = high
        else:
            merged.append([low, high])
    return ",".join(f"{low}-{high}" for low, high in merged)
