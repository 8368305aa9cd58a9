"""vpclab's model: privatelink."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Optional

from .security_groups import SGRef
from .traffic import protocol_label


@dataclass(frozen=True)
class Listener:
    """An NLB listener: connections to ``port`` (tcp or udp) go to a target's ``target_port``."""

    origin: str
    port: int
    protocol: int
    target_port: int

    def describe(self) -> str:
        return f"{protocol_label(self.protocol)}/{self.port}" + (
            f" -> {self.target_port}" if self.target_port != self.port else ""
        )


@dataclass(frozen=True)
class TargetHealthCheck:
    """How the load balancer checks each target: a TCP connection to ``port`` (None: the
    listener's target port) every ``interval`` seconds; a target is unhealthy after
    ``unhealthy_threshold`` failures in a row, healthy again after ``healthy_threshold``
    successes (AWS's NLB defaults: 30 s, 2 and 5)."""

    origin: str
    port: Optional[int] = None
    interval: float = 30.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2


@dataclass(frozen=True)
class LoadBalancerNode:
    """The NLB's interface in one of its subnets (one per AZ): its private address is the
    source the targets see; its server's card carries the translations."""

    origin: str
    load_balancer: str
    subnet: str
    az: str
    ip: IPv4Address
    server: str


@dataclass(frozen=True)
class LoadBalancer:
    """A Network Load Balancer: listeners, instance targets (flow hash over the healthy ones;
    every target when none is healthy, as AWS fails open), health checks. Behind an endpoint
    service (``scheme`` None) its targets see the node's address; reached directly
    (``network_load_balancers``) they see the client's (AWS's client IP preservation, on by
    default for instance targets), and a node picks among its own AZ's targets unless
    cross-zone load balancing is on (off by default for an NLB)."""

    origin: str
    name: str
    vpc: str
    nodes: tuple[LoadBalancerNode, ...]
    listeners: tuple[Listener, ...]
    targets: tuple[str, ...]  # instance names, in the file's order
    health_check: TargetHealthCheck
    unhealthy: tuple[str, ...] = ()  # the targets its health checks found dead (runtime state)
    scheme: Optional[str] = None  # reached directly: "internal"; None: behind an endpoint service
    cross_zone: bool = True
    target_zones: tuple[str, ...] = ()  # each target's AZ, in the targets' order

    @property
    def direct(self) -> bool:
        """Reached at its nodes' addresses (not through an endpoint): the targets see the client."""
        return self.scheme is not None

    @property
    def fails_open(self) -> bool:
        """No target is healthy: AWS then sends to every target."""
        return set(self.targets) <= set(self.unhealthy)

    @property
    def healthy(self) -> tuple[str, ...]:
        """The targets it sends new connections to (all of them when none is healthy)."""
        return self.targets if self.fails_open else tuple(t for t in self.targets if t not in self.unhealthy)

    def pool(self, node: LoadBalancerNode) -> tuple[str, ...]:
        """The targets ``node`` may send to: every target with cross-zone load balancing,
        else those in its own AZ."""
        if self.cross_zone or not self.target_zones:
            return self.targets
        return tuple(t for t, az in zip(self.targets, self.target_zones, strict=True) if az == node.az)

    def fails_open_at(self, node: LoadBalancerNode) -> bool:
        pool = self.pool(node)
        return bool(pool) and set(pool) <= set(self.unhealthy)

    def healthy_at(self, node: LoadBalancerNode) -> tuple[str, ...]:
        """The targets ``node`` sends new connections to: its pool's healthy ones (all of the
        pool when none is healthy; none when its AZ has no target and cross-zone is off)."""
        pool = self.pool(node)
        return pool if self.fails_open_at(node) else tuple(t for t in pool if t not in self.unhealthy)

    def listener(self, protocol: int, port: Optional[int]) -> Optional[Listener]:
        return next((x for x in self.listeners if (x.protocol, x.port) == (protocol, port)), None)

    def node_in(self, az: str) -> Optional[LoadBalancerNode]:
        return next((node for node in self.nodes if node.az == az), None)


@dataclass(frozen=True)
class EndpointService:
    """A PrivateLink endpoint service: a provider's NLB, offered to other VPCs' endpoints."""

    origin: str
    name: str
    vpc: str
    load_balancer: LoadBalancer
    private_dns_name: Optional[str] = None


@dataclass(frozen=True)
class EndpointInterface:
    """An interface endpoint's network interface in one consumer subnet: its address, its
    SGs, the NLB node of its AZ (on whose card it lives) and the block of source ports that
    node uses for the connections it carries (AWS: the NLB's own ephemeral ports)."""

    origin: str
    name: str  # ENDPOINT/SUBNET
    endpoint: str
    service: str
    vpc: str
    subnet: str
    ip: IPv4Address
    security_groups: tuple[SGRef, ...]
    node: LoadBalancerNode
    nlb_ports: tuple[int, int]

    @property
    def server(self) -> str:
        return self.node.server

    @property
    def endpoint_origin(self) -> str:
        """The YAML path of its endpoint (its SGs are the endpoint's)."""
        return self.origin.rsplit(".subnets", 1)[0]


@dataclass(frozen=True)
class VpcEndpoint:
    """An interface endpoint: one network interface in each of its subnets; one way,
    consumer to provider; its service's private DNS name answers in its VPC if enabled."""

    origin: str
    name: str
    vpc: str
    service: str
    interfaces: tuple[EndpointInterface, ...]
    private_dns_enabled: bool = True
