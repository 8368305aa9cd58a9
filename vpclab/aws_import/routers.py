"""On-premises routers' configurations a snapshot may carry beside its describe-* files
(``configs/*``, as Batfish reads them). An AWS snapshot cannot say what a site announces over
BGP nor which addresses it owns; its router's configuration can. vpclab reads of it only what
makes a site: the hostname, the interfaces' addresses, the BGP ASN, the prefixes BGP announces
(``network`` statements, Cisco IOS's ``network A mask M`` or FRR's ``network A/N``), each
neighbour's ASN and the AWS Direct Connect community (7224:7100, 7200, 7300) a route map sets
on what goes to a neighbour. Every other line is left alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Optional

CONFIG_FOLDER = "configs"  # beside aws_configs/, as Batfish's snapshots put them
DX_COMMUNITIES = {"7224:7100": "low", "7224:7200": "medium", "7224:7300": "high"}  # AWS's


@dataclass
class Router:
    file: str
    hostname: str
    addresses: list[IPv4Interface] = field(default_factory=list)
    asn: Optional[int] = None
    networks: list[IPv4Network] = field(default_factory=list)
    neighbors: dict[IPv4Address, int] = field(default_factory=dict)  # address -> remote ASN
    outbound_maps: dict[IPv4Address, str] = field(default_factory=dict)  # neighbour -> route map out
    map_communities: dict[str, str] = field(default_factory=dict)  # route map -> the DX community it sets

    def owns(self, address: IPv4Address) -> bool:
        return any(interface.ip == address for interface in self.addresses)

    def dx_preference(self, neighbor: IPv4Address) -> Optional[str]:
        """The AWS Direct Connect preference (low, medium, high) the router's announcements to
        ``neighbor`` carry as a community, if a route map sets one."""
        community = self.map_communities.get(self.outbound_maps.get(neighbor, ""))
        return DX_COMMUNITIES.get(community or "")


HOSTNAME = re.compile(r"^hostname\s+(\S+)")
ADDRESS = re.compile(r"^\s+ip address\s+(\d+\.\d+\.\d+\.\d+)(?:\s+(\d+\.\d+\.\d+\.\d+)|/(\d+))")
ROUTER_BGP = re.compile(r"^router bgp\s+(\d+)")
NETWORK = re.compile(r"^\s+network\s+(\d+\.\d+\.\d+\.\d+)(?:\s+mask\s+(\d+\.\d+\.\d+\.\d+)|/(\d+))")
NEIGHBOR = re.compile(r"^\s+neighbor\s+(\d+\.\d+\.\d+\.\d+)\s+remote-as\s+(\d+)")
ROUTE_MAP_OUT = re.compile(r"^\s+neighbor\s+(\d+\.\d+\.\d+\.\d+)\s+route-map\s+(\S+)\s+out")
ROUTE_MAP = re.compile(r"^route-map\s+(\S+)")
SET_COMMUNITY = re.compile(r"^\s+set community\s+(.*)")


def read_router(path: str) -> Router:
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    router = Router(path, os.path.splitext(os.path.basename(path))[0])
    route_map = ""
    for line in lines:
        if not line.startswith(" "):
            route_map = ""
        if match := HOSTNAME.match(line):
            router.hostname = match[1]
        elif match := ADDRESS.match(line):
            mask = match[2] or match[3]
            router.addresses.append(IPv4Interface(f"{match[1]}/{mask}"))
        elif match := ROUTER_BGP.match(line):
            router.asn = int(match[1])
        elif match := NETWORK.match(line):
            router.networks.append(IPv4Network(f"{match[1]}/{match[2] or match[3]}", strict=False))
        elif match := NEIGHBOR.match(line):
            router.neighbors[IPv4Address(match[1])] = int(match[2])
        elif match := ROUTE_MAP_OUT.match(line):
            router.outbound_maps[IPv4Address(match[1])] = match[2]
        elif match := ROUTE_MAP.match(line):
            route_map = match[1]
        elif (match := SET_COMMUNITY.match(line)) and route_map:
            found = next((c for c in match[1].split() if c in DX_COMMUNITIES), None)
            if found:
                router.map_communities[route_map] = found
    return router


def read_routers(directory: str) -> list[Router]:
    """The routers of the snapshot at ``directory`` (its top folder, or its aws_configs/)."""
    path = os.path.abspath(directory)
    places = [os.path.join(path, CONFIG_FOLDER)]
    if os.path.basename(path) in ("aws_configs", "aws-configs"):
        places.append(os.path.join(os.path.dirname(path), CONFIG_FOLDER))
    found = []
    for place in places:
        if os.path.isdir(place):
            found += [
                read_router(os.path.join(place, name))
                for name in sorted(os.listdir(place))
                if os.path.isfile(os.path.join(place, name))
            ]
    return [router for router in found if router.asn is not None]
