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
back in (``nat-unsolicited``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from itertools import pairwise
from typing import NoReturn, Optional, Union

from ..intent import model as m
from ..intent.values import PORTED_PROTOCOLS
from .policy import instance_rules, nacl_verdict, sg_allowing
from .routing import subnet_route_table, tgw_route, vpc_route

FORWARD, RETURN = "forward", "return"
MAX_TGW_TRAVERSALS = 3  # a packet may hairpin through an inspection VPC, never loop

Endpoint = Union[m.Instance, m.InternetHost]
Interface = Union[m.Instance, m.EndpointInterface]  # what has security groups


@dataclass(frozen=True)
class Packet:
    src: IPv4Address
    dst: IPv4Address
    protocol: int
    port: Optional[int] = None  # destination port (tcp/udp)
    icmp: Optional[tuple[int, int]] = None  # (type, code) of an ICMP packet
    size: Optional[int] = None  # its IP length in bytes (None: small enough for any path)

    @classmethod
    def request(cls, src: IPv4Address, dst: IPv4Address, protocol: int, port: Optional[int]) -> Packet:
        """The first packet of a connection; ICMP is a ping (echo request)."""
        icmp = m.ICMP_ECHO_REQUEST if protocol == m.PROTOCOL_NUMBERS["icmp"] else None
        return cls(src, dst, protocol, port, icmp)

    def reply(self, client_port: Optional[int]) -> Packet:
        """The answer: an echo reply is as long as its request; other replies are small."""
        echo = self.icmp == m.ICMP_ECHO_REQUEST
        icmp = m.ICMP_ECHO_REPLY if echo else self.icmp
        return Packet(self.dst, self.src, self.protocol, client_port, icmp, self.size if echo else None)

    def describe(self) -> str:
        kind = m.protocol_label(self.protocol)
        if self.icmp is not None:
            kind = "ping" if self.icmp == m.ICMP_ECHO_REQUEST else "ping reply"
        return f"{kind} {self.src} -> {self.dst}" + (f":{self.port}" if self.port is not None else "")


@dataclass(frozen=True)
class Hop:
    direction: str
    stage: str
    at: str
    result: str  # "pass" or "drop"
    object: Optional[str]
    detail: str

    def as_dict(self) -> dict:
        return {
            "direction": self.direction,
            "stage": self.stage,
            "at": self.at,
            "result": self.result,
            "object": self.object,
            "detail": self.detail,
        }


class Dropped(Exception):
    def __init__(self, reason: str, rule: Optional[str]):
        super().__init__(reason)
        self.reason, self.rule = reason, rule


@dataclass
class Verdict:
    accepted: bool
    reason: Optional[str]
    direction: str
    rule: Optional[str]
    hops: list[Hop] = field(default_factory=list)
    ports_failing: Optional[str] = None
    choices: tuple[str, ...] = ()  # through an endpoint: the NLB targets a connection may get
    path_mtu: Optional[tuple[int, str]] = None  # the request's path: its MTU, and what sets it
    sender_mtu: int = m.INSTANCE_MTU  # the MTU of the interface the request left by
    size: Optional[int] = None  # the request's IP length, if the trace gave one

    @property
    def delivered_to(self) -> Optional[str]:
        """The instance the request reached (None if it was dropped on the way)."""
        return next(
            (
                hop.at
                for hop in self.hops
                if hop.direction == FORWARD and hop.stage == "deliver" and hop.result == "pass"
            ),
            None,
        )

    def as_dict(self) -> dict:
        result: dict = {
            "verdict": "accepted" if self.accepted else "dropped",
            "reason": self.reason,
            "direction": self.direction,
            "hops": [hop.as_dict() for hop in self.hops],
            "rule": self.rule,
        }
        if self.ports_failing:
            result["ports_failing"] = self.ports_failing
        if self.choices:
            result["load_balancer_targets"] = list(self.choices)
        if self.path_mtu:
            result["path_mtu"] = {"bytes": self.path_mtu[0], "set_by": self.path_mtu[1]}
        return result


@dataclass(frozen=True)
class Arrival:
    """How a packet reached its destination: 'local', 'peering', 'tgw' or 'internet', and where."""

    kind: str
    subnet: Optional[m.Subnet]  # local: the source subnet; tgw: the attachment subnet
    az: str
    sg_references_hold: bool = False  # tgw: may an inbound rule name the sender's SGs?


class _Walk:
    """One packet's walk from an instance or internet host; records hops, raises Dropped,
    returns the target (and keeps the packet as delivered, after any translation)."""

    def __init__(
        self,
        topology: m.Topology,
        direction: str,
        check: bool = True,
        requester: Optional[Endpoint] = None,
        check_source: bool = True,
        tracked: tuple[str, ...] = (),
        pick: Optional[str] = None,
        through: Optional[m.EndpointInterface] = None,
        client_port: Optional[int] = None,
    ):
        self.topology, self.direction, self.check = topology, direction, check
        self.tracked = tracked  # the appliances whose conntrack saw the request
        self.boxes: list[str] = []  # the appliances this packet went through
        self.check_source = check and check_source
        self.requester = requester  # a reply must reach the endpoint that sent the request
        self.hops: list[Hop] = []
        self.arrival: Optional[Arrival] = None
        self.delivered: Optional[Packet] = None
        self.from_tgw = False  # a TGW handed the packet to the VPC it is routed in now
        self.pick = pick  # the NLB target to follow (None: its first healthy one)
        self.through = through  # a reply: the endpoint interface its request went through
        self.client_port = client_port  # a reply through an endpoint: the consumer's port
        self.interface: Optional[m.EndpointInterface] = None  # the endpoint the packet used
        self.choices: tuple[str, ...] = ()  # the NLB's healthy targets it could have taken
        self.behind_nlb = False  # the NLB translated the source: no SG reference matches it
        self.sent_by: Optional[m.Instance] = None  # the appliance that sent it on, if one did
        self.limits: list[tuple[int, str]] = []  # the MTUs on the way, and what has each

    def fail(self, stage, at, obj, detail, reason: Optional[str] = None) -> NoReturn:
        """Record the hop that drops the packet, and stop the walk there."""
        self.hop(stage, at, False, obj, detail, reason)
        raise AssertionError("unreachable")  # hop() raised Dropped

    def hop(self, stage, at, passed: bool, obj, detail, reason: Optional[str] = None):
        self.hops.append(Hop(self.direction, stage, at, "pass" if passed else "drop", obj, detail))
        if not passed:
            raise Dropped(reason or stage, obj)

    # -- leaving the source ------------------------------------------------------------------
    def run(self, source: Endpoint, packet: Packet) -> Endpoint:
        if self.check_source and self.direction == FORWARD:
            own = packet.src == source.ip
            unchecked = not own and isinstance(source, m.Instance) and not source.source_dest_check
            self.hop(
                "source-check",
                source.name,
                own or unchecked,
                f"{source.origin}.source_dest_check" if unchecked else source.origin,
                f"source {packet.src} {'is' if own else 'is not'} {source.name}'s address {source.ip}"
                + (f": {source.name} has source_dest_check: false" if unchecked else ""),
                "spoofed",
            )
        if isinstance(source, m.InternetHost):
            return self.internet(packet, source)
        vpc = self.topology.vpc(source.vpc)
        subnet = vpc.subnet(source.subnet)
        if self.check:
            self.sg_egress(source, packet)
        if packet.dst in subnet.cidr:
            return self.deliver(vpc, packet, Arrival("local", subnet, subnet.az), source)
        if self.check:
            self.nacl(subnet, "egress", packet, packet.dst)
        return self.route_from(vpc, subnet, packet, subnet.az, source, MAX_TGW_TRAVERSALS)

    def sg_egress(self, source: m.Instance, packet: Packet) -> None:
        if self.direction == RETURN:
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
        target, kind = routed_destination(self.topology, source, packet.dst)
        return target in self.topology.members(ref) and kind not in ("tgw", "internet")

    # -- routing ---------------------------------------------------------------------------
    def route_from(
        self, vpc: m.Vpc, subnet: m.Subnet, packet: Packet, az: str, source: Endpoint, traversals: int
    ) -> Endpoint:
        table, route, at = route_lookup(vpc, subnet, packet.dst)
        if route is None:
            self.fail("route", at, table.origin, f"no route to {packet.dst}", "no-route")
        if route.blackhole:
            self.fail("route", at, route.origin, f"{route.describe()}", "blackhole")
        if route.local:
            self.hop("route", at, True, route.origin, route.describe())
            return self.deliver(vpc, packet, Arrival("local", subnet, az), source)
        if route.peering:
            return self.via_peering(vpc, route, packet, az, source)
        if route.internet_gateway:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_igw(vpc, packet, source)
        if route.nat_gateway:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_nat(vpc, vpc.nat_gateway(route.nat_gateway), subnet, packet, source)
        if route.instance:
            self.hop("route", at, True, route.origin, route.describe())
            return self.via_appliance(vpc, subnet, self.topology.instance(route.instance), packet, source)
        return self.via_tgw(vpc, subnet, route, packet, az, source, traversals)

    def via_peering(self, vpc, route: m.Route, packet: Packet, az: str, source) -> Endpoint:
        assert route.peering is not None
        peering = self.topology.peering(route.peering)
        at = f"{vpc.name}/peering {peering.name}"
        if peering.deleted:
            self.fail(
                "route",
                at,
                route.origin,
                f"{route.describe()}: the peering is deleted (route state blackhole)",
                "blackhole",
            )
        self.hop("route", at, True, route.origin, route.describe())
        peer = self.topology.vpc(peering.other(vpc.name))
        transitive = not vpc.contains(packet.src) or not peer.contains(packet.dst)
        self.hop(
            "peering",
            f"peering {peering.name}",
            not transitive,
            peering.origin,
            f"{packet.dst} is not in {peer.name} or {packet.src} is not in {vpc.name}: "
            "a peering carries only traffic between the two VPCs"
            if transitive
            else f"{vpc.name} -> {peer.name}",
            "not-transitive",
        )
        return self.deliver(peer, packet, Arrival("peering", None, az), source)

    def via_tgw(self, vpc, subnet, route: m.Route, packet, az, source, traversals) -> Endpoint:
        assert route.transit_gateway is not None
        tgw = self.topology.transit_gateway(route.transit_gateway)
        attachment = tgw.attachment_of(vpc.name)
        assert attachment is not None  # the loader refuses a TGW route without an attachment
        self.hop("route", f"{vpc.name}/{subnet.route_table}", True, route.origin, route.describe())
        entry = self.topology.attachment_subnet(attachment, az)
        if entry is None:
            self.fail(
                "tgw-attachment",
                f"tgw {tgw.name}",
                attachment.origin,
                f"attachment {attachment.name} has no subnet in AZ {az}",
                "tgw-az-not-attached",
            )
        if traversals == MAX_TGW_TRAVERSALS:  # a hairpin does not change the size
            self.fits(
                packet,
                m.TGW_MTU,
                f"transit gateway {tgw.name}",
                f"tgw {tgw.name}",
                tgw.origin,
                "dropped without an ICMP error",
            )
        if self.check and traversals == MAX_TGW_TRAVERSALS:
            self.nacl(entry, "ingress", packet, packet.src)
        table = tgw.association(attachment.name)
        at = f"tgw {tgw.name}"
        if table is None:
            self.fail(
                "tgw-route",
                at,
                attachment.origin,
                f"attachment {attachment.name} is associated with no TGW route table",
                "tgw-no-route",
            )
        tgw_hop = tgw_route(self.topology, tgw, table, packet.dst)
        at = f"tgw {tgw.name}/{table.name}"
        if tgw_hop is None:
            self.fail("tgw-route", at, table.origin, f"no route to {packet.dst}", "tgw-no-route")
        if tgw_hop.blackhole:
            self.fail("tgw-route", at, tgw_hop.origin, tgw_hop.describe(), "tgw-blackhole")
        self.hop("tgw-route", at, True, tgw_hop.origin, tgw_hop.describe())
        assert tgw_hop.attachment is not None
        exit_attachment = tgw.attachment(tgw_hop.attachment)
        peer = self.topology.vpc(exit_attachment.vpc)
        exit_subnet = self.topology.attachment_subnet(exit_attachment, az) or peer.subnet(
            exit_attachment.subnets[0]
        )
        if peer.contains(packet.dst):
            references = (
                traversals == MAX_TGW_TRAVERSALS  # one TGW hop, no inspection hairpin
                and tgw.security_group_referencing_support
                and attachment.security_group_referencing_support
                and exit_attachment.security_group_referencing_support
            )
            arrival = Arrival("tgw", exit_subnet, exit_subnet.az, references)
            return self.deliver(peer, packet, arrival, source)
        return self.onward_from_tgw(peer, exit_subnet, packet, source, traversals)

    def onward_from_tgw(self, vpc, subnet, packet, source, traversals) -> Endpoint:
        """A packet from a TGW for an address outside the VPC: the attachment subnet routes it."""
        self.from_tgw = True
        _, route, at = route_lookup(vpc, subnet, packet.dst)
        if route is not None and route.peering:
            self.fail(
                "peering",
                at,
                route.origin,
                f"{route.describe()}: traffic from a transit gateway cannot continue over a peering",
                "not-transitive",
            )
        if route is not None and route.transit_gateway:
            if traversals <= 1:
                self.fail("route", at, route.origin, "routing loop through transit gateways", "no-route")
            return self.via_tgw(vpc, subnet, route, packet, subnet.az, source, traversals - 1)
        return self.route_from(vpc, subnet, packet, subnet.az, source, traversals)

    def via_appliance(
        self, vpc: m.Vpc, came_from: m.Subnet, box: m.Instance, packet: Packet, source
    ) -> Endpoint:
        """To an instance a route names: it must not check sources and destinations; the NACLs
        into its subnet, its SG (a reply passes if the request went through it), then it
        forwards the packet, which its subnet's NACL egress and route table take on. A packet
        for the appliance's own address is simply delivered to it, as by the local route."""
        if packet.dst == box.ip:
            return self.deliver(vpc, packet, Arrival("local", came_from, came_from.az), source)
        if box.source_dest_check:
            self.fail(
                "source-dest-check",
                box.name,
                f"{box.origin}.source_dest_check",
                f"{box.name} checks sources and destinations: it drops {packet.describe()}, "
                "which is not addressed to it (set source_dest_check: false)",
                "source-dest-check",
            )
        if box.name in self.boxes:
            self.fail("route", box.name, box.origin, f"routing loop: back at {box.name}", "no-route")
        self.boxes.append(box.name)
        home = vpc.subnet(box.subnet)
        if self.check:
            if self.from_tgw and came_from != home:
                self.nacl(came_from, "egress", packet, packet.dst)
            if came_from != home:
                self.nacl(home, "ingress", packet, packet.src)
            self.appliance_sg(box, packet)
        self.hop(
            "appliance",
            box.name,
            True,
            box.origin,
            f"{box.name} forwards {packet.describe()} (source_dest_check: false; "
            "what its own software drops is not traced)",
        )
        self.from_tgw = False  # it sends the packet on as its subnet's own sender
        self.sent_by = box  # SG references now see its interface, whatever the source address
        return self.send_from(vpc, home, packet, source)

    def send_from(self, vpc: m.Vpc, home: m.Subnet, packet: Packet, source) -> Endpoint:
        """An interface of subnet ``home`` sends ``packet``: delivered inside the subnet, else
        through the subnet's NACL egress and route table."""
        if packet.dst in home.cidr:
            return self.deliver(vpc, packet, Arrival("local", home, home.az), source)
        if self.check:
            self.nacl(home, "egress", packet, packet.dst)
        return self.route_from(vpc, home, packet, home.az, source, MAX_TGW_TRAVERSALS)

    def appliance_sg(self, box: m.Instance, packet: Packet) -> None:
        """An appliance's SG: the request needs an inbound rule; a reply passes if the request
        went through the same appliance, else it opens nothing (TCP and ICMP replies are
        invalid to conntrack, other protocols meet the inbound rules as new)."""
        if self.direction == RETURN and box.name in self.tracked:
            self.hop("sg-ingress", box.name, True, None, f"reply of a connection tracked at {box.name}")
            return
        if self.direction == RETURN and packet.protocol in (
            m.PROTOCOL_NUMBERS["tcp"],
            m.PROTOCOL_NUMBERS["icmp"],
        ):
            self.fail(
                "sg-ingress",
                box.name,
                self.sg_origin(box),
                f"the request did not go through {box.name}: its reply ({packet.describe()}) "
                "belongs to no connection there (asymmetric routing)",
            )
        rules = instance_rules(self.topology, box, "ingress")
        rule = sg_allowing(rules, packet.src, packet.protocol, packet.port, lambda ref: False, packet.icmp)
        self.sg_hop("sg-ingress", box, rule, packet, "inbound")

    # -- the internet edge -------------------------------------------------------------------
    def fits(self, packet: Packet, mtu: int, what: str, at: str, obj: str, otherwise: str) -> None:
        """A packet longer than the MTU of ``what`` it enters is dropped there."""
        self.limits.append((mtu, what))
        if packet.size is not None and packet.size > mtu:
            self.fail("mtu", at, obj, f"{packet.size} bytes > MTU {mtu}: {otherwise}", "packet-too-big")

    def via_igw(self, vpc: m.Vpc, packet: Packet, source: Endpoint) -> Endpoint:
        """Out through the VPC's internet gateway: 1:1 from a private IP to its public IP."""
        igw = vpc.internet_gateway
        assert igw is not None  # the loader refuses a route to a gateway the VPC does not have
        at = f"{vpc.name}/{igw.name}"
        owner = None if self.from_tgw else self.topology.instance_at(vpc.name, packet.src)
        if owner is None:
            self.fail(
                "igw-outbound",
                at,
                igw.origin,
                f"{packet.src} is no instance of {vpc.name}: {igw.name} has no public IP for it",
                "no-public-ip",
            )
        if owner.public_ip is None:
            self.fail(
                "igw-outbound",
                at,
                owner.origin,
                f"{owner.name} has no public IP: {igw.name} cannot translate {packet.src}",
                "no-public-ip",
            )
        self.fits(packet, m.INTERNET_MTU, f"internet gateway {at}", at, igw.origin, IGW_DROPS)
        self.hop(
            "igw-outbound",
            at,
            True,
            owner.public_ip_origin,
            f"{igw.name} translates source {packet.src} ({owner.name}) -> {owner.public_ip}",
        )
        return self.internet(replace(packet, src=owner.public_ip), source)

    def via_nat(self, vpc: m.Vpc, nat: m.NatGateway, came_from: m.Subnet, packet: Packet, source) -> Endpoint:
        """Out through a NAT gateway: into its subnet, many-to-one to its private address, then
        its subnet's route to the internet gateway and the Elastic IP."""
        home = vpc.subnet(nat.subnet)
        assert came_from != home  # the loader refuses a subnet routing to its own NAT gateway
        if self.check:
            self.nacl(home, "ingress", packet, packet.src)
        if self.direction == RETURN:
            self.fail(
                "nat-gateway",
                nat.name,
                nat.origin,
                f"a reply ({packet.describe()}) cannot open a connection through {nat.name}",
                "nat-unsolicited",
            )
        translated = replace(packet, src=nat.ip)
        self.hop(
            "nat-gateway",
            nat.name,
            True,
            nat.origin,
            f"{nat.name} translates source {packet.src} -> {nat.ip} (and the port)",
        )
        self.from_tgw = False  # the NAT gateway's own address leaves now
        if self.check:
            self.nacl(home, "egress", translated, translated.dst)
        table, route, at = route_lookup(vpc, home, translated.dst)
        if route is None or not route.internet_gateway:
            self.fail(
                "route",
                at,
                route.origin if route else table.origin,
                f"{nat.name}'s subnet {home.name} has "
                + (f"{route.describe()}, no route" if route else "no route")
                + f" to an internet gateway for {translated.dst}",
                "nat-no-route",
            )
        self.hop("route", at, True, route.origin, route.describe())
        igw = vpc.internet_gateway
        assert igw is not None  # the loader refuses a route to a gateway the VPC does not have
        at = f"{vpc.name}/{igw.name}"
        self.fits(translated, m.INTERNET_MTU, f"internet gateway {at}", at, igw.origin, IGW_DROPS)
        self.hop(
            "igw-outbound",
            f"{vpc.name}/{igw.name}",
            True,
            nat.public_ip_origin,
            f"{igw.name} translates source {nat.ip} ({nat.name}) -> {nat.public_ip}",
        )
        return self.internet(replace(translated, src=nat.public_ip), source)

    def nat_inbound(self, nat: m.NatGateway, packet: Packet, source: Endpoint) -> Endpoint:
        """To a NAT gateway's Elastic IP: a reply goes back to the instance that opened the
        connection (through the subnet's NACLs and route table); anything else is dropped."""
        vpc = self.topology.vpc(nat.vpc)
        igw = self.internet_gateway_of(vpc, packet, f"{nat.name}'s Elastic IP")
        home = vpc.subnet(nat.subnet)
        self.hop(
            "igw-inbound",
            f"{vpc.name}/{igw.name}",
            True,
            nat.public_ip_origin,
            f"{igw.name} translates destination {packet.dst} -> {nat.ip} ({nat.name})",
        )
        arrived = replace(packet, dst=nat.ip)
        if self.check:
            self.nacl(home, "ingress", arrived, arrived.src)
        if self.direction == FORWARD or not isinstance(self.requester, m.Instance):
            self.fail(
                "nat-gateway",
                nat.name,
                nat.origin,
                f"{nat.name} passes only replies to connections opened from inside",
                "nat-unsolicited",
            )
        client = self.requester
        restored = replace(arrived, dst=client.ip)
        self.hop(
            "nat-gateway",
            nat.name,
            True,
            nat.origin,
            f"{nat.name} translates destination {nat.ip} -> {client.ip} ({client.name})",
        )
        if self.check:
            self.nacl(home, "egress", restored, restored.dst)
        return self.route_from(vpc, home, restored, home.az, source, MAX_TGW_TRAVERSALS)

    def internet_gateway_of(self, vpc: m.Vpc, packet: Packet, what: str) -> m.InternetGateway:
        """The VPC's internet gateway, which a packet for ``what`` needs."""
        if vpc.internet_gateway is None:
            self.fail(
                "igw-inbound",
                vpc.name,
                vpc.origin,
                f"{packet.dst} is {what}, but VPC {vpc.name} has no internet gateway",
                "igw-not-attached",
            )
        return vpc.internet_gateway

    def internet(self, packet: Packet, source: Endpoint) -> Endpoint:
        """The emulated internet: its hosts by address, public IPs through their VPC's gateway."""
        host = self.topology.internet_host_at(packet.dst)
        if host is not None:
            self.arrival = Arrival("internet", None, "")
            return self.arrive(host, packet, host.origin)
        nat = self.topology.nat_gateway_with_public_ip(packet.dst)
        if nat is not None:
            return self.nat_inbound(nat, packet, source)
        owner = self.topology.instance_with_public_ip(packet.dst)
        if owner is None:
            self.fail(
                "internet",
                "internet",
                m.INTERNET_ORIGIN,
                f"no host of the emulated internet has the address {packet.dst}",
                "no-route",
            )
        vpc = self.topology.vpc(owner.vpc)
        igw = self.internet_gateway_of(vpc, packet, f"{owner.name}'s public IP")
        self.limits.append((m.INTERNET_MTU, f"internet gateway {vpc.name}/{igw.name}"))
        self.hop(
            "igw-inbound",
            f"{vpc.name}/{igw.name}",
            True,
            owner.public_ip_origin,
            f"{igw.name} translates destination {packet.dst} -> {owner.ip} ({owner.name})",
        )
        subnet = vpc.subnet(owner.subnet)
        return self.deliver(vpc, replace(packet, dst=owner.ip), Arrival("internet", None, subnet.az), source)

    # -- arriving ----------------------------------------------------------------------------
    def refuse_misrouted_reply(self, target: Endpoint, packet: Packet, last_route: str) -> None:
        """A reply that reaches another endpoint than the requester is dropped there."""
        if self.requester is not None and target != self.requester:
            self.fail(
                "deliver",
                target.name,
                last_route,
                f"the reply to {packet.dst} reaches {target.name}, not {self.requester.name}: "
                "routes have no reverse-path check",
                "reply-misrouted",
            )

    def arrive(self, target: Endpoint, packet: Packet, last_route: str) -> Endpoint:
        """The packet is at ``target`` (a reply only if at the requester): deliver it."""
        self.refuse_misrouted_reply(target, packet, last_route)
        self.fits(  # the receiver's interface takes no frame longer than its MTU (Don't Fragment or not)
            packet,
            mtu_of(target),
            f"{target.name}'s interface",
            target.name,
            target.origin,
            f"longer than {target.name}'s interface takes; dropped there",
        )
        self.delivered = packet
        self.hops.append(
            Hop(
                self.direction,
                "deliver",
                target.name,
                "pass",
                target.origin,
                f"{packet.describe()} delivered to {target.name}",
            )
        )
        return target

    def deliver(self, vpc: m.Vpc, packet: Packet, arrival: Arrival, source: Endpoint) -> Endpoint:
        interface = self.topology.interface_at(vpc.name, packet.dst)
        if interface is not None:
            return self.via_endpoint(vpc, interface, packet, arrival, source)
        node = self.topology.load_balancer_node_at(vpc.name, packet.dst)
        if node is not None:
            return self.to_load_balancer(vpc, node, packet, arrival, source)
        target = self.topology.instance_at(vpc.name, packet.dst)
        nat = next((nat for nat in vpc.nat_gateways if nat.ip == packet.dst), None)
        if nat is not None:
            self.fail(
                "deliver",
                f"{vpc.name}/{nat.name}",
                nat.origin,
                f"{packet.dst} is NAT gateway {nat.name}'s private address: it forwards "
                "connections from its VPC, nothing is delivered to it",
                "nat-gateway-address",
            )
        if target is None:
            subnet = next((s for s in vpc.subnets if packet.dst in s.cidr), None)
            if subnet is None:
                self.fail(
                    "deliver",
                    vpc.name,
                    vpc.origin,
                    f"{packet.dst} is in no subnet of VPC {vpc.name}",
                    "no-route",
                )
            owner = "the VPC router's" if packet.dst == subnet.router_address else "no interface's"
            self.fail(
                "deliver",
                f"{vpc.name}/{subnet.name}",
                subnet.origin,
                f"{packet.dst} in subnet {subnet.name} is {owner} address",
                "unassigned-address",
            )
        self.refuse_misrouted_reply(target, packet, self._last_route(vpc))
        self.arrival = arrival
        self.arriving_nacls(vpc.subnet(target.subnet), packet, arrival)
        if self.check:
            self.sg_ingress(target, packet, source, arrival)
        return self.arrive(target, packet, self._last_route(vpc))

    def arriving_nacls(self, subnet: m.Subnet, packet: Packet, arrival: Arrival) -> None:
        """The NACLs a packet meets on its way into ``subnet``: after a TGW, its attachment
        subnet's egress; from another subnet, the subnet's ingress."""
        if not self.check:
            return
        if arrival.kind == "tgw" and arrival.subnet is not None and arrival.subnet != subnet:
            self.nacl(arrival.subnet, "egress", packet, packet.dst)
        if arrival.subnet != subnet:
            self.nacl(subnet, "ingress", packet, packet.src)

    # -- PrivateLink -------------------------------------------------------------------------
    def via_endpoint(
        self, vpc: m.Vpc, interface: m.EndpointInterface, packet: Packet, arrival: Arrival, source
    ) -> Endpoint:
        """Into an interface endpoint: its subnet's NACLs, its SGs, a listener of the service's
        NLB, which picks a healthy target by flow hash and translates both addresses: the
        source to its node's own, the destination to the target's."""
        service = self.topology.endpoint_service(interface.service)
        balancer = service.load_balancer
        at = f"{vpc.name}/{interface.name}"
        if self.direction == RETURN:
            self.fail(
                "deliver",
                at,
                interface.origin,
                f"{packet.dst} is endpoint {interface.endpoint}'s address: it opens no connections",
                "reply-misrouted",
            )
        self.arrival = arrival
        self.arriving_nacls(vpc.subnet(interface.subnet), packet, arrival)
        if self.check:
            self.sg_ingress(interface, packet, source, arrival)
        listener = balancer.listener(packet.protocol, packet.port)
        if listener is None:
            listening = ", ".join(x.describe() for x in balancer.listeners)
            self.fail(
                "endpoint",
                at,
                balancer.origin,
                f"{balancer.name} has no listener for {packet.describe()} (listeners: {listening})",
                "no-listener",
            )
        self.hop(
            "endpoint",
            at,
            True,
            interface.origin,
            f"endpoint {interface.endpoint} hands {packet.describe()} to service {service.name} "
            f"({balancer.name}, listener {listener.describe()})",
        )
        self.choices = balancer.healthy
        name = self.pick if self.pick in self.choices else self.choices[0]
        target = self.topology.instance(name)
        node = interface.node
        low, high = interface.nlb_ports
        dead = "; every target is unhealthy: it fails open to all" if balancer.fails_open else ""
        self.hop(
            "load-balancer",
            f"{service.vpc}/{balancer.name}",
            True,
            listener.origin,
            f"{balancer.name} picks {name} by flow hash (of {', '.join(self.choices)}){dead}; "
            f"source {packet.src} -> {node.ip} (ports {low}-{high}), "
            f"destination -> {target.ip}:{listener.target_port}",
        )
        self.interface = interface
        self.behind_nlb = True
        provider = self.topology.vpc(service.vpc)
        translated = Packet(node.ip, target.ip, packet.protocol, listener.target_port, packet.icmp)
        return self.send_from(provider, provider.subnet(node.subnet), translated, source)

    def to_load_balancer(
        self, vpc: m.Vpc, node: m.LoadBalancerNode, packet: Packet, arrival: Arrival, source
    ) -> Endpoint:
        """At an NLB node's address: the reply of a connection an endpoint opened goes back
        through that endpoint; nothing else opens a connection this way (one way)."""
        balancer = self.topology.load_balancer(node.load_balancer)
        self.arrival = arrival
        self.arriving_nacls(vpc.subnet(node.subnet), packet, arrival)
        at = f"{vpc.name}/{balancer.name}"
        interface = self.through
        if self.direction == FORWARD or interface is None or interface.node != node:
            self.fail(
                "load-balancer",
                at,
                balancer.origin,
                f"{packet.describe()}: {balancer.name} carries only connections that consumers "
                "open through their endpoints; nothing opens one back",
                "endpoint-one-way",
            )
        assert isinstance(self.requester, m.Instance)
        client = self.requester
        restored = Packet(interface.ip, client.ip, packet.protocol, self.client_port, packet.icmp)
        self.hop(
            "load-balancer",
            at,
            True,
            balancer.origin,
            f"{balancer.name} translates the reply back: source -> {interface.ip} "
            f"(endpoint {interface.endpoint}), destination -> {client.ip} ({client.name})",
        )
        self.hop("sg-egress", interface.name, True, None, "reply of a tracked connection")
        consumer = self.topology.vpc(interface.vpc)
        self.behind_nlb = False
        return self.send_from(consumer, consumer.subnet(interface.subnet), restored, source)

    def sg_ingress(self, target: Interface, packet: Packet, source: Endpoint, arrival) -> None:
        if self.direction == RETURN:
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
        sender = self.sent_by or source
        return not (crossed or self.behind_nlb) and sender in self.topology.members(ref)

    def nacl(
        self,
        subnet: m.Subnet,
        direction: str,
        packet: Packet,
        address: IPv4Address,
        reason: Optional[str] = None,
    ) -> None:
        vpc = self.topology.vpc(subnet.vpc)
        nacl = vpc.nacl(subnet.nacl)
        rule = nacl_verdict(getattr(nacl, direction), address, packet.protocol, packet.port, packet.icmp)
        self.hop(
            f"nacl-{direction}",
            f"{vpc.name}/{subnet.name}",
            rule.allow,
            rule.origin,
            f"NACL {nacl.name} {rule.describe()} ({packet.describe()})",
            reason or f"nacl-{direction}",
        )

    def _last_route(self, vpc: m.Vpc) -> str:
        """The route that took the packet where it is (the one to change), else the VPC."""
        routes = [h.object for h in self.hops if h.stage in ("route", "tgw-route") and h.object]
        return routes[-1] if routes else vpc.origin

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

    # -- naming ------------------------------------------------------------------------------
    def sg_origin(self, instance: Interface) -> str:
        return self.topology.security_groups_origin(instance)

    def sg_names(self, instance: Interface) -> str:
        return ", ".join(ref.name for ref in instance.security_groups)


def route_lookup(vpc: m.Vpc, subnet: m.Subnet, address: IPv4Address):
    """The subnet's route table, its route for ``address`` (or None), and how hops name it."""
    table = subnet_route_table(vpc, subnet)
    return table, vpc_route(table, address), f"{vpc.name}/{table.name}"


def routed_destination(topology: m.Topology, source: m.Instance, address: IPv4Address):
    """Where routing alone takes a packet from ``source`` to ``address``: (endpoint, arrival
    kind 'local'/'peering'/'tgw'/'internet'), or (None, None). No SG or NACL is consulted."""
    probe = _Walk(topology, FORWARD, check=False)
    try:
        target = probe.run(source, Packet.request(source.ip, address, m.PROTOCOL_NUMBERS["icmp"], None))
    except Dropped:
        return None, None
    assert probe.arrival is not None
    return target, probe.arrival.kind


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


def walk(
    topology: m.Topology,
    source: Endpoint,
    packet: Packet,
    direction: str,
    requester: Optional[Endpoint] = None,
    check_source: bool = True,
    tracked: tuple[str, ...] = (),
    pick: Optional[str] = None,
    through: Optional[m.EndpointInterface] = None,
    client_port: Optional[int] = None,
) -> Walked:
    """Follow one packet. A reply (``requester`` given) that reaches another endpoint is
    dropped there; ``tracked``: the appliances the request went through; ``pick``: the NLB
    target to follow; a reply ``through`` an endpoint gets back the consumer's ``client_port``."""
    walker = _Walk(
        topology,
        direction,
        requester=requester,
        check_source=check_source,
        tracked=tracked,
        pick=pick,
        through=through,
        client_port=client_port,
    )
    try:
        target = walker.run(source, packet)
    except Dropped as drop:
        return Walked(
            walker.hops,
            drop=drop,
            boxes=tuple(walker.boxes),
            choices=walker.choices,
            limits=tuple(walker.limits),
        )
    return Walked(
        walker.hops,
        target,
        walker.delivered,
        None,
        tuple(walker.boxes),
        walker.interface,
        walker.choices,
        tuple(walker.limits),
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
    destination: IPv4Address,
    protocol: int,
    port: Optional[int] = None,
    source_port: Optional[int] = None,
    source_ip: Optional[IPv4Address] = None,
    check_source: bool = True,
    pick: Optional[str] = None,
    size: Optional[int] = None,
) -> Verdict:
    """Is a connection from ``source`` to ``destination`` accepted, request and reply?
    ``check_source=False`` asks what would happen if the card did not check the source.
    Through an interface endpoint the NLB may pick any healthy target: the connection is
    accepted only if it is with each (``pick``: follow that target alone). ``size``: the
    request's IP length (the replies are small)."""
    request = replace(Packet.request(source_ip or source.ip, destination, protocol, port), size=size)
    first = _connection(topology, source, request, source_port, check_source, pick)
    if pick is None and len(first.choices) > 1:
        verdicts = [first] + [
            _connection(topology, source, request, source_port, check_source, other)
            for other in first.choices[1:]
        ]
        first = next((verdict for verdict in verdicts if not verdict.accepted), first)
    first.sender_mtu, first.size = mtu_of(source), size
    return first


IGW_DROPS = (
    "with Don't Fragment the sender hears ICMP 'fragmentation needed'; "
    "without, vpclab drops it (AWS fragments it)"
)


def mtu_of(endpoint) -> int:
    """An instance's MTU; the internet's hosts run at 1500."""
    return endpoint.mtu if isinstance(endpoint, m.Instance) else m.INTERNET_MTU


def _connection(
    topology: m.Topology,
    source: Endpoint,
    request: Packet,
    source_port: Optional[int],
    check_source: bool,
    pick: Optional[str],
) -> Verdict:
    """One connection's verdict, the NLB (if any) taking target ``pick`` (None: its first)."""
    forward = walk(topology, source, request, FORWARD, check_source=check_source, pick=pick)
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
        return walk(
            topology,
            target,
            packet,
            RETURN,
            source,
            tracked=forward.boxes,
            through=interface,
            client_port=client_port,
        )

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
