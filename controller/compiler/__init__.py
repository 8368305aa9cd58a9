"""The pure compiler: the VPC model -> the flows of each Nitro card (plain data, no switch).

Flows are built per *unit*: one stage for one object (a VPC, a peering, a TGW, an attachment
subnet) or one card's own stages (its instances' edge). A card holds the units in its scope
(``scope``), so a card without an instance of a VPC carries nothing of it. ``recompile``
rebuilds only the units whose objects a change touched and says, per card, which units to diff.
Each flow carries the path of the YAML object that produced it (its cookie maps back to it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from controller.compiler.differ import FlowDiff, diff
from vpclab.errors import Defect
from vpclab.intent import model as m
from vpclab.layout.hybrid import path_origins
from vpclab.layout.pipeline import Flow
from vpclab.layout.plan import Plan, card_names, cookie_of

from . import (
    edge,
    health,
    hybrid,
    internet,
    load_balancers,
    middlebox,
    nacl,
    nat,
    privatelink,
    routes,
    sampling,
    security_groups,
    tgw_hybrid,
)
from .scope import Scope, card_scope

# unit kind -> the builders of its stages, each called as build(plan, *objects)
VPC_STAGES: dict[str, Callable] = {
    "nacl_src_egress": nacl.source_subnet_egress,
    "vpc_route": routes.vpc_routes,
    "deliver_lookup": lambda plan, vpc: routes.deliveries(plan, vpc) + health.reply_flows(plan, vpc),
    "nacl_dst_ingress": nacl.destination_subnet_ingress,
}
TGW_STAGES: dict[str, Callable] = {
    "tgw_entry": routes.tgw_entries,
    "tgw_mtu": routes.tgw_mtu,
    "tgw_route": routes.tgw_route_tables,
    "tgw_exit": routes.tgw_exits,
}
ATTACHMENT_SUBNET_STAGES: dict[str, Callable] = {
    "nacl_tgw_entry": nacl.tgw_entry_ingress,
    "nacl_tgw_exit": nacl.tgw_exit_egress,
}
# a card's own stages: placement decides them (``edge``) or the SGs of its instances do
CARD_EDGE: dict[str, Callable] = {
    "classify": lambda plan, server: (
        edge.classify(plan, server) + routes.senders_back_from_clamp(plan, server)
    ),
    "arp": edge.arp,
    "nd": edge.nd,
    "tunnel_out": edge.tunnels,
    "igw": internet.gateway,
    "metadata": edge.metadata,
    "fabric_sender": edge.fabric_senders,
}
INTERNET_UNIT = ("internet", m.INTERNET_CARD)  # the whole of the internet's card
NAT_GATEWAYS = "nat_gateways"  # a card's tunnels to NAT gateways, and the gateways it carries
MIDDLEBOXES = "middleboxes"  # a card's tunnels to appliances routes name, and those it carries
PRIVATELINK = "privatelink"  # the endpoint interfaces and NLB nodes a card carries
CARD_SGS: dict[str, Callable] = {
    "sg_egress_remote": security_groups.egress_remote,
    "sg_stateful": security_groups.security_groups,
    "sg_ingress_remote": security_groups.ingress_remote,
}
EVERY_CARD = ("global", "no_transit_or_same_subnet")

Unit = tuple  # (builder label, object key...): e.g. ("vpc_route", "prod"), ("classify", "srv1")


class AmbiguousFlows(Defect):
    """Two flows with one (stage, priority, match): a switch would keep only one of them."""


def _vpc_units(vpcs) -> list[Unit]:
    return [(stage, vpc) for vpc in sorted(vpcs) for stage in VPC_STAGES]


def card_units(topology: m.Topology, server: str, scope: Scope) -> list[Unit]:
    """The units a card holds, in a fixed order."""
    if server == m.INTERNET_CARD:
        return [INTERNET_UNIT] + (_site_units(topology, server, scope) if scope.transit_gateways else [])
    units: list[Unit] = [EVERY_CARD]
    units += [
        (stage, vpc) for vpc in sorted(scope.sources) for stage in ("nacl_src_egress", "nacl_dst_ingress")
    ]
    units += [("vpc_route", vpc) for vpc in sorted(scope.routed)]
    units += [("deliver_lookup", vpc) for vpc in sorted(scope.delivered)]
    units += [("peering", name) for name in sorted(scope.peerings)]
    units += [(stage, name) for name in sorted(scope.transit_gateways) for stage in TGW_STAGES]
    # sending: the entry subnets of the TGWs it routes to; receiving: its own VPCs' exit subnets
    units += [
        ("nacl_tgw_entry", *key) for key in nacl.attachment_subnets(topology, tgws=scope.transit_gateways)
    ]
    units += [("nacl_tgw_exit", *key) for key in nacl.attachment_subnets(topology, vpcs=scope.sources)]
    units += [(stage, server) for stage in (*CARD_EDGE, *CARD_SGS)]
    units += [(NAT_GATEWAYS, server), (MIDDLEBOXES, server), (PRIVATELINK, server)]
    return units


def _site_units(topology: m.Topology, server: str, scope: Scope) -> list[Unit]:
    """The internet's card, where sites' packets enter TGWs: those TGWs, the route tables of
    the VPCs they reach (a hairpin), their delivery, and its tunnels to the cards."""
    units: list[Unit] = [("vpc_route", vpc) for vpc in sorted(scope.routed)]
    units += [("deliver_lookup", vpc) for vpc in sorted(scope.delivered)]
    units += [(stage, name) for name in sorted(scope.transit_gateways) for stage in TGW_STAGES]
    units += [
        ("nacl_tgw_entry", *key) for key in nacl.attachment_subnets(topology, tgws=scope.transit_gateways)
    ]
    return units + [("tunnel_out", server), (NAT_GATEWAYS, server), (MIDDLEBOXES, server)]


def build_unit(plan: Plan, scopes: dict[str, Scope], unit: Unit) -> list[Flow]:
    """The flows of ``unit``; with flow logs, those that decide a packet's fate sample it."""
    flows = _unit_flows(plan, scopes, unit)
    return sampling.sampled(flows) if plan.topology.flow_logs else flows


def _unit_flows(plan: Plan, scopes: dict[str, Scope], unit: Unit) -> list[Flow]:
    topology, stage = plan.topology, unit[0]
    if unit == EVERY_CARD:
        return nacl.no_transit_or_same_subnet(plan) + routes.from_mss_clamp(plan)
    if unit == INTERNET_UNIT:
        return internet.internet_card(plan, unit[1]) + hybrid.edge_card(plan)
    if stage in VPC_STAGES:
        return VPC_STAGES[stage](plan, topology.vpc(unit[1]))
    if stage == "peering":
        return routes.peerings(plan, topology.peering(unit[1]))
    if stage in TGW_STAGES:
        return TGW_STAGES[stage](plan, topology.transit_gateway(unit[1]))
    if stage in ATTACHMENT_SUBNET_STAGES:
        vpc = topology.vpc(unit[1])
        return ATTACHMENT_SUBNET_STAGES[stage](plan, vpc, vpc.subnet(unit[2]))
    if stage == "tunnel_out":
        scope = scopes[unit[1]]
        return edge.tunnels(plan, unit[1], scope.delivered) + tgw_hybrid.tunnels_to_sites(
            plan, unit[1], scope.transit_gateways
        )
    if stage == NAT_GATEWAYS:
        return nat.card_flows(plan, unit[1], scopes[unit[1]].routed)
    if stage == MIDDLEBOXES:
        return middlebox.card_flows(plan, unit[1], scopes[unit[1]].routed)
    if stage == PRIVATELINK:
        return privatelink.card_flows(plan, unit[1]) + load_balancers.card_flows(plan, unit[1])
    if stage in CARD_EDGE:
        return CARD_EDGE[stage](plan, unit[1])
    return CARD_SGS[stage](plan, unit[1])


class CardFlows(Mapping):
    """server -> its flows, assembled from the units in its scope when asked."""

    def __init__(self, compiled: Compiled):
        self.compiled = compiled
        self.cache: dict[str, list[Flow]] = {}

    def __getitem__(self, server: str) -> list[Flow]:
        if server not in self.cache:
            units = self.compiled.units
            self.cache[server] = [f for unit in self.compiled.cards[server] for f in units[unit]]
        return self.cache[server]

    def __iter__(self):
        return iter(self.compiled.cards)

    def __len__(self) -> int:
        return len(self.compiled.cards)


@dataclass
class Compiled:
    plan: Plan
    units: dict  # Unit -> list[Flow]
    cards: dict  # server -> list[Unit] in its scope
    scopes: dict  # server -> Scope
    flows: CardFlows = field(init=False)

    def __post_init__(self):
        self.flows = CardFlows(self)

    def origin(self, cookie: int) -> str:
        return self.origins.get(cookie, "?")

    @cached_property
    def origins(self) -> dict:
        """cookie -> YAML path, for every flow on some card."""
        used = {unit for units in self.cards.values() for unit in units}
        return {cookie_of(f.origin): f.origin for unit in used for f in self.units[unit]}


def check_unambiguous(server: str, flows) -> None:
    """No two flows of one card share a (stage, priority, match)."""
    seen: dict[tuple, Flow] = {}
    for each in flows:
        key = (each.stage, each.priority, each.match)
        if key in seen:
            raise AmbiguousFlows(
                f"{server}: {seen[key].origin} and {each.origin} compile to "
                f"the same {each.stage} flow (priority {each.priority})"
            )
        seen[key] = each


def scopes_of(topology: m.Topology) -> dict[str, Scope]:
    return {name: card_scope(topology, name) for name in card_names(topology)}


def _assemble(plan: Plan, scopes: dict, reuse: Mapping, fresh: Callable[[Unit], bool]) -> Compiled:
    """Cards and units of ``plan``'s topology, reusing ``reuse[unit]`` unless ``fresh(unit)``."""
    topology = plan.topology
    cards = {name: card_units(topology, name, scope) for name, scope in scopes.items()}
    units: dict = {}
    for unit in (unit for listed in cards.values() for unit in listed):
        if unit not in units:
            units[unit] = build_unit(plan, scopes, unit) if fresh(unit) or unit not in reuse else reuse[unit]
    return Compiled(plan, units, cards, scopes)


def compile_card(topology: m.Topology, server: str) -> list[Flow]:
    """The flows of one card (as ``compile_topology(topology).flows[server]``), building only
    the units in its scope."""
    plan, scopes = Plan(topology), {server: card_scope(topology, server)}
    return [
        f for unit in card_units(topology, server, scopes[server]) for f in build_unit(plan, scopes, unit)
    ]


def compile_topology(topology: m.Topology) -> Compiled:
    compiled = _assemble(Plan(topology), scopes_of(topology), {}, lambda unit: True)
    for server in compiled.cards:
        check_unambiguous(server, compiled.flows[server])
    if topology.flow_logs:
        sampling.check_points([*compiled.origins.values(), *path_origins(topology)])
    return compiled


@dataclass
class Recompiled:
    compiled: Compiled
    changed: dict  # server -> FlowDiff: what to send to that card (cards left out: nothing)
    rebuilt: int  # units built again (the rest were reused)


def recompile(previous: Compiled, topology: m.Topology) -> Recompiled:
    """The new flows after a change, rebuilding only the units whose inputs changed.

    A unit's diff is computed once, however many cards hold it. Flows of two units of one
    stage never share a match (each matches its own object's id), so a rebuilt unit is checked
    for ambiguity on its own.
    """
    plan = Plan(topology)
    if not _same_frame(previous.plan, plan):
        compiled = compile_topology(topology)
        everything = {s: diff(previous.flows.get(s, []), compiled.flows[s]) for s in compiled.cards}
        return Recompiled(compiled, everything, len(compiled.units))
    scopes = scopes_of(topology)
    moved = {server for server, scope in scopes.items() if previous.scopes[server] != scope}
    changed_inputs = _dirty(previous.plan.topology, topology)

    def dirty(unit: Unit) -> bool:
        return changed_inputs(unit) or (
            unit[0] in ("tunnel_out", NAT_GATEWAYS, MIDDLEBOXES) and unit[1] in moved
        )

    compiled = _assemble(plan, scopes, previous.units, dirty)
    rebuilt = {unit for unit in compiled.units if dirty(unit) or unit not in previous.units}
    for unit in rebuilt:
        check_unambiguous(f"{unit}", compiled.units[unit])
    unit_diffs: dict = {}
    changed = {}
    for server, units in compiled.cards.items():
        before, after = set(previous.cards[server]), set(units)
        entering, leaving, rebuilt_here = after - before, before - after, after & before & rebuilt
        if not (entering or leaving or rebuilt_here):
            continue
        delta = FlowDiff([], [])
        for unit in (u for u in previous.cards[server] if u in leaving):
            delta.delete += previous.units[unit]
        for unit in units:
            if unit in entering:
                delta.add += compiled.units[unit]
            elif unit in rebuilt_here:
                if unit not in unit_diffs:
                    unit_diffs[unit] = diff(previous.units[unit], compiled.units[unit])
                delta.add += unit_diffs[unit].add
                delta.delete += unit_diffs[unit].delete
        changed[server] = delta
    return Recompiled(compiled, changed, len(rebuilt))


def _same_frame(old: Plan, new: Plan) -> bool:
    """Do both designs number and place everything alike (only rules, routes and links differ)?"""
    a, b = old.topology, new.topology
    frame = (
        "subnet_id",
        "route_table_id",
        "az_id",
        "peering_id",
        "tgw_id",
        "gateway_endpoint_id",
        "tgw_table_id",
        "attachment_id",
        "attachment_subnet_id",
    )
    return (
        all(getattr(old, name) == getattr(new, name) for name in frame)
        and old.instances == new.instances
        and a.servers == b.servers
        and a.internet_hosts == b.internet_hosts
        and a.has_internet == b.has_internet
        and a.hybrid == b.hybrid  # a tunnel or link up or down: every card again (few flows)
        and a.nat_gateways == b.nat_gateways
        and a.endpoint_interfaces == b.endpoint_interfaces
        and [b.nodes for b in a.load_balancers] == [b.nodes for b in b.load_balancers]
        and bool(a.flow_logs) == bool(b.flow_logs)
        and [(v.name, v.number, v.cidrs, v.subnets, v.instances) for v in a.vpcs]
        == [(v.name, v.number, v.cidrs, v.subnets, v.instances) for v in b.vpcs]
    )


def _holders(topology: m.Topology) -> list[m.Instance | m.EndpointInterface]:
    """What has security groups: the instances and the endpoints' interfaces."""
    return [*topology.instances, *topology.endpoint_interfaces]


def _named(topology: m.Topology, server: str) -> tuple:
    """The SGs named by the rules of ``server``'s instances, per direction."""
    on_card = [i for i in _holders(topology) if i.server == server]
    return tuple(
        frozenset().union(*(security_groups.named_by(topology, i, d) for i in on_card))
        for d in ("egress", "ingress")
    )


def _groups(topology: m.Topology) -> set:
    return {group for vpc in topology.vpcs for group in vpc.security_groups}


def _refers_across(topology: m.Topology) -> bool:
    """Does some SG rule name a security group of another VPC?"""
    return any(
        rule.security_group is not None and rule.security_group.vpc != vpc.name
        for vpc in topology.vpcs
        for group in vpc.security_groups
        for rule in group.ingress + group.egress
    )


def _dirty(old: m.Topology, new: m.Topology) -> Callable[[Unit], bool]:
    """Which units must be rebuilt: those whose objects (or the objects they read) changed."""
    vpcs = {v.name for v in new.vpcs if v != old.vpc(v.name)}
    peerings_changed = old.peerings != new.peerings
    tgws = {t.name for t in new.transit_gateways if t not in old.transit_gateways}
    routing_changed = (
        peerings_changed
        or bool(tgws)
        or any(v.route_tables != old.vpc(v.name).route_tables for v in new.vpcs)
    )
    gateways_changed = [v.internet_gateway for v in old.vpcs] != [v.internet_gateway for v in new.vpcs]
    changed_groups = {group.ref for group in _groups(old) ^ _groups(new)}
    # a card's SG stages read the rules of its own instances' groups (and members, placement)
    carriers = {i.server for i in _holders(new) if changed_groups & set(i.security_groups)}
    # the address sets of a card change only if the groups its instances' rules name do
    renamed = {server for server in carriers if _named(old, server) != _named(new, server)}
    # a reference to another VPC's SG matches only where routes reach
    reach_moved = routing_changed and (_refers_across(old) or _refers_across(new))
    boxes = middlebox.route_targets(old) + middlebox.route_targets(new)
    box_vpcs, box_servers = {box.vpc for box in boxes}, {box.server for box in boxes}
    links_changed = (old.endpoint_services, old.vpc_endpoints, old.network_load_balancers) != (
        new.endpoint_services,
        new.vpc_endpoints,
        new.network_load_balancers,
    )
    balancer_nacls = any(b.vpc in vpcs for b in new.network_load_balancers)  # nlb_back, nlb_reply

    def dirty(unit: Unit) -> bool:
        stage = unit[0]
        if unit == INTERNET_UNIT:
            return gateways_changed
        if stage in VPC_STAGES:
            return unit[1] in vpcs or (stage == "vpc_route" and peerings_changed)
        if stage == "peering":
            return peerings_changed
        if stage in TGW_STAGES:
            return unit[1] in tgws
        if stage in ATTACHMENT_SUBNET_STAGES:
            return unit[1] in vpcs or bool(tgws)
        if stage == NAT_GATEWAYS:  # the NACLs and route tables of the gateways' VPCs
            return any(nat.vpc in vpcs for nat in new.nat_gateways)
        if stage == MIDDLEBOXES:  # routes name them; their VPC's NACLs and attachments; their SGs
            return bool(box_vpcs & vpcs) or bool(box_vpcs and tgws) or unit[1] in carriers & box_servers
        if stage == PRIVATELINK:  # the services, the interfaces' SGs (and their bits)
            return links_changed or balancer_nacls or unit[1] in carriers
        if stage == "sg_stateful":  # an NLB's targets hand its connections to nlb_mark
            return unit[1] in carriers or links_changed
        if stage in CARD_SGS:  # the direct NLBs' nodes name themselves (sg_ingress_remote)
            return unit[1] in renamed or reach_moved or links_changed
        return False  # classify, arp, tunnel_out: placement only (a changed scope is diffed)

    return dirty
