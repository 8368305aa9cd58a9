"""vpclab's model: routes."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import Optional


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
    egress_only_internet_gateway (IPv6), nat_gateway, instance (an appliance's network
    interface), gateway_endpoint, vpn_gateway or blackhole.
    A route whose destination is a prefix list is one Route per CIDR of the list, each
    naming it (``prefix_list``): on an equal prefix a CIDR route wins over it (AWS).

    A failover route (vpclab's extension) lists several ``failover`` paths in order of
    preference; its target is the ``active`` one, which the controller's route manager moves
    by ``health_check``."""

    origin: str
    destination: IPv4Network | IPv6Network
    local: bool = False
    peering: Optional[str] = None
    transit_gateway: Optional[str] = None
    blackhole: bool = False
    internet_gateway: Optional[str] = None
    nat_gateway: Optional[str] = None
    instance: Optional[str] = None
    gateway_endpoint: Optional[str] = None
    vpn_gateway: Optional[str] = None  # the VPC's virtual private gateway
    egress_only_internet_gateway: Optional[str] = None  # IPv6 destinations only
    propagated: bool = False  # put there by the VGW's route propagation, not the file
    prefix_list: Optional[str] = None
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
        elif self.gateway_endpoint:
            target = f"gateway endpoint {self.gateway_endpoint}"
        elif self.vpn_gateway:
            target = f"virtual private gateway {self.vpn_gateway}"
        elif self.egress_only_internet_gateway:
            target = f"egress-only internet gateway {self.egress_only_internet_gateway}"
        else:
            target = "blackhole"
        if self.failover:
            target += f" (failover path {self.active + 1} of {len(self.failover)})"
        listed = f" (prefix list {self.prefix_list})" if self.prefix_list else ""
        propagated = " (propagated)" if self.propagated else ""
        return f"{self.destination}{listed} -> {target}{propagated}"


@dataclass(frozen=True)
class RouteTable:
    origin: str
    name: str
    main: bool
    routes: tuple[Route, ...]  # the local routes first, then the YAML routes
    propagating_vgws: tuple[str, ...] = ()  # VGWs whose routes it takes (route propagation)
