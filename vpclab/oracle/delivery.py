"""Leaving an instance or internet host, and arriving at one: the source check, the
way out of the sender's subnet, the target found by address, the reply that must reach its
requester, the NACLs and SG on the way in."""

from __future__ import annotations

from vpclab.intent import model as m

from .mtu import mtu_of
from .packet import FORWARD, RETURN, Arrival, Endpoint, Hop, Packet, addresses_of
from .walk import MAX_TGW_TRAVERSALS, WalkState


class Delivery(WalkState):
    def leave(self, source: Endpoint, packet: Packet) -> Endpoint:
        if isinstance(source, m.Instance) and source.stopped:
            self.fail(
                "source-check",
                source.name,
                f"{source.origin}.state",
                f"{source.name} is stopped: it sends nothing",
                "instance-stopped",
            )
        if self.options.check and self.options.check_source and self.options.direction == FORWARD:
            addresses = addresses_of(source)
            own = packet.src in addresses
            unchecked = not own and isinstance(source, m.Instance) and not source.source_dest_check
            listed = ", ".join(map(str, addresses))
            whose = f"{source.name}'s address {listed}"
            if len(addresses) > 1:
                whose = f"{'one of' if own else 'among'} {source.name}'s addresses {listed}"
            self.hop(
                "source-check",
                source.name,
                own or unchecked,
                f"{source.origin}.source_dest_check" if unchecked else source.origin,
                f"source {packet.src} {'is' if own else 'is not'} {whose}"
                + (f": {source.name} has source_dest_check: false" if unchecked else ""),
                "spoofed",
            )
        if isinstance(source, m.InternetHost):
            return self.internet(packet, source)
        if isinstance(source, m.SiteHost):
            return self.from_site(source, packet)
        vpc = self.topology.vpc(source.vpc)
        subnet = vpc.subnet(source.subnet)
        if self.options.check:
            self.sg_egress(source, packet)
        if self.options.node is not None and self.options.direction == RETURN:
            return self.back_through_load_balancer(source, packet)
        if subnet.contains(packet.dst):
            return self.deliver(vpc, packet, Arrival("local", subnet, subnet.az), source)
        if self.options.check:
            self.nacl(subnet, "egress", packet, packet.dst)
        return self.route_from(vpc, subnet, packet, subnet.az, source, MAX_TGW_TRAVERSALS)

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
            subnet = next((s for s in vpc.subnets if s.contains(packet.dst)), None)
            if subnet is None:
                self.fail(
                    "deliver",
                    vpc.name,
                    vpc.origin,
                    f"{packet.dst} is in no subnet of VPC {vpc.name}",
                    "no-route",
                )
            router = packet.dst in (subnet.router_address, subnet.router_address_v6)
            owner = "the VPC router's" if router else "no interface's"
            self.fail(
                "deliver",
                f"{vpc.name}/{subnet.name}",
                subnet.origin,
                f"{packet.dst} in subnet {subnet.name} is {owner} address",
                "unassigned-address",
            )
        self.refuse_misrouted_reply(target, packet, self.last_route(vpc))
        self.found.arrival = arrival
        self.arriving_nacls(vpc.subnet(target.subnet), packet, arrival)
        if self.options.check:
            self.sg_ingress(target, packet, source, arrival)
        return self.arrive(target, packet, self.last_route(vpc))

    def refuse_misrouted_reply(self, target: Endpoint, packet: Packet, last_route: str) -> None:
        """A reply that reaches another endpoint than the requester is dropped there."""
        if self.options.requester is not None and target != self.options.requester:
            self.fail(
                "deliver",
                target.name,
                last_route,
                f"the reply to {packet.dst} reaches {target.name}, not {self.options.requester.name}: "
                "routes have no reverse-path check",
                "reply-misrouted",
            )

    def arrive(self, target: Endpoint, packet: Packet, last_route: str) -> Endpoint:
        """The packet is at ``target`` (a reply only if at the requester): deliver it."""
        self.refuse_misrouted_reply(target, packet, last_route)
        if isinstance(target, m.Instance) and target.stopped:
            self.fail(
                "deliver",
                target.name,
                f"{target.origin}.state",
                f"{target.name} is stopped: its interface keeps {packet.dst}, nothing answers",
                "instance-stopped",
            )
        self.fits(  # the receiver's interface takes no frame longer than its MTU (Don't Fragment or not)
            packet,
            mtu_of(target),
            f"{target.name}'s interface",
            target.name,
            target.origin,
            f"longer than {target.name}'s interface takes; dropped there",
        )
        self.found.delivered = packet
        self.hops.append(
            Hop(
                self.options.direction,
                "deliver",
                target.name,
                "pass",
                target.origin,
                f"{packet.describe()} delivered to {target.name}"
                + (
                    f" ({target.service}, behind endpoint {target.endpoint})"
                    if isinstance(target, m.Instance) and target.service
                    else ""
                ),
            )
        )
        return target

    def last_route(self, vpc: m.Vpc) -> str:
        """The route that took the packet where it is (the one to change), else the VPC."""
        routes = [h.object for h in self.hops if h.stage in ("route", "tgw-route") and h.object]
        return routes[-1] if routes else vpc.origin
