"""NLBs reached directly (``network_load_balancers``): a listener, a healthy target of the
node's pool by flow hash, the destination translated to it while the source stays the client's
(AWS's client IP preservation); the target's reply goes back to that node, not by route."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import RETURN, Endpoint, Packet
from .walk import WalkState


class LoadBalancers(WalkState):
    def into_load_balancer(
        self, vpc: m.Vpc, balancer: m.LoadBalancer, node: m.LoadBalancerNode, packet: Packet, source
    ) -> Endpoint:
        """An NLB reached at a node's address: a listener, a healthy target of the node's pool
        by flow hash, the destination translated to it; the source stays the client's (client
        IP preservation), and the node sends the packet on as its subnet's own sender."""
        at = f"{vpc.name}/{balancer.name}"
        if self.options.direction == RETURN:
            self.fail(
                "deliver",
                at,
                balancer.origin,
                f"{packet.dst} is {balancer.name}'s address in {node.subnet}: it opens no connections",
                "reply-misrouted",
            )
        listener = self.listener_for(balancer, packet, "load-balancer", at)
        self.found.choices = balancer.healthy_at(node)
        if not self.found.choices:
            self.fail(
                "load-balancer",
                at,
                balancer.origin,
                f"{balancer.name}'s node in {node.az} has no target there, and cross-zone load "
                "balancing is off",
                "no-target",
            )
        name = self.options.pick if self.options.pick in self.found.choices else self.found.choices[0]
        target = self.topology.instance(name)
        dead = "; every target is unhealthy: it fails open to all" if balancer.fails_open_at(node) else ""
        if target.ip == packet.src:
            self.fail(
                "load-balancer",
                at,
                f"{balancer.origin}.targets[{balancer.targets.index(name)}]",
                f"{balancer.name} picks {name}, the client itself: with the client's address "
                "preserved, a target cannot reach itself through its NLB (AWS: no NAT loopback)",
                "nlb-loopback",
            )
        self.hop(
            "load-balancer",
            at,
            True,
            listener.origin,
            f"{balancer.name} (node {node.ip} in {node.subnet}, listener {listener.describe()}) picks "
            f"{name} by flow hash (of {', '.join(self.found.choices)}){dead}; destination -> "
            f"{target.ip}:{listener.target_port}, the source stays {packet.src} (client IP preservation)",
        )
        self.found.node = node
        self.carried.behind_nlb = True  # the target's SG sees the client's address, from the NLB's interface
        translated = Packet(packet.src, target.ipv4, packet.protocol, listener.target_port, packet.icmp)
        return self.send_from(vpc, vpc.subnet(node.subnet), translated, source)

    def back_through_load_balancer(self, source: m.Instance, packet: Packet) -> Endpoint:
        """A target's reply to a client an NLB sent it: AWS hands it back to that node (not by
        route), across the subnets' NACLs between them; the node translates the source back to
        its own address and listener port, and sends it on as its subnet's sender."""
        node = self.options.node
        assert node is not None and self.options.node_port is not None
        balancer = self.topology.load_balancer(node.load_balancer)
        vpc = self.topology.vpc(source.vpc)
        home, there = vpc.subnet(source.subnet), vpc.subnet(node.subnet)
        if self.options.check and home != there:
            self.nacl(home, "egress", packet, packet.dst)
            self.nacl(there, "ingress", packet, packet.src)
        self.hop(
            "load-balancer",
            f"{vpc.name}/{balancer.name}",
            True,
            balancer.origin,
            f"{balancer.name} (node {node.ip}) translates the reply back: source -> "
            f"{node.ip}:{self.options.node_port}",
        )
        restored = Packet(node.ip, packet.dst, packet.protocol, packet.port, packet.icmp, packet.size)
        self.carried.behind_nlb = False
        return self.send_from(vpc, there, restored, source)
