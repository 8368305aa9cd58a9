"""PrivateLink: an interface endpoint hands a connection to its service's NLB, which picks a
healthy target by flow hash and translates both addresses; the reply goes back through the
same endpoint, and nothing opens a connection the other way."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import FORWARD, RETURN, Arrival, Endpoint, Packet
from .walk import WalkState


class PrivateLink(WalkState):
    def via_endpoint(
        self, vpc: m.Vpc, interface: m.EndpointInterface, packet: Packet, arrival: Arrival, source
    ) -> Endpoint:
        """Into an interface endpoint: its subnet's NACLs, its SGs, a listener of the service's
        NLB, which picks a healthy target by flow hash and translates both addresses: the
        source to its node's own, the destination to the target's."""
        service = self.topology.endpoint_service(interface.service)
        balancer = service.load_balancer
        at = f"{vpc.name}/{interface.name}"
        if self.options.direction == RETURN:
            self.fail(
                "deliver",
                at,
                interface.origin,
                f"{packet.dst} is endpoint {interface.endpoint}'s address: it opens no connections",
                "reply-misrouted",
            )
        self.found.arrival = arrival
        self.arriving_nacls(vpc.subnet(interface.subnet), packet, arrival)
        if self.options.check:
            self.sg_ingress(interface, packet, source, arrival)
        listener = self.listener_for(balancer, packet, "endpoint", at)
        self.hop(
            "endpoint",
            at,
            True,
            interface.origin,
            f"endpoint {interface.endpoint} hands {packet.describe()} to service {service.name} "
            f"({balancer.name}, listener {listener.describe()})",
        )
        self.found.choices = balancer.healthy
        name = self.options.pick if self.options.pick in self.found.choices else self.found.choices[0]
        target = self.topology.instance(name)
        node = interface.node
        low, high = interface.nlb_ports
        dead = "; every target is unhealthy: it fails open to all" if balancer.fails_open else ""
        self.hop(
            "load-balancer",
            f"{service.vpc}/{balancer.name}",
            True,
            listener.origin,
            f"{balancer.name} picks {name} by flow hash (of {', '.join(self.found.choices)}){dead}; "
            f"source {packet.src} -> {node.ip} (ports {low}-{high}), "
            f"destination -> {target.ip}:{listener.target_port}",
        )
        self.found.interface = interface
        self.carried.behind_nlb = True
        provider = self.topology.vpc(service.vpc)
        translated = Packet(node.ip, target.ipv4, packet.protocol, listener.target_port, packet.icmp)
        return self.send_from(provider, provider.subnet(node.subnet), translated, source)

    def to_load_balancer(
        self, vpc: m.Vpc, node: m.LoadBalancerNode, packet: Packet, arrival: Arrival, source
    ) -> Endpoint:
        """At an NLB node's address: the reply of a connection an endpoint opened goes back
        through that endpoint; nothing else opens a connection this way (one way)."""
        balancer = self.topology.load_balancer(node.load_balancer)
        self.found.arrival = arrival
        self.arriving_nacls(vpc.subnet(node.subnet), packet, arrival)
        at = f"{vpc.name}/{balancer.name}"
        if balancer.direct:
            return self.into_load_balancer(vpc, balancer, node, packet, source)
        interface = self.options.through
        if self.options.direction == FORWARD or interface is None or interface.node != node:
            self.fail(
                "load-balancer",
                at,
                balancer.origin,
                f"{packet.describe()}: {balancer.name} carries only connections that consumers "
                "open through their endpoints; nothing opens one back",
                "endpoint-one-way",
            )
        assert isinstance(self.options.requester, m.Instance)
        client = self.options.requester
        restored = Packet(interface.ip, client.ipv4, packet.protocol, self.options.client_port, packet.icmp)
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
        self.carried.behind_nlb = False
        return self.send_from(consumer, consumer.subnet(interface.subnet), restored, source)

    def listener_for(self, balancer: m.LoadBalancer, packet: Packet, stage: str, at: str) -> m.Listener:
        """The NLB's listener for ``packet``; none drops it (``no-listener``) at ``stage``."""
        listener = balancer.listener(packet.protocol, packet.port)
        if listener is None:
            listening = ", ".join(x.describe() for x in balancer.listeners)
            self.fail(
                stage,
                at,
                balancer.origin,
                f"{balancer.name} has no listener for {packet.describe()} (listeners: {listening})",
                "no-listener",
            )
        return listener
