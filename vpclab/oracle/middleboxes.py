"""Appliances (a route to an instance): it must not check sources and destinations; the NACLs
into its subnet, its SG (a reply passes only if the request went through it), then it sends
the packet on as its subnet's own sender."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import RETURN, Arrival, Endpoint, Packet
from .policy import instance_rules, sg_allowing
from .walk import WalkState


class Middleboxes(WalkState):
    def via_appliance(
        self, vpc: m.Vpc, came_from: m.Subnet, box: m.Instance, packet: Packet, source
    ) -> Endpoint:
        """To an instance a route names: it must not check sources and destinations; the NACLs
        into its subnet, its SG (a reply passes if the request went through it), then it
        forwards the packet, which its subnet's NACL egress and route table take on. A packet
        for the appliance's own address is simply delivered to it, as by the local route."""
        if packet.dst in box.addresses:
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
        if box.name in self.found.boxes:
            self.fail("route", box.name, box.origin, f"routing loop: back at {box.name}", "no-route")
        self.found.boxes.append(box.name)
        home = vpc.subnet(box.subnet)
        if self.options.check:
            if self.carried.from_tgw and came_from != home:
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
        self.carried.from_tgw = False  # it sends the packet on as its subnet's own sender
        self.carried.sent_by = box  # SG references now see its interface, whatever the source address
        return self.send_from(vpc, home, packet, source)

    def appliance_sg(self, box: m.Instance, packet: Packet) -> None:
        """An appliance's SG: the request needs an inbound rule; a reply passes if the request
        went through the same appliance, else it opens nothing (TCP, ICMP and ICMPv6 replies are
        invalid to conntrack, other protocols meet the inbound rules as new)."""
        if self.options.direction == RETURN and box.name in self.options.tracked:
            self.hop("sg-ingress", box.name, True, None, f"reply of a connection tracked at {box.name}")
            return
        if self.options.direction == RETURN and packet.protocol in (
            m.PROTOCOL_NUMBERS["tcp"],
            m.PROTOCOL_NUMBERS["icmp"],
            m.PROTOCOL_NUMBERS["icmpv6"],
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
