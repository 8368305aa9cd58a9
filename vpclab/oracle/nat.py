"""NAT gateways: into the gateway's subnet (its NACLs, no SG), many-to-one to its private
address, out by that subnet's route to the internet gateway (its Elastic IP); only replies
come back in."""

from __future__ import annotations

from dataclasses import replace

from vpclab.intent import model as m

from .mtu import IGW_DROPS
from .packet import FORWARD, RETURN, Endpoint, Packet
from .routes import route_lookup
from .walk import MAX_TGW_TRAVERSALS, WalkState

NAT_PROTOCOLS = tuple(m.PROTOCOL_NUMBERS[name] for name in ("tcp", "udp", "icmp"))


class NatGateways(WalkState):
    def via_nat(self, vpc: m.Vpc, nat: m.NatGateway, came_from: m.Subnet, packet: Packet, source) -> Endpoint:
        """Out through a NAT gateway: into its subnet, many-to-one to its private address, then
        its subnet's route to the internet gateway and the Elastic IP."""
        home = vpc.subnet(nat.subnet)
        assert came_from != home  # the loader refuses a subnet routing to its own NAT gateway
        if self.options.check:
            self.nacl(home, "ingress", packet, packet.src)
        if self.options.direction == RETURN:
            self.fail(
                "nat-gateway",
                nat.name,
                nat.origin,
                f"a reply ({packet.describe()}) cannot open a connection through {nat.name}",
                "nat-unsolicited",
            )
        if packet.protocol not in NAT_PROTOCOLS:
            self.fail(
                "nat-gateway",
                nat.name,
                nat.origin,
                f"{nat.name} translates TCP, UDP and ICMP only, not IP protocol {packet.protocol} "
                "(AWS drops it)",
                "nat-protocol",
            )
        translated = replace(packet, src=nat.ip)
        self.hop(
            "nat-gateway",
            nat.name,
            True,
            nat.origin,
            f"{nat.name} translates source {packet.src} -> {nat.ip} (and the port)",
        )
        self.carried.from_tgw = False  # the NAT gateway's own address leaves now
        if self.options.check:
            self.nacl(home, "egress", translated, translated.dst)
        table, route, at = route_lookup(self.topology, vpc, home, translated.dst)
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
        if self.options.check:
            self.nacl(home, "ingress", arrived, arrived.src)
        if self.options.direction == FORWARD or not isinstance(self.options.requester, m.Instance):
            self.fail(
                "nat-gateway",
                nat.name,
                nat.origin,
                f"{nat.name} passes only replies to connections opened from inside",
                "nat-unsolicited",
            )
        client = self.options.requester
        restored = replace(arrived, dst=client.ipv4)
        self.hop(
            "nat-gateway",
            nat.name,
            True,
            nat.origin,
            f"{nat.name} translates destination {nat.ip} -> {client.ip} ({client.name})",
        )
        if self.options.check:
            self.nacl(home, "egress", restored, restored.dst)
        return self.route_from(vpc, home, restored, home.az, source, MAX_TGW_TRAVERSALS)
