"""The typed VPC intent model: what a topology YAML means once validated and defaulted.

Every object carries ``origin``: the path of the YAML object that produced it, e.g.
``vpcs[0].nacls[1].ingress[2]``. Objects that AWS creates implicitly (the default SG, the default
NACL, the main route table, the local route, the ``*`` NACL rule) get a path with a name in the
brackets instead of an index: ``vpcs[0].security_groups[default]``, ``...ingress[*]``.
Trace reports these paths as the deciding object; the controller uses them for flow cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network
from typing import Optional

PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = (8, 0), (0, 0)  # (type, code): what trace and verify ping with
EPHEMERAL_PORTS = (32768, 60999)  # Linux's ip_local_port_range, used by vpclab's instances
RESERVED_HOST_OFFSETS = (0, 1, 2, 3)  # network, VPC router, DNS, reserved; plus the broadcast
# what the VXLAN VNI has room for (it carries a VPC's number and the TGW attachment subnet a
# packet arrived through; see vpclab.layout.pipeline.TunnelKey)
MAX_VPCS = 4095
MAX_ATTACHMENT_SUBNETS = 2047
# the emulated internet uses only the documentation ranges (RFC 5737), never a real address
DOCUMENTATION_RANGES = (
    IPv4Network("192.0.2.0/24"),
    IPv4Network("198.51.100.0/24"),
    IPv4Network("203.0.113.0/24"),
)
METADATA_ADDRESS = IPv4Address("169.254.169.254")  # the IMDS, answered by each Nitro card
RESOLVER_ADDRESS = IPv4Address("169.254.169.253")  # the Route 53 Resolver, on each Nitro card
DEFAULT_DNS_DOMAIN = "vpclab.internal"  # the instances' YAML names live under it
EC2_INTERNAL = "ec2.internal"  # their private DNS hostnames (ip-10-0-1-10.ec2.internal)
PUBLIC_IP_POOL = IPv4Network("203.0.113.0/24")  # where `public_ip: true` addresses come from
INTERNET_CARD = "internet"  # the card of the emulated internet (a reserved server name)
INTERNET_ORIGIN = "internet"  # the YAML object that stands for the internet's own routing
# MTUs (IP packet bytes) as AWS documents them: current EC2 instances run at 9001 in a VPC;
# a transit gateway carries 8500 and drops larger packets without an ICMP error (and clamps
# TCP's MSS); what leaves through an internet gateway is limited to 1500
INSTANCE_MTU = 9001
MIN_INSTANCE_MTU = 576
TGW_MTU = 8500
TGW_MSS = TGW_MTU - 40  # what a SYN through a TGW may offer: the MTU less the IPv4 and TCP headers
INTERNET_MTU = 1500


def protocol_label(number: Optional[int]) -> str:
    """Human name of an IP protocol number; None means all protocols."""
    if number is None:
        return "all"
    return PROTOCOL_NAMES.get(number, str(number))


@dataclass(frozen=True)
class Traffic:
    """What a rule matches besides the address: protocol (None = all), destination ports
    (tcp/udp) or ICMP type and code (icmp; None = any)."""

    protocol: Optional[int] = None
    ports: Optional[tuple[int, int]] = None  # inclusive; None = all ports
    icmp_type: Optional[int] = None
    icmp_code: Optional[int] = None

    def matches(self, protocol: int, port: Optional[int], icmp: Optional[tuple[int, int]] = None) -> bool:
        """Does a packet of ``protocol`` to ``port`` (tcp/udp) or of ICMP ``(type, code)`` match?"""
        if self.protocol is not None and self.protocol != protocol:
            return False
        if self.icmp_type is not None:
            if icmp is None or icmp[0] != self.icmp_type:
                return False
            return self.icmp_code is None or icmp[1] == self.icmp_code
        if self.ports is None or port is None:
            return self.ports is None
        return self.ports[0] <= port <= self.ports[1]

    def describe(self) -> str:
        text = protocol_label(self.protocol)
        if self.ports is not None:
            low, high = self.ports
            text += f"/{low}" if low == high else f"/{low}-{high}"
        if self.icmp_type is not None:
            text += f" type {self.icmp_type}"
            text += f" code {self.icmp_code}" if self.icmp_code is not None else ""
        return text


@dataclass(frozen=True)
class SGRef:
    """A reference to a security group: the VPC that owns it and its name."""

    vpc: str
    name: str

    def __str__(self) -> str:
        return f"{self.vpc}/{self.name}"


@dataclass(frozen=True)
class SGRule:
    origin: str
    traffic: Traffic
    cidr: Optional[IPv4Network] = None
    security_group: Optional[SGRef] = None

    def describe(self) -> str:
        peer = str(self.cidr) if self.cidr is not None else f"sg {self.security_group}"
        return f"{self.traffic.describe()} {peer}"


@dataclass(frozen=True)
class SecurityGroup:
    origin: str
    vpc: str
    name: str
    ingress: tuple[SGRule, ...]
    egress: tuple[SGRule, ...]

    @property
    def ref(self) -> SGRef:
        return SGRef(self.vpc, self.name)


@dataclass(frozen=True)
class NaclRule:
    origin: str
    number: Optional[int]  # None for the final '*' rule
    traffic: Traffic
    cidr: IPv4Network
    allow: bool

    def describe(self) -> str:
        number = "*" if self.number is None else str(self.number)
        action = "allow" if self.allow else "deny"
        return f"rule {number} {action} {self.traffic.describe()} {self.cidr}"


@dataclass(frozen=True)
class Nacl:
    """A network ACL; ``ingress``/``egress`` are sorted by rule number and end with ``*``."""

    origin: str
    name: str
    ingress: tuple[NaclRule, ...]
    egress: tuple[NaclRule, ...]


@dataclass(frozen=True)
class RoutePath:
    """One path of a failover route: a peering or a transit gateway, by name."""

    kind: str  # "peering" or "transit_gateway"
    name: str

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.name}"


@dataclass(frozen=True)
class HealthCheck:
    """How the route manager probes each path of a failover route: ICMP echo to ``target``
    every ``interval`` seconds; a path is down after ``failures`` probes in a row went
    unanswered, and up again after ``recoveries`` answered in a row."""

    origin: str
    target: Optional[IPv4Address]  # None: the first instance inside the route's destination
    interval: float = 0.1
    failures: int = 3
    recoveries: int = 10


@dataclass(frozen=True)
class Route:
    """A VPC route. Exactly one target: local, peering, transit_gateway, internet_gateway,
    nat_gateway, instance (an appliance's network interface) or blackhole.

    A failover route (vpclab's extension) lists several ``failover`` paths in order of
    preference; its target is the ``active`` one, which the controller's route manager moves
    by ``health_check``."""

    origin: str
    destination: IPv4Network
    local: bool = False
    peering: Optional[str] = None
    transit_gateway: Optional[str] = None
    blackhole: bool = False
    internet_gateway: Optional[str] = None
    nat_gateway: Optional[str] = None
    instance: Optional[str] = None
    failover: tuple[RoutePath, ...] = ()
    active: int = 0
    health_check: Optional[HealthCheck] = None

    @property
    def paths(self) -> tuple[RoutePath, ...]:
        """Every peering or TGW the route may use: its failover paths, or its one target."""
        if self.failover:
            return self.failover
        if self.peering:
            return (RoutePath("peering", self.peering),)
        if self.transit_gateway:
            return (RoutePath("transit_gateway", self.transit_gateway),)
        return ()

    def describe(self) -> str:
        if self.local:
            target = "local"
        elif self.peering:
            target = f"peering {self.peering}"
        elif self.transit_gateway:
            target = f"transit gateway {self.transit_gateway}"
        elif self.internet_gateway:
            target = f"internet gateway {self.internet_gateway}"
        elif self.nat_gateway:
            target = f"NAT gateway {self.nat_gateway}"
        elif self.instance:
            target = f"instance {self.instance}"
        else:
            target = "blackhole"
        if self.failover:
            target += f" (failover path {self.active + 1} of {len(self.failover)})"
        return f"{self.destination} -> {target}"


@dataclass(frozen=True)
class RouteTable:
    origin: str
    name: str
    main: bool
    routes: tuple[Route, ...]  # the local routes first, then the YAML routes


@dataclass(frozen=True)
class Subnet:
    origin: str
    vpc: str
    name: str
    cidr: IPv4Network
    az: str
    route_table: str
    nacl: str

    @property
    def router_address(self) -> IPv4Address:
        """The VPC router's address here (network + 1), the instances' default gateway."""
        return self.cidr.network_address + 1

    @property
    def reserved_addresses(self) -> frozenset[IPv4Address]:
        """The five addresses AWS reserves: .0, .1 router, .2 DNS, .3, and the broadcast."""
        base = self.cidr.network_address
        return frozenset({base + offset for offset in RESERVED_HOST_OFFSETS} | {self.cidr.broadcast_address})


@dataclass(frozen=True)
class MetadataOptions:
    """The instance metadata service's options (AWS's ``MetadataOptions``)."""

    http_tokens: str = "optional"  # optional: IMDSv1 allowed; required: IMDSv2 tokens only
    http_put_response_hop_limit: int = 1  # the IP TTL of the token response


@dataclass(frozen=True)
class Instance:
    origin: str
    vpc: str
    subnet: str
    name: str
    ip: IPv4Address
    security_groups: tuple[SGRef, ...]
    server: str
    public_ip: Optional[IPv4Address] = None  # its public IPv4 or Elastic IP (1:1 at the IGW)
    metadata: MetadataOptions = MetadataOptions()
    iam_role: Optional[str] = None  # its instance profile's role: credentials in the IMDS
    source_dest_check: bool = True  # False: it may send from addresses not its own (an appliance)
    mtu: int = INSTANCE_MTU  # its eth0's MTU (the OS's setting; AWS's default is 9001)

    @property
    def public_ip_origin(self) -> str:
        return f"{self.origin}.public_ip"


@dataclass(frozen=True)
class InternetGateway:
    origin: str  # the VPC's `internet_gateway` key
    name: str
    vpc: str


@dataclass(frozen=True)
class NatGateway:
    """A public NAT gateway: an interface in a public subnet that translates many private
    sources to its own address (ports too), then its Elastic IP at the internet gateway."""

    origin: str
    name: str
    vpc: str
    subnet: str
    ip: IPv4Address  # its private address in the subnet (AWS assigns one; so does vpclab)
    public_ip: IPv4Address  # its Elastic IP
    server: str  # the server whose Nitro card carries its translations (placement)
    public_ip_named: bool = False  # the file names its Elastic IP (else the pool gave one)

    @property
    def public_ip_origin(self) -> str:
        """The YAML path of its Elastic IP: the key if the file names it, else the gateway."""
        return f"{self.origin}.public_ip" if self.public_ip_named else self.origin


@dataclass(frozen=True)
class InternetHost:
    """A host of the emulated internet, outside every VPC (an address of RFC 5737)."""

    origin: str
    name: str
    ip: IPv4Address


TRAFFIC_TYPES = ("ALL", "ACCEPT", "REJECT")
DEFAULT_AGGREGATION_INTERVAL = 600  # seconds, AWS's default


@dataclass(frozen=True)
class FlowLog:
    """A VPC Flow Log: the records of the interfaces of a VPC, a subnet or an instance."""

    origin: str
    name: str
    vpc: str
    subnet: Optional[str] = None  # the whole VPC if None (and no instance)
    instance: Optional[str] = None
    traffic_type: str = "ALL"  # ALL | ACCEPT | REJECT
    max_aggregation_interval: int = DEFAULT_AGGREGATION_INTERVAL  # seconds

    def covers(self, instance: Instance) -> bool:
        """Does this flow log record ``instance``'s interface?"""
        if self.instance is not None:
            return instance.name == self.instance
        return instance.vpc == self.vpc and self.subnet in (None, instance.subnet)

    def keeps(self, action: str) -> bool:
        """Does its ``traffic_type`` keep a record with this action (ACCEPT or REJECT)?"""
        return self.traffic_type in ("ALL", action)


@dataclass(frozen=True)
class Vpc:
    origin: str
    name: str
    number: int  # 1-based position in the file; the VXLAN VNI derives from it
    cidrs: tuple[IPv4Network, ...]
    subnets: tuple[Subnet, ...]
    route_tables: tuple[RouteTable, ...]
    security_groups: tuple[SecurityGroup, ...]
    nacls: tuple[Nacl, ...]
    instances: tuple[Instance, ...]
    internet_gateway: Optional[InternetGateway] = None
    nat_gateways: tuple[NatGateway, ...] = ()
    dns_support: bool = True  # enable_dns_support: the resolver answers at base + 2

    @property
    def resolver_address(self) -> IPv4Address:
        """AmazonProvidedDNS: the VPC's first CIDR's base address + 2."""
        return self.cidrs[0].network_address + 2

    def contains(self, address: IPv4Address) -> bool:
        return any(address in cidr for cidr in self.cidrs)

    def subnet(self, name: str) -> Subnet:
        return _by_name(self.subnets, name)

    def route_table(self, name: str) -> RouteTable:
        return _by_name(self.route_tables, name)

    def nacl(self, name: str) -> Nacl:
        return _by_name(self.nacls, name)

    def nat_gateway(self, name: str) -> NatGateway:
        return _by_name(self.nat_gateways, name)

    @property
    def main_route_table(self) -> RouteTable:
        return next(table for table in self.route_tables if table.main)


@dataclass(frozen=True)
class DnsRecord:
    name: str  # fully qualified, lower case, without the final dot
    type: str  # A, CNAME or TXT
    values: tuple[str, ...]
    ttl: int = 300


@dataclass(frozen=True)
class HostedZone:
    """A Route 53 private hosted zone: answered by the resolvers of its VPCs only."""

    origin: str
    name: str  # lower case, without the final dot
    vpcs: tuple[str, ...]
    records: tuple[DnsRecord, ...]


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
    every target when none is healthy, as AWS fails open), health checks."""

    origin: str
    name: str
    vpc: str
    nodes: tuple[LoadBalancerNode, ...]
    listeners: tuple[Listener, ...]
    targets: tuple[str, ...]  # instance names, in the file's order
    health_check: TargetHealthCheck
    unhealthy: tuple[str, ...] = ()  # the targets its health checks found dead (runtime state)

    @property
    def fails_open(self) -> bool:
        """No target is healthy: AWS then sends to every target."""
        return set(self.targets) <= set(self.unhealthy)

    @property
    def healthy(self) -> tuple[str, ...]:
        """The targets it sends new connections to (all of them when none is healthy)."""
        return self.targets if self.fails_open else tuple(t for t in self.targets if t not in self.unhealthy)

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


@dataclass(frozen=True)
class Peering:
    origin: str
    name: str
    requester: str
    accepter: str
    deleted: bool = False  # a deleted peering leaves its routes in state blackhole

    def other(self, vpc: str) -> str:
        return self.accepter if vpc == self.requester else self.requester

    def joins(self, vpc_a: str, vpc_b: str) -> bool:
        return {vpc_a, vpc_b} == {self.requester, self.accepter}


@dataclass(frozen=True)
class Attachment:
    origin: str
    transit_gateway: str
    name: str
    vpc: str
    subnets: tuple[str, ...]
    security_group_referencing_support: bool = True  # AWS: on for an attachment, off for a TGW


@dataclass(frozen=True)
class TgwRoute:
    """A TGW route: static (to an attachment or blackhole) or propagated from an attachment."""

    origin: str
    destination: IPv4Network
    attachment: Optional[str] = None
    blackhole: bool = False
    propagated: bool = False

    def describe(self) -> str:
        target = "blackhole" if self.blackhole else f"attachment {self.attachment}"
        kind = "propagated" if self.propagated else "static"
        return f"{self.destination} -> {target} ({kind})"


@dataclass(frozen=True)
class TgwRouteTable:
    origin: str
    name: str
    associations: tuple[str, ...]
    propagations: tuple[str, ...]
    static_routes: tuple[TgwRoute, ...]


@dataclass(frozen=True)
class TransitGateway:
    origin: str
    name: str
    attachments: tuple[Attachment, ...]
    route_tables: tuple[TgwRouteTable, ...]
    security_group_referencing_support: bool = False

    def attachment(self, name: str) -> Attachment:
        return _by_name(self.attachments, name)

    def attachment_of(self, vpc: str) -> Optional[Attachment]:
        """The attachment of ``vpc`` (a VPC is attached at most once)."""
        return next((a for a in self.attachments if a.vpc == vpc), None)

    def association(self, attachment: str) -> Optional[TgwRouteTable]:
        """The route table ``attachment`` is associated with, if any."""
        return next((t for t in self.route_tables if attachment in t.associations), None)


@dataclass(frozen=True)
class Server:
    origin: str
    name: str
    az: Optional[str]  # None: hosts instances of any AZ


@dataclass(frozen=True)
class Topology:
    """The whole design. Look-ups go through indexes built once, on first use."""

    name: str
    source: str  # the file it was loaded from
    servers: tuple[Server, ...]
    vpcs: tuple[Vpc, ...]
    peerings: tuple[Peering, ...] = ()
    transit_gateways: tuple[TransitGateway, ...] = ()
    internet_hosts: tuple[InternetHost, ...] = ()
    flow_logs: tuple[FlowLog, ...] = ()
    hosted_zones: tuple[HostedZone, ...] = ()
    dns_domain: str = DEFAULT_DNS_DOMAIN
    endpoint_services: tuple[EndpointService, ...] = ()
    vpc_endpoints: tuple[VpcEndpoint, ...] = ()

    @property
    def has_internet(self) -> bool:
        """Does the design reach beyond its VPCs (an internet gateway or an internet host)?"""
        return bool(self.internet_hosts) or any(vpc.internet_gateway for vpc in self.vpcs)

    # -- indexes -------------------------------------------------------------------------------
    @cached_property
    def _vpcs(self) -> dict[str, Vpc]:
        return {vpc.name: vpc for vpc in self.vpcs}

    @cached_property
    def _instances(self) -> dict[str, Instance]:
        return {instance.name: instance for instance in self.instances}

    @cached_property
    def _addresses(self) -> dict[tuple[str, IPv4Address], Instance]:
        return {(instance.vpc, instance.ip): instance for instance in self.instances}

    @cached_property
    def _public(self) -> dict[IPv4Address, Instance]:
        return {i.public_ip: i for i in self.instances if i.public_ip is not None}

    @cached_property
    def _nat_public(self) -> dict[IPv4Address, NatGateway]:
        return {nat.public_ip: nat for vpc in self.vpcs for nat in vpc.nat_gateways}

    @cached_property
    def _internet_hosts(self) -> dict[IPv4Address, InternetHost]:
        return {host.ip: host for host in self.internet_hosts}

    @cached_property
    def _interfaces(self) -> dict[tuple[str, IPv4Address], EndpointInterface]:
        return {(i.vpc, i.ip): i for i in self.endpoint_interfaces}

    @cached_property
    def _nodes(self) -> dict[tuple[str, IPv4Address], LoadBalancerNode]:
        return {(s.vpc, node.ip): node for s in self.endpoint_services for node in s.load_balancer.nodes}

    @cached_property
    def _members(self) -> dict[SGRef, tuple[Instance, ...]]:
        members: dict[SGRef, list[Instance]] = {}
        for instance in self.instances:
            for ref in instance.security_groups:
                members.setdefault(ref, []).append(instance)
        return {ref: tuple(found) for ref, found in members.items()}

    @cached_property
    def instances(self) -> tuple[Instance, ...]:
        return tuple(instance for vpc in self.vpcs for instance in vpc.instances)

    # -- look-ups ------------------------------------------------------------------------------
    def vpc(self, name: str) -> Vpc:
        return self._vpcs[name]

    def transit_gateway(self, name: str) -> TransitGateway:
        return _by_name(self.transit_gateways, name)

    def peering(self, name: str) -> Peering:
        return _by_name(self.peerings, name)

    def instance(self, name: str) -> Instance:
        return self._instances[name]

    def security_group(self, ref: SGRef) -> SecurityGroup:
        return _by_name(self.vpc(ref.vpc).security_groups, ref.name)

    def members(self, ref: SGRef) -> tuple[Instance, ...]:
        """The instances that carry security group ``ref``."""
        return self._members.get(ref, ())

    def internet_host(self, name: str) -> InternetHost:
        return _by_name(self.internet_hosts, name)

    @property
    def endpoints(self) -> tuple[Instance | InternetHost, ...]:
        """Everything that sends and receives: the instances, then the internet hosts."""
        return (*self.instances, *self.internet_hosts)

    def endpoint(self, name: str) -> Instance | InternetHost:
        """An instance or an internet host, by name (KeyError if neither)."""
        if name in self._instances:
            return self._instances[name]
        return self.internet_host(name)

    def health_target(self, route: Route) -> Optional[IPv4Address]:
        """Where a failover route's probes go: its health check's target, or else the first
        instance (in the file's order) inside its destination."""
        if route.health_check is None:
            return None
        if route.health_check.target is not None:
            return route.health_check.target
        return next((i.ip for i in self.instances if i.ip in route.destination), None)

    def internet_host_at(self, address: IPv4Address) -> Optional[InternetHost]:
        return self._internet_hosts.get(address)

    def instance_with_public_ip(self, address: IPv4Address) -> Optional[Instance]:
        """The instance whose public IP (or Elastic IP) is ``address``, if any."""
        return self._public.get(address)

    def nat_gateway_with_public_ip(self, address: IPv4Address) -> Optional[NatGateway]:
        """The NAT gateway whose Elastic IP is ``address``, if any."""
        return self._nat_public.get(address)

    @property
    def nat_gateways(self) -> tuple[NatGateway, ...]:
        return tuple(nat for vpc in self.vpcs for nat in vpc.nat_gateways)

    def instance_at(self, vpc: str, address: IPv4Address) -> Optional[Instance]:
        """The instance of ``vpc`` whose private IP is ``address``, if any."""
        return self._addresses.get((vpc, address))

    @property
    def endpoint_interfaces(self) -> tuple[EndpointInterface, ...]:
        return tuple(i for endpoint in self.vpc_endpoints for i in endpoint.interfaces)

    def endpoint_service(self, name: str) -> EndpointService:
        return _by_name(self.endpoint_services, name)

    def vpc_endpoint(self, name: str) -> VpcEndpoint:
        return _by_name(self.vpc_endpoints, name)

    def interface_at(self, vpc: str, address: IPv4Address) -> Optional[EndpointInterface]:
        """The interface endpoint's network interface of ``vpc`` at ``address``, if any."""
        return self._interfaces.get((vpc, address))

    def load_balancer_node_at(self, vpc: str, address: IPv4Address) -> Optional[LoadBalancerNode]:
        """The NLB node of ``vpc`` at ``address``, if any."""
        return self._nodes.get((vpc, address))

    def load_balancer(self, name: str) -> LoadBalancer:
        return next(s.load_balancer for s in self.endpoint_services if s.load_balancer.name == name)

    def attachment_subnet(self, attachment: Attachment, az: str) -> Optional[Subnet]:
        """The attachment's subnet in ``az``, if it has one there."""
        vpc = self.vpc(attachment.vpc)
        return next((vpc.subnet(name) for name in attachment.subnets if vpc.subnet(name).az == az), None)

    def security_groups_origin(self, instance: Instance | EndpointInterface) -> str:
        """The object that stands for the instance's (or an endpoint's) SG set: its one SG,
        or its SG list."""
        if len(instance.security_groups) == 1:
            return self.security_group(instance.security_groups[0]).origin
        owner = instance.endpoint_origin if isinstance(instance, EndpointInterface) else instance.origin
        return f"{owner}.security_groups"


def _by_name(items, name):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)
