"""vpclab's model: the numbers and addresses AWS and vpclab fix."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Union

IPAddress = Union[IPv4Address, IPv6Address]  # either family, where a design may use both
IPNetwork = Union[IPv4Network, IPv6Network]


def within(network: IPNetwork, other: IPNetwork) -> bool:
    """Is ``network`` inside ``other`` (False across families)?"""
    return network.version == other.version and network.subnet_of(other)  # type: ignore[arg-type]


PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = (8, 0), (0, 0)  # (type, code): what trace and verify ping with
ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY = (128, 0), (129, 0)  # ping -6
ICMP_PROTOCOLS = (1, 58)  # the protocols whose rules take icmp_type and icmp_code
EPHEMERAL_PORTS = (32768, 60999)  # Linux's ip_local_port_range, used by vpclab's instances
RESERVED_HOST_OFFSETS = (0, 1, 2, 3)  # network, VPC router, DNS, reserved; plus the broadcast
# what the VXLAN VNI has room for (it carries a VPC's number and the TGW attachment subnet a
# packet arrived through; see vpclab.layout.pipeline.TunnelKey)
MAX_VPCS = 4095
MAX_ATTACHMENT_SUBNETS = 2047
# an instance's conntrack zone (which also makes its MACs and its address towards the
# metadata service) is below SERVICE_ZONES; NAT gateways take theirs from SERVICE_ZONES up (by
# their numbers), PrivateLink's interfaces and NLB nodes from LINK_ZONES up: instances and NAT
# gateways that come and go at run time move none of the others
SERVICE_ZONES = 0x4000
LINK_ZONES = 0x5000
MAX_INSTANCE_ZONE = SERVICE_ZONES - 1
MAX_NAT_NUMBER = LINK_ZONES - SERVICE_ZONES - 1
MAX_CARD_PORT = 65279  # OpenFlow's highest port number (OFPP_MAX)
# a card's own ports (vpclab.layout: the metadata service's, the tunnel's, the MSS clamp's)
RESERVED_CARD_PORTS = (99, 100, 101)
# the emulated internet uses only the documentation ranges (RFC 5737), never a real address
DOCUMENTATION_RANGES = (
    IPv4Network("192.0.2.0/24"),
    IPv4Network("198.51.100.0/24"),
    IPv4Network("203.0.113.0/24"),
)
IPV6_DOCUMENTATION_RANGE = IPv6Network("2001:db8::/32")  # RFC 3849: every IPv6 CIDR of a design
VPC_IPV6_PREFIX = 56  # what AWS gives a VPC
SUBNET_IPV6_PREFIX = 64  # and each of its subnets
METADATA_ADDRESS = IPv4Address("169.254.169.254")  # the IMDS, answered by each Nitro card
RESOLVER_ADDRESS = IPv4Address("169.254.169.253")  # the Route 53 Resolver, on each Nitro card
METADATA_ADDRESS_V6 = IPv6Address("fd00:ec2::254")  # the same two over IPv6 (Nitro instances)
RESOLVER_ADDRESS_V6 = IPv6Address("fd00:ec2::253")
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
