"""NACL stages: ordered allow/deny rules become priorities; the '*' rule is the floor.

The source subnet's egress and the entry attachment subnet's ingress run on the sending card;
the exit attachment subnet's egress and the destination subnet's ingress on the receiving
card, which reads what it needs of the path from the VNI (``TunnelKey``).
"""

from __future__ import annotations

from vpclab.layout.actions import DROP, Goto, SetReg
from vpclab.layout.pipeline import Reg, TunnelKey, flow

from .matches import ADDRESS_FIELD, ETH_TYPE, network_match, prefix, traffic_matches

SKIP_PRIORITY = 65000  # "this check does not apply" flows sit above every rule
RULE_BASE = 1000  # rule N gets RULE_BASE + 32767 - N: lower numbers win
STAR_PRIORITY = 10


def nacl_flows(stage: str, key: dict, rules, address_field: str, allow_actions) -> list:
    """Flows of one NACL direction, applied to packets matching ``key``.

    ``address_field`` is the address the rules' CIDRs test (nw_dst for egress, nw_src for
    ingress; the IPv6 twin for an IPv6 rule); ``allow_actions`` continue the pipeline; a deny
    or the '*' rule (one per family) drops. A ``key`` that names a family takes its rules only.
    """
    flows = []
    side = address_field[-3:]
    for rule in rules:
        version = rule.cidr.version
        if "eth_type" in key and key["eth_type"] != ETH_TYPE[version]:
            continue
        actions = allow_actions if rule.allow else (DROP,)
        if rule.number is None:
            match = {**key, "eth_type": ETH_TYPE[version]}
            flows.append(flow(stage, STAR_PRIORITY, match, actions, rule.origin))
            continue
        for fragment in traffic_matches(rule.traffic, version):
            match = {**key, **fragment, ADDRESS_FIELD[(version, side)]: prefix(rule.cidr)}
            flows.append(flow(stage, RULE_BASE + 32767 - rule.number, match, actions, rule.origin))
    return flows


def within_subnet(stage: str, key: dict, subnet, actions: tuple) -> list:
    """Traffic to an address of ``subnet`` itself stays inside it: no NACL applies."""
    return [
        flow(stage, SKIP_PRIORITY, {**key, **network_match("dst", block)}, actions, subnet.origin)
        for block in subnet_blocks(subnet)
    ]


def subnet_blocks(subnet) -> tuple:
    """A subnet's CIDR and its IPv6 /64, those it has."""
    return tuple(block for block in (subnet.cidr, subnet.ipv6_cidr) if block is not None)


def source_subnet_egress(plan, vpc) -> list:
    """nacl_src_egress: inside the subnet no NACL; else the subnet's egress rules."""
    flows = []
    for subnet in vpc.subnets:
        key = {Reg.SRC_SUBNET: plan.subnet_id[(vpc.name, subnet.name)]}
        flows += within_subnet(
            "nacl_src_egress",
            key,
            subnet,
            (SetReg(Reg.DST_VPC, vpc.number), SetReg(Reg.SAME_SUBNET, 1), Goto("deliver_lookup")),
        )
        flows += nacl_flows(
            "nacl_src_egress", key, vpc.nacl(subnet.nacl).egress, "nw_dst", (Goto("vpc_route"),)
        )
    return flows


def attachment_subnets(topology, tgws=None, vpcs=None) -> list[tuple[str, str]]:
    """(vpc, subnet) for every subnet that serves an attachment, once each: of the TGWs named
    in ``tgws`` (or any), in the VPCs named in ``vpcs`` (or any)."""
    return list(
        dict.fromkeys(
            (attachment.vpc, name)
            for tgw in topology.transit_gateways
            if tgws is None or tgw.name in tgws
            for attachment in tgw.attachments
            if vpcs is None or attachment.vpc in vpcs
            for name in attachment.subnets
        )
    )


def tgw_entry_ingress(plan, vpc, subnet) -> list:
    """nacl_tgw_entry: the source attachment subnet's ingress rules test the source address."""
    key = {Reg.ATTACHMENT_SUBNET: plan.subnet_id[(vpc.name, subnet.name)]}
    return nacl_flows("nacl_tgw_entry", key, vpc.nacl(subnet.nacl).ingress, "nw_src", (Goto("tgw_route"),))


def tgw_exit_egress(plan, vpc, subnet) -> list:
    """nacl_tgw_exit (receiving): for a packet a TGW delivered through ``subnet``, no NACL at
    all if the destination is in that subnet itself, else the subnet's egress rules."""
    key = {"tun_id": TunnelKey.match(EXIT_SUBNET=plan.attachment_subnet_id[(vpc.name, subnet.name)])}
    skip = within_subnet("nacl_tgw_exit", key, subnet, (Goto("sg_ingress_remote"),))
    allow = (Goto("nacl_dst_ingress"),)
    return skip + nacl_flows("nacl_tgw_exit", key, vpc.nacl(subnet.nacl).egress, "nw_dst", allow)


def no_transit_or_same_subnet(plan) -> list:
    """Receiving: a packet no TGW delivered goes on to the destination NACL, which a packet
    from the destination's own subnet skips."""
    return [
        flow(
            "nacl_tgw_exit",
            SKIP_PRIORITY,
            {"tun_id": TunnelKey.match(EXIT_SUBNET=0)},
            (Goto("nacl_dst_ingress"),),
            "vpclab:no-transit-gateway",
        ),
        flow(
            "nacl_dst_ingress",
            SKIP_PRIORITY,
            {"tun_id": TunnelKey.match(SAME_SUBNET=1)},
            (Goto("sg_ingress_remote"),),
            "vpclab:no-destination-nacl",
        ),
    ]


def destination_subnet_ingress(plan, vpc) -> list:
    """nacl_dst_ingress (receiving): the destination subnet's ingress rules."""
    flows = []
    for subnet in vpc.subnets:
        for block in subnet_blocks(subnet):
            key = {
                "tun_id": TunnelKey.match(SAME_SUBNET=0),
                Reg.DST_VPC: vpc.number,
                **network_match("dst", block),
            }
            flows += nacl_flows(
                "nacl_dst_ingress", key, vpc.nacl(subnet.nacl).ingress, "nw_src", (Goto("sg_ingress_remote"),)
            )
    return flows
