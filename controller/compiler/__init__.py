"""The pure compiler: the VPC model -> the flows of each Nitro card (plain data, no switch).

``compile_topology`` returns, per server, the flows its card must hold, each carrying the
path of the YAML object that produced it (its cookie maps back to that path).
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.intent import model as m

from ..pipeline import Flow
from ..plan import Plan, cookie_of
from . import edge, nacl, routes

# Stages that are the same on every card (they depend on the VPC design, not on placement).
SHARED = (
    nacl.source_subnet_egress,
    routes.vpc_routes,
    routes.peerings,
    routes.tgw_entries,
    nacl.tgw_entry_ingress,
    routes.tgw_route_tables,
    routes.tgw_exits,
    nacl.tgw_exit_egress,
    routes.deliveries,
    nacl.destination_subnet_ingress,
)
# Stages that depend on which instances live on the card.
PER_SERVER = (edge.classify, edge.arp, edge.security_groups, edge.tunnels)


@dataclass
class Compiled:
    plan: Plan
    flows: dict  # server name -> list[Flow]
    origins: dict  # cookie -> YAML path

    def origin(self, cookie: int) -> str:
        return self.origins.get(cookie, "?")


class AmbiguousFlows(AssertionError):
    """Two flows with one (stage, priority, match): a switch would keep only one of them."""


def compile_server(plan: Plan, server: str, shared: list[Flow] | None = None) -> list[Flow]:
    """The flows of one server's Nitro card; no two share a (stage, priority, match)."""
    if shared is None:
        shared = [f for build in SHARED for f in build(plan)]
    flows = shared + [f for build in PER_SERVER for f in build(plan, server)]
    seen: dict[tuple, Flow] = {}
    for each in flows:
        key = (each.stage, each.priority, each.match)
        if key in seen:
            raise AmbiguousFlows(
                f"{server}: {seen[key].origin} and {each.origin} compile to "
                f"the same {each.stage} flow (priority {each.priority})"
            )
        seen[key] = each
    return flows


def compile_topology(topology: m.Topology) -> Compiled:
    plan = Plan(topology)
    shared = [f for build in SHARED for f in build(plan)]
    flows = {server.name: compile_server(plan, server.name, shared) for server in topology.servers}
    origins = {cookie_of(f.origin): f.origin for server_flows in flows.values() for f in server_flows}
    return Compiled(plan, flows, origins)
