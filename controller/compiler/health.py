"""Health probes of failover routes: what the route manager injects, and how answers come back.

A probe tests one path of a route, whatever the route's active path is: the controller injects
an ICMP echo on the card of an instance that uses the route's table, with the registers that
card's ``classify`` would set for that subnet, and continues it exactly as ``vpc_route`` would
for that path (the same actions, the goto turned into a resubmit). It leaves from the VPC
router's address of that subnet (its ``.1``), reaches the health check's target through the
path, and the target's answer comes back by the target's own routes; on the target's card,
``deliver_lookup`` hands an echo reply for that address to the controller. So a probe checks
the path and the far end (TGW route tables, peering, the target's NACLs and SG) both ways; it
skips the source subnet's own NACL, which is the same on every path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from vpclab.intent import model as m
from vpclab.layout.actions import CONTROLLER, Action, Goto, Output, Resubmit, SetReg
from vpclab.layout.pipeline import Reg, flow

from .matches import ETH_IP, host
from .routes import route_actions

ICMP, ECHO_REPLY = 1, 0


@dataclass(frozen=True)
class HealthProbe:
    """One failover route's probes: where they start, where they go, one action list a path."""

    vpc: str
    table: str
    destination: str
    route: m.Route
    check: m.HealthCheck
    server: str  # the card they are injected on
    source: IPv4Address  # the VPC router of the probing subnet: answers come back to it
    target: IPv4Address
    paths: tuple[tuple[Action, ...], ...]  # per failover path: registers, then the path's stage

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.vpc, self.table, self.destination)


def health_probes(plan) -> list[HealthProbe]:
    """Every failover route with an instance behind it (a table nobody uses needs no probe)."""
    probes = []
    for vpc in plan.topology.vpcs:
        for table in vpc.route_tables:
            start = probing_subnet(vpc, table) if checked_routes(table) else None
            if start is None:
                continue
            subnet, instance = start
            registers = (
                SetReg(Reg.SRC_SUBNET, plan.subnet_id[(vpc.name, subnet.name)]),
                SetReg(Reg.ROUTE_TABLE, plan.route_table_id[(vpc.name, table.name)]),
                SetReg(Reg.AZ, plan.az_id[subnet.az]),
                SetReg(Reg.SRC_VPC, vpc.number),
            )
            for route in checked_routes(table):
                target = plan.topology.health_target(route)
                if route.health_check is None or target is None:
                    continue
                paths = tuple(
                    registers + _resubmitted(route_actions(plan, vpc, _through(route, path)))
                    for path in route.failover
                )
                probes.append(
                    HealthProbe(
                        vpc.name,
                        table.name,
                        str(route.destination),
                        route,
                        route.health_check,
                        instance.server,
                        probe_source(subnet),
                        target,
                        paths,
                    )
                )
    return probes


def checked_routes(table: m.RouteTable) -> list[m.Route]:
    """The failover routes of ``table`` (each has a health check)."""
    return [route for route in table.routes if route.failover and route.health_check]


def probe_source(subnet: m.Subnet) -> IPv4Address:
    """The subnet's VPC router (its first address after the network's)."""
    return subnet.router_address


def probing_subnet(vpc: m.Vpc, table: m.RouteTable):
    """(subnet, instance): the first subnet using ``table`` that has an instance, or None."""
    for subnet in vpc.subnets:
        if subnet.route_table != table.name:
            continue
        instance = next((i for i in vpc.instances if i.subnet == subnet.name), None)
        if instance is not None:
            return subnet, instance
    return None


def reply_flows(plan, vpc: m.Vpc) -> list:
    """deliver_lookup: an echo reply to a probing subnet's router goes to the controller (a
    subnet uses one table, so each table probes from its own router)."""
    flows = []
    for table in vpc.route_tables:
        checked = checked_routes(table)
        start = probing_subnet(vpc, table) if checked else None
        if start is None:
            continue
        match = {
            Reg.DST_VPC: vpc.number,
            "eth_type": ETH_IP,
            "nw_dst": host(probe_source(start[0])),
            "ip_proto": ICMP,
            "icmpv4_type": ECHO_REPLY,
        }
        check = checked[0].health_check
        assert check is not None  # checked_routes keeps the routes that have one
        flows.append(flow("deliver_lookup", 100, match, (Output(CONTROLLER),), check.origin))
    return flows


def _through(route: m.Route, path: m.RoutePath) -> m.Route:
    """The route as if ``path`` were its target."""
    return replace(
        route,
        peering=path.name if path.kind == "peering" else None,
        transit_gateway=path.name if path.kind == "transit_gateway" else None,
    )


def _resubmitted(actions: tuple) -> tuple:
    return tuple(Resubmit(a.stage) if isinstance(a, Goto) else a for a in actions)
