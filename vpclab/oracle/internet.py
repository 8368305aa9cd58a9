"""The internet edge: an internet gateway translates 1:1 between an instance's private and
public IP; the emulated internet delivers to its hosts by address, and to public IPs through
their VPC's gateway. IPv6 crosses untranslated (an instance's IPv6 address is public), in both
directions through an internet gateway, out and back only through an egress-only one."""

from __future__ import annotations

from dataclasses import replace

from vpclab.intent import model as m

from .mtu import IGW_DROPS
from .packet import LEFT_NETWORK, RETURN, Arrival, Endpoint, Packet
from .walk import WalkState


def outside_the_emulation(address) -> bool:
    """A public address that no emulated host can have (real, not of the documentation ranges):
    what reaches it through an internet gateway has left the network."""
    documented = (*m.DOCUMENTATION_RANGES, m.IPV6_DOCUMENTATION_RANGE)
    return address.is_global and not any(address in r for r in documented)


class InternetEdge(WalkState):
    def via_igw(self, vpc: m.Vpc, packet: Packet, source: Endpoint) -> Endpoint:
        """Out through the VPC's internet gateway: 1:1 from a private IP to its public IP;
        IPv6 as it is."""
        igw = vpc.internet_gateway
        assert igw is not None  # the loader refuses a route to a gateway the VPC does not have
        at = f"{vpc.name}/{igw.name}"
        if packet.ipv6:
            self.fits(packet, m.INTERNET_MTU, f"internet gateway {at}", at, igw.origin, IGW_DROPS)
            self.hop(
                "igw-outbound", at, True, igw.origin, f"{igw.name} carries IPv6 untranslated: {packet.src}"
            )
            return self.internet(packet, source)
        owner = None if self.carried.from_tgw else self.topology.instance_at(vpc.name, packet.src)
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

    def via_eigw(self, vpc: m.Vpc, packet: Packet, source: Endpoint) -> Endpoint:
        """Out through the VPC's egress-only internet gateway (IPv6): it keeps the connection's
        state, so only its replies come back in."""
        eigw = vpc.egress_only_internet_gateway
        assert eigw is not None  # the loader refuses a route to a gateway the VPC does not have
        at = f"{vpc.name}/{eigw.name}"
        self.fits(packet, m.INTERNET_MTU, f"egress-only internet gateway {at}", at, eigw.origin, IGW_DROPS)
        way = (
            "the reply goes out"
            if self.options.direction == RETURN
            else "outbound: its state admits the replies"
        )
        self.hop(
            "eigw-outbound",
            at,
            True,
            eigw.origin,
            f"{eigw.name} carries {packet.src} out untranslated ({way})",
        )
        return self.internet(packet, source)

    def into_vpc_v6(self, packet: Packet, source: Endpoint) -> Endpoint:
        """An IPv6 packet from the internet for an instance's address: in through its VPC's
        internet gateway; through an egress-only one only as the reply of a connection the
        instance opened."""
        owner = self.topology.instance_with_ipv6(packet.dst)
        assert owner is not None
        vpc = self.topology.vpc(owner.vpc)
        subnet = vpc.subnet(owner.subnet)
        arrival = Arrival("internet", None, subnet.az)
        if vpc.internet_gateway is not None:
            igw = vpc.internet_gateway
            self.found.limits.append((m.INTERNET_MTU, f"internet gateway {vpc.name}/{igw.name}"))
            self.hop(
                "igw-inbound",
                f"{vpc.name}/{igw.name}",
                True,
                igw.origin,
                f"{igw.name} carries IPv6 untranslated to {packet.dst} ({owner.name})",
            )
            return self.deliver(vpc, packet, arrival, source)
        eigw = vpc.egress_only_internet_gateway
        if eigw is None:
            self.internet_gateway_of(vpc, packet, f"{owner.name}'s IPv6 address")
        assert eigw is not None
        at = f"{vpc.name}/{eigw.name}"
        self.found.limits.append((m.INTERNET_MTU, f"egress-only internet gateway {at}"))
        reply = self.options.direction == RETURN
        self.hop(
            "eigw-inbound",
            at,
            reply,
            eigw.origin,
            f"{eigw.name} lets in the reply of a connection {owner.name} opened"
            if reply
            else f"{eigw.name} is egress-only: it admits no connection from the internet to {owner.name}",
            "eigw-unsolicited",
        )
        return self.deliver(vpc, packet, arrival, source)

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
        """The emulated internet: its hosts by address, public IPs through their VPC's gateway
        (a reply of a connection through a gateway endpoint goes back through it)."""
        if self.options.gateway is not None:
            return self.back_through_gateway(packet, source)
        host = self.topology.internet_host_at(packet.dst)
        if host is not None:
            self.found.arrival = Arrival("internet", None, "")
            return self.arrive(host, packet, host.origin)
        nat = self.topology.nat_gateway_with_public_ip(packet.dst)
        if nat is not None:
            return self.nat_inbound(nat, packet, source)
        if packet.ipv6 and self.topology.instance_with_ipv6(packet.dst) is not None:
            return self.into_vpc_v6(packet, source)
        owner = self.topology.instance_with_public_ip(packet.dst)
        if owner is None and outside_the_emulation(packet.dst):
            self.hop(
                LEFT_NETWORK,
                str(packet.dst),
                True,
                m.INTERNET_ORIGIN,
                f"{packet.dst} is outside the emulation: the packet leaves the network here "
                "(its reply is traced as if a host there answered)",
            )
            self.found.arrival = Arrival("internet", None, "")
            outside = m.InternetHost(m.INTERNET_ORIGIN, str(packet.dst), packet.dst)
            return self.arrive(outside, packet, m.INTERNET_ORIGIN)
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
        self.found.limits.append((m.INTERNET_MTU, f"internet gateway {vpc.name}/{igw.name}"))
        self.hop(
            "igw-inbound",
            f"{vpc.name}/{igw.name}",
            True,
            owner.public_ip_origin,
            f"{igw.name} translates destination {packet.dst} -> {owner.ip} ({owner.name})",
        )
        subnet = vpc.subnet(owner.subnet)
        return self.deliver(
            vpc, replace(packet, dst=owner.ipv4), Arrival("internet", None, subnet.az), source
        )
