"""vpclab's model: topology."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv4Address
from typing import Optional

from .accounts import DEFAULT_ACCOUNTS, DEFAULT_REGIONS, Account, Region
from .constants import DEFAULT_DNS_DOMAIN, IPAddress
from .dns import HostedZone
from .flow_logs import FlowLog
from .hybrid import Hybrid, SiteHost
from .instances import Instance
from .internet import InternetHost, NatGateway
from .peering import Peering
from .prefix_lists import AwsService, GatewayEndpoint, PrefixList
from .privatelink import EndpointInterface, EndpointService, LoadBalancer, LoadBalancerNode, VpcEndpoint
from .routes import Route
from .security_groups import SecurityGroup, SGRef
from .transit_gateways import Attachment, TransitGateway, TransitGatewayPeering
from .vpcs import Subnet, Vpc, _by_name


@dataclass(frozen=True)
class Server:
    origin: str
    name: str
    az: Optional[str]  # None: hosts instances of any AZ
    region: Optional[str] = None  # None: hosts instances of any Region (``servers: N``)


@dataclass(frozen=True)
class InstanceNumber:
    """An instance's numbers on its card: its conntrack zone (its MACs and its address towards
    the metadata service follow from it) and its port (see ``loader.numbering``)."""

    instance: str
    zone: int
    port: int


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
    transit_gateway_peerings: tuple[TransitGatewayPeering, ...] = ()
    accounts: tuple[Account, ...] = DEFAULT_ACCOUNTS
    regions: tuple[Region, ...] = DEFAULT_REGIONS
    prefix_lists: tuple[PrefixList, ...] = ()  # customer-managed, then the AWS-managed ones used
    gateway_endpoints: tuple[GatewayEndpoint, ...] = ()
    aws_services: tuple[AwsService, ...] = ()  # the AWS services the design reaches
    network_load_balancers: tuple[LoadBalancer, ...] = ()  # NLBs reached directly
    hybrid: Hybrid = Hybrid()  # on-premises sites, VPN, Direct Connect
    numbering: tuple[InstanceNumber, ...] = ()  # every instance's, in file order
    nat_numbers: tuple[tuple[str, int], ...] = ()  # every NAT gateway's (name, number), in file order

    @property
    def load_balancers(self) -> tuple[LoadBalancer, ...]:
        """Every NLB: the endpoint services', then those reached directly."""
        return tuple(s.load_balancer for s in self.endpoint_services) + self.network_load_balancers

    def balancers_targeting(self, name: str) -> tuple[LoadBalancer, ...]:
        """The NLBs reached directly that have instance ``name`` as a target."""
        return tuple(b for b in self.network_load_balancers if name in b.targets)

    @property
    def load_balancer_nodes(self) -> tuple[LoadBalancerNode, ...]:
        return tuple(node for balancer in self.load_balancers for node in balancer.nodes)

    def account(self, name: str) -> Account:
        return _by_name(self.accounts, name)

    def region(self, name: str) -> Region:
        return _by_name(self.regions, name)

    def owner(self, vpc: str) -> Account:
        """The account that owns ``vpc``."""
        return self.account(self.vpc(vpc).account)

    @property
    def has_internet(self) -> bool:
        """Does the design reach beyond its VPCs (an internet gateway, an internet host, a site,
        whose VPN tunnels cross the internet, or a VGW, which sits on the internet's card)?"""
        beyond = bool(self.internet_hosts) or any(vpc.internet_gateway for vpc in self.vpcs)
        return beyond or bool(self.hybrid.sites or self.hybrid.vpn_gateways)

    # -- indexes -------------------------------------------------------------------------------
    @cached_property
    def _vpcs(self) -> dict[str, Vpc]:
        return {vpc.name: vpc for vpc in self.vpcs}

    @cached_property
    def _instances(self) -> dict[str, Instance]:
        return {instance.name: instance for instance in self.instances}

    @cached_property
    def _aws_ids(self) -> dict[str, Instance]:
        return {instance.aws_id: instance for instance in self.instances if instance.aws_id}

    @cached_property
    def _aws_public(self) -> dict[IPv4Address, IPv4Address]:
        """An imported instance's or NAT gateway's real public IP -> the one it has here."""
        owners = [i for i in self.instances if i.public_ip is not None] + list(self.nat_gateways)
        return {o.aws_public_ip: o.public_ip for o in owners if o.aws_public_ip and o.public_ip}

    def emulated_address(self, address: IPv4Address) -> IPv4Address:
        """An imported instance's or NAT gateway's real public IP, or an address of an AWS
        service's real CIDRs, as the emulation has it (a documentation address); any other
        address as it is."""
        if address in self._aws_public:
            return self._aws_public[address]
        service = next((s for s in self.aws_services if any(address in c for c in s.aws_cidrs)), None)
        return address if service is None else service.ip

    def prefix_list(self, name: str) -> PrefixList:
        return _by_name(self.prefix_lists, name)

    def gateway_endpoint(self, name: str) -> GatewayEndpoint:
        return _by_name(self.gateway_endpoints, name)

    @cached_property
    def _addresses(self) -> dict[tuple[str, IPAddress], Instance]:
        return {
            (instance.vpc, address): instance for instance in self.instances for address in instance.addresses
        }

    @cached_property
    def _public(self) -> dict[IPAddress, Instance]:
        return {i.public_ip: i for i in self.instances if i.public_ip is not None}

    @cached_property
    def _nat_public(self) -> dict[IPAddress, NatGateway]:
        return {nat.public_ip: nat for vpc in self.vpcs for nat in vpc.nat_gateways}

    @cached_property
    def _internet_hosts(self) -> dict[IPAddress, InternetHost]:
        hosts = {host.ip: host for host in self.internet_hosts}
        hosts.update({host.ipv6: host for host in self.internet_hosts if host.ipv6 is not None})
        return hosts

    @cached_property
    def _interfaces(self) -> dict[tuple[str, IPAddress], EndpointInterface]:
        return {(i.vpc, i.ip): i for i in self.endpoint_interfaces}

    @cached_property
    def _nodes(self) -> dict[tuple[str, IPAddress], LoadBalancerNode]:
        return {(b.vpc, node.ip): node for b in self.load_balancers for node in b.nodes}

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

    def transit_gateway_peering(self, name: str) -> TransitGatewayPeering:
        return _by_name(self.transit_gateway_peerings, name)

    def across(self, attachment: Attachment) -> tuple[TransitGateway, Attachment]:
        """The other end of a TGW peering attachment: the peer TGW and its peering attachment."""
        assert attachment.peering is not None
        peering = self.transit_gateway_peering(attachment.peering)
        peer = self.transit_gateway(peering.other(attachment.transit_gateway))
        far = peer.peering_attachment(peering.name)
        assert far is not None  # the loader requires an attachment at both ends
        return peer, far

    def peering(self, name: str) -> Peering:
        return _by_name(self.peerings, name)

    def instance(self, name: str) -> Instance:
        """By name, or (an imported design's) by its AWS id."""
        return self._instances[name] if name in self._instances else self._aws_ids[name]

    def security_group(self, ref: SGRef) -> SecurityGroup:
        return _by_name(self.vpc(ref.vpc).security_groups, ref.name)

    def members(self, ref: SGRef) -> tuple[Instance, ...]:
        """The instances that carry security group ``ref``."""
        return self._members.get(ref, ())

    def internet_host(self, name: str) -> InternetHost:
        return _by_name(self.internet_hosts, name)

    @property
    def senders(self) -> tuple[Instance, ...]:
        """The instances that open connections (not an AWS service's endpoint interfaces)."""
        return tuple(instance for instance in self.instances if instance.service is None)

    @property
    def endpoints(self) -> tuple[Instance | InternetHost, ...]:
        """Everything that sends and receives: the instances, then the internet hosts."""
        return (*self.instances, *self.internet_hosts)

    def endpoint(self, name: str) -> Instance | InternetHost | SiteHost:
        """An instance, an internet host or an on-premises site's host, by name (KeyError if none)."""
        if name in self._instances or name in self._aws_ids:
            return self.instance(name)
        try:
            return self.internet_host(name)
        except KeyError:
            return self.hybrid.host(name)

    def health_target(self, route: Route) -> Optional[IPv4Address]:
        """Where a failover route's probes go: its health check's target, or else the first
        instance (in the file's order) inside its destination."""
        if route.health_check is None:
            return None
        if route.health_check.target is not None:
            return route.health_check.target
        return next((i.ip for i in self.instances if i.ip in route.destination), None)

    def internet_host_at(self, address: IPAddress) -> Optional[InternetHost]:
        """The internet host with ``address``, or the AWS service whose block holds it."""
        host = self._internet_hosts.get(address)
        if host is None:
            host = next((h for h in self.internet_hosts if h.network and address in h.network), None)
        return host

    def instance_with_public_ip(self, address: IPAddress) -> Optional[Instance]:
        """The instance whose public IP (or Elastic IP) is ``address``, if any."""
        return self._public.get(address)

    @property
    def ipv6_holders(self) -> tuple[str, ...]:
        """The YAML paths of what has an IPv6 address (instances, internet hosts): without them
        no IPv6 packet exists, and IPv6 CIDRs, rules and routes decide nothing."""
        found = [i.origin for i in self.instances if i.ipv6 is not None]
        return tuple(found + [f"{h.origin}.ipv6" for h in self.internet_hosts if h.ipv6 is not None])

    @property
    def ipv6_origins(self) -> tuple[str, ...]:
        """The YAML paths that give the design IPv6: VPC CIDRs, IPv6 rules and routes, internet
        hosts' IPv6 addresses (a subnet's /64 and an instance's address need a VPC's /56)."""
        found = [f"{vpc.origin}.ipv6_cidr" for vpc in self.vpcs if vpc.ipv6_cidr is not None]
        for vpc in self.vpcs:
            for group in vpc.security_groups:
                found += [
                    r.origin
                    for r in group.ingress + group.egress
                    if r.cidr is not None and r.cidr.version == 6
                ]
            for nacl in vpc.nacls:
                found += [r.origin for r in nacl.ingress + nacl.egress if r.cidr.version == 6]
            found += [r.origin for t in vpc.route_tables for r in t.routes if r.destination.version == 6]
        for tgw in self.transit_gateways:
            found += [
                r.origin for t in tgw.route_tables for r in t.static_routes if r.destination.version == 6
            ]
        found += [f"{host.origin}.ipv6" for host in self.internet_hosts if host.ipv6 is not None]
        return tuple(dict.fromkeys(found))

    def instance_with_ipv6(self, address) -> Optional[Instance]:
        """The instance whose IPv6 address is ``address`` (each is globally unique: no NAT)."""
        return next((i for i in self.instances if i.ipv6 == address), None)

    def nat_gateway_with_public_ip(self, address: IPAddress) -> Optional[NatGateway]:
        """The NAT gateway whose Elastic IP is ``address``, if any."""
        return self._nat_public.get(address)

    @property
    def nat_gateways(self) -> tuple[NatGateway, ...]:
        return tuple(nat for vpc in self.vpcs for nat in vpc.nat_gateways)

    def instance_at(self, vpc: str, address: IPAddress) -> Optional[Instance]:
        """The instance of ``vpc`` whose private IP or IPv6 address is ``address``, if any."""
        return self._addresses.get((vpc, address))

    @property
    def endpoint_interfaces(self) -> tuple[EndpointInterface, ...]:
        return tuple(i for endpoint in self.vpc_endpoints for i in endpoint.interfaces)

    def endpoint_service(self, name: str) -> EndpointService:
        return _by_name(self.endpoint_services, name)

    def vpc_endpoint(self, name: str) -> VpcEndpoint:
        return _by_name(self.vpc_endpoints, name)

    def interface_at(self, vpc: str, address: IPAddress) -> Optional[EndpointInterface]:
        """The interface endpoint's network interface of ``vpc`` at ``address``, if any."""
        return self._interfaces.get((vpc, address))

    def load_balancer_node_at(self, vpc: str, address: IPAddress) -> Optional[LoadBalancerNode]:
        """The NLB node of ``vpc`` at ``address``, if any."""
        return self._nodes.get((vpc, address))

    def load_balancer(self, name: str) -> LoadBalancer:
        return next(b for b in self.load_balancers if b.name == name)

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
