"""Numbers the emulation needs, derived once from the model: ids, ports, MACs, zones, VNIs.

Shared by the flow compiler (controller) and the builder of servers and hosts (nitro_switch),
so both agree on which port, MAC and address each instance has.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Optional

from vpclab.intent import model as m

from .hybrid import edge_ports

INTERFACE_NAME = re.compile(r"^(?!i\d+$)[A-Za-z][A-Za-z0-9-]{0,14}$")  # i<N>: derived names
RESERVED_INTERFACE_NAMES = {
    "all",
    "default",
    "lo",
    "vxlan0",
    "br-int",
    "br-phy",
    "eth-ul",
    "ovs-netdev",
    "genev_sys_6081",
    "vxlan_sys_4789",
}
UNDERLAY_PREFIX = "192.168.200."  # server N's underlay address: .N (inside vpclab's namespaces)
UNDERLAY_MASK = 24
INTERNET_CARD_INDEX = 254  # the internet's card: underlay .254, datapath id 0xfe
NAT_ZONE_FLAG = 0x8000  # an instance's IGW translations live in zone (its SG zone | this)
GATEWAY_ENDPOINT_ZONE = 1  # the internet's card tracks gateway endpoints' connections here
INTERNET_ROUTER = IPv4Address("169.254.0.1")  # internet hosts' default gateway (on-link)
INTERNET_ROUTER_V6 = IPv6Address("fe80::1")  # and over IPv6 (a permanent neighbour of theirs)
METADATA_PORT = m.RESERVED_CARD_PORTS[
    0
]  # the metadata service's port on every server's card (ofport_request)
METADATA_MAC = "02:00:00:00:a9:fe"  # the metadata service's own interface
METADATA_CLIENTS_V6 = IPv6Network("fd00:ec2:0:1::/64")  # instances as the service sees them, IPv6
# the card hands a query to the VPC's base + 2 to the resolver at this address (on the
# metadata service's interface), and the answer back from base + 2
RESOLVER_STAND_IN = IPv4Address("169.254.169.252")
DNS_PORT = 53
NAT_ROUTE_TABLE_FLAG = 0x10000  # a route table as a NAT gateway's translated packets read it
NAT_PORTS = (1024, 65535)  # the source ports a NAT gateway translates to (AWS's range)
# beside the running design: observation point -> the YAML object whose flows sample with it,
# written by Hyperplane with every compile, so the flow log collector need not compile again
ORIGINS_FILE = "origins.json"


def cookie_of(origin: str) -> int:
    """A stable 64-bit cookie for a YAML object's path (so cookies survive restarts)."""
    return int.from_bytes(hashlib.blake2b(origin.encode(), digest_size=8).digest(), "big") >> 1


POINT_MASK = 0xFFFFFFFF  # an IPFIX observation point id has 32 bits


def observation_point(origin: str) -> int:
    """The flow log observation point id of the flows ``origin`` produced (its cookie's low bits)."""
    return cookie_of(origin) & POINT_MASK


@dataclass(frozen=True)
class InstancePlan:
    instance: m.Instance
    port: int  # ofport on its server's Nitro card
    zone: int  # its conntrack zone (SG state), unique in the topology
    mac: str
    interface: str  # name of its port on the Nitro card (in the server's namespace)

    @property
    def nat_zone(self) -> int:
        """The conntrack zone of its 1:1 translations at the internet gateway."""
        return self.zone | NAT_ZONE_FLAG

    @property
    def link_local(self) -> IPv4Address:
        """Its address towards its card's metadata service (169.254.1.1 up, one per zone), so
        the service tells instances apart even where VPCs overlap."""
        return IPv4Address(f"169.254.{1 + self.zone // 254}.{1 + self.zone % 254}")

    @property
    def link_local_v6(self) -> IPv6Address:
        """The same over IPv6: fd00:ec2:0:1:: and its zone (fd00:ec2::/64 holds the services)."""
        return METADATA_CLIENTS_V6.network_address + self.zone


@dataclass(frozen=True)
class NatPlan:
    """A NAT gateway on its server's card: its id, conntrack zone and MAC."""

    nat: m.NatGateway
    number: int  # its id (1-based, the loader's: see ``numbering:``)
    zone: int  # its port translations; after every instance's zone
    mac: str  # what the VPC's routes send to
    inbound_mac: str  # what the internet gateway sends to (its Elastic IP's side)

    @property
    def igw_zone(self) -> int:
        """The conntrack zone of its 1:1 translation to its Elastic IP at the IGW."""
        return self.zone | NAT_ZONE_FLAG


@dataclass(frozen=True)
class InterfacePlan:
    """An interface endpoint's network interface, on its NLB node's card: its number (the
    NEXT_HOP of its PrivateLink stages), MAC and three conntrack zones: its SGs, its
    destination translation (to a target) and its source translation (to the node)."""

    interface: m.EndpointInterface
    number: int
    zone: int  # its SGs; after every instance's and NAT gateway's zone
    mac: str

    @property
    def dnat_zone(self) -> int:
        return self.zone + 1

    @property
    def snat_zone(self) -> int:
        return self.zone + 2


@dataclass(frozen=True)
class NodePlan:
    """A node of an NLB reached directly, on its server's card: its number (the NEXT_HOP of
    its stages, and the ct_mark its targets give the connections it brings), its conntrack
    zone (its destination translations; also what it names itself by as a sender) and MAC."""

    node: m.LoadBalancerNode
    number: int
    zone: int
    mac: str  # its address's (what clients send to, what it sends from)
    back_mac: str  # what its targets' cards send its connections' replies to


@dataclass(frozen=True)
class LinkAddress:
    """An address of PrivateLink in a VPC (an endpoint interface's or an NLB node's): where it
    lives, and the conntrack zone a packet arriving for it enters first (None: none)."""

    ip: IPv4Address
    subnet: str
    mac: str
    server: str
    zone: Optional[int]
    origin: str


@dataclass(frozen=True)
class HostPlan:
    """An internet host on the internet's card."""

    host: m.InternetHost
    port: int
    mac: str
    interface: str


class Plan:
    """Ids of model objects (1-based, stable in file order) and the per-instance numbers."""

    def __init__(self, topology: m.Topology):
        self.topology = topology
        vpcs = topology.vpcs
        self.subnet_id = _ids((v.name, s.name) for v in vpcs for s in v.subnets)
        self.route_table_id = _ids((v.name, t.name) for v in vpcs for t in v.route_tables)
        self.az_id = _ids(sorted({s.az for v in vpcs for s in v.subnets}))
        self.peering_id = _ids(p.name for p in topology.peerings)
        self.tgw_id = _ids(t.name for t in topology.transit_gateways)
        self.gateway_endpoint_id = _ids(e.name for e in topology.gateway_endpoints)
        self.tgw_table_id = _ids((t.name, r.name) for t in topology.transit_gateways for r in t.route_tables)
        self.attachment_id = _ids(a.name for t in topology.transit_gateways for a in t.attachments)
        # a TGW's way to a site is a next hop of its own (after the attachments' ids): a
        # tunnel of a VPN to it (connection, tunnel), a transit Direct Connect link (link, 0)
        ways = [
            (c.name, n)
            for c in topology.hybrid.vpn_connections
            if c.transit_gateway
            for n in range(1, c.tunnels + 1)
        ]
        ways += [(c.name, 0) for c in topology.hybrid.dx_connections if c.type == "transit"]
        self.site_hop = {key: len(self.attachment_id) + number for number, key in enumerate(ways, start=1)}
        self.attachment_subnet_id = _ids(  # (vpc, subnet) serving some attachment, once each
            dict.fromkeys(
                (a.vpc, s) for t in topology.transit_gateways for a in t.attachments for s in a.subnets
            )
        )
        self.server_index = {s.name: n for n, s in enumerate(topology.servers, start=1)}
        if topology.has_internet:
            self.server_index[m.INTERNET_CARD] = INTERNET_CARD_INDEX  # after every server
        self.internet_hosts = {
            host.name: HostPlan(
                host,
                port,
                f"02:00:ff:00:{port >> 8 & 0xFF:02x}:{port & 0xFF:02x}",
                card_port_name(host.name, port),
            )
            for host, port in internet_host_ports(topology).items()
        }
        # the sites' routers and AWS's VPN ends on the internet's card, after the design's hosts
        design_hosts = sum(1 for host in topology.internet_hosts if host.network is None)
        self.edge_ports = edge_ports(topology, design_hosts + 1)
        self.vgw_macs = {
            g.name: _mac(number, 0x10) for number, g in enumerate(topology.hybrid.vpn_gateways, 1)
        }
        self.instances: dict[str, InstancePlan] = {}
        for numbers in topology.numbering:  # the loader's (see ``numbering:``)
            instance, zone = topology.instance(numbers.instance), numbers.zone
            self.instances[instance.name] = InstancePlan(
                instance, numbers.port, zone, _mac(zone, 0x0A), card_port_name(instance.name, zone)
            )
        self.nat_gateways: dict[str, NatPlan] = {}
        nat_numbers = dict(topology.nat_numbers)  # the loader's (see ``numbering:``)
        for nat in topology.nat_gateways:
            number = nat_numbers[nat.name]
            zone = m.SERVICE_ZONES + number  # above every instance's zone
            self.nat_gateways[nat.name] = NatPlan(nat, number, zone, _mac(zone, 0x0B), _mac(zone, 0x0C))

        first = m.LINK_ZONES + 1  # above every NAT gateway's zone
        self.interfaces: dict[str, InterfacePlan] = {}
        for number, interface in enumerate(topology.endpoint_interfaces, start=1):
            zone = first + 3 * (number - 1)
            self.interfaces[interface.name] = InterfacePlan(interface, number, zone, _mac(zone, 0x0D))
        nodes = topology.load_balancer_nodes  # the endpoint services' first: their MACs stay
        self.node_macs = {
            (n.load_balancer, n.subnet): _mac(number, 0x0E) for number, n in enumerate(nodes, 1)
        }
        direct = [n for b in topology.network_load_balancers for n in b.nodes]
        after = first + 3 * len(self.interfaces)  # zones after every interface's three
        self.nodes: dict[tuple[str, str], NodePlan] = {
            (n.load_balancer, n.subnet): NodePlan(
                n, len(self.interfaces) + k, after + k - 1, self.node_mac(n), _mac(after + k - 1, 0x0F)
            )
            for k, n in enumerate(direct, start=1)
        }

    def link_addresses(self, vpc: m.Vpc) -> list[LinkAddress]:
        """The addresses PrivateLink holds in ``vpc``: its endpoint interfaces, its NLB nodes."""
        found = [
            LinkAddress(
                p.interface.ip, p.interface.subnet, p.mac, p.interface.server, p.zone, p.interface.origin
            )
            for p in self.interfaces.values()
            if p.interface.vpc == vpc.name
        ]
        for balancer in self.topology.load_balancers:
            if balancer.vpc == vpc.name:
                for node in balancer.nodes:
                    found.append(
                        LinkAddress(node.ip, node.subnet, self.node_mac(node), node.server, None, node.origin)
                    )
        return found

    def nodes_on(self, server: str) -> list[NodePlan]:
        """The nodes of NLBs reached directly that ``server``'s card carries."""
        return [p for p in self.nodes.values() if p.node.server == server]

    def node_plan(self, node: m.LoadBalancerNode) -> NodePlan:
        return self.nodes[(node.load_balancer, node.subnet)]

    def interfaces_on(self, server: str) -> list[InterfacePlan]:
        return [p for p in self.interfaces.values() if p.interface.server == server]

    def node_mac(self, node: m.LoadBalancerNode) -> str:
        return self.node_macs[(node.load_balancer, node.subnet)]

    @property
    def cards(self) -> list[str]:
        return card_names(self.topology)

    def vni(self, vpc: m.Vpc) -> int:
        """The VNI of a packet into ``vpc`` (no TGW on its way, not inside one subnet)."""
        return vpc.number

    def underlay_ip(self, server: str) -> IPv4Address:
        return IPv4Address(UNDERLAY_PREFIX + str(self.server_index[server]))

    def on_server(self, server: str) -> list[InstancePlan]:
        return [p for p in self.instances.values() if p.instance.server == server]

    def nat_gateways_on(self, server: str) -> list[NatPlan]:
        return [p for p in self.nat_gateways.values() if p.nat.server == server]

    def nat_route_table_id(self, vpc: str, table: str) -> int:
        """The id of ``table`` as a NAT gateway's translated packets read it (only a route to
        the internet gateway goes on)."""
        return NAT_ROUTE_TABLE_FLAG | self.route_table_id[(vpc, table)]


def card_names(topology: m.Topology) -> list[str]:
    """Every Nitro card: one per server, and the internet's when the design has one."""
    return [s.name for s in topology.servers] + ([m.INTERNET_CARD] if topology.has_internet else [])


def _mac(zone: int, kind: int) -> str:
    """A locally administered MAC from a zone number (unique) and a kind byte."""
    return f"02:00:{zone >> 16 & 0xFF:02x}:{zone >> 8 & 0xFF:02x}:{zone & 0xFF:02x}:{kind:02x}"


def card_port_name(instance: str, zone: int) -> str:
    """The instance's port on its Nitro card: its own name where Linux takes it as an
    interface name (so flow dumps read 'in_port=web1'), else a short derived one."""
    if INTERFACE_NAME.match(instance) and instance not in RESERVED_INTERFACE_NAMES:
        return instance
    return f"i{zone}"


def _ids(keys) -> dict:
    return {key: number for number, key in enumerate(keys, start=1)}


SERVICE_HOST_PORTS = 60000  # an AWS service's host: this + its slot (Region, then service)


def internet_host_ports(topology: m.Topology) -> dict[m.InternetHost, int]:
    """Each internet host's port on the internet's card: the design's in file order from 1; an
    AWS service's host (S3, DynamoDB of a Region) at its own slot, so that one made at run time
    (a gateway endpoint's first) moves no other port."""
    regions = [region.name for region in topology.regions]
    ports = {}
    for number, host in enumerate((h for h in topology.internet_hosts if h.network is None), start=1):
        ports[host] = number
    for host in (h for h in topology.internet_hosts if h.network is not None):
        service, region = host.name.split("-", 1)
        slot = regions.index(region) * len(m.GATEWAY_SERVICES) + m.GATEWAY_SERVICES.index(service)
        ports[host] = SERVICE_HOST_PORTS + slot
    return ports
