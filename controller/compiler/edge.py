"""The instance edge of a Nitro card: classify, ARP, stateful SGs and the tunnel."""

from __future__ import annotations

from vpclab.intent import model as m

from ..actions import DROP, ArpReply, Ct, CtClear, Goto, Output, SetField, SetReg
from ..pipeline import CT_EST, CT_INV, CT_NEW, CT_REL, CT_TRK, ROUTER_MAC, TUNNEL_PORT, Reg, flow
from .matches import ETH_ARP, ETH_IP, host, prefix, traffic_matches
from .view import reaches_over_referencing_tgw, reaches_without_tgw, sg_rules_in_order

TABLE_MISS = "vpclab:table-miss"
ESTABLISHED, RELATED, INVALID = 65000, 64999, 64990
FIRST_RULE = 60000  # SG rules count down from here, in the order the oracle names them
NO_RULE = 1


def classify(plan, server: str) -> list:
    """Source check for local instances, VNI check for tunnel arrivals; start conntrack."""
    flows = [flow("classify", 0, {}, (DROP,), TABLE_MISS)]
    for local in plan.on_server(server):
        instance = local.instance
        vpc = plan.topology.vpc(instance.vpc)
        subnet = vpc.subnet(instance.subnet)
        port = {"in_port": local.port}
        flows.append(flow("classify", 100, {**port, "eth_type": ETH_ARP}, (Goto("arp"),), instance.origin))
        registers = (
            SetReg(Reg.SRC_SUBNET, plan.subnet_id[(vpc.name, subnet.name)]),
            SetReg(Reg.ROUTE_TABLE, plan.route_table_id[(vpc.name, subnet.route_table)]),
            SetReg(Reg.AZ, plan.az_id[subnet.az]),
            SetReg(Reg.SRC_VPC, vpc.number),
        )
        flows.append(
            flow(
                "classify",
                100,
                {**port, "eth_type": ETH_IP, "eth_src": local.mac, "nw_src": host(instance.ip)},
                registers + (Ct(False, local.zone, "sg_egress"),),
                instance.origin,
            )
        )
        flows.append(flow("classify", 10, port, (DROP,), instance.origin))  # spoofed
        flows.append(
            flow(
                "classify",
                100,
                {
                    "in_port": TUNNEL_PORT,
                    "tun_id": plan.vni(vpc),
                    "eth_type": ETH_IP,
                    "nw_dst": host(instance.ip),
                },
                (SetReg(Reg.DST_VPC, vpc.number), Ct(False, local.zone, "sg_ingress")),
                instance.origin,
            )
        )
    return flows


def arp(plan, server: str) -> list:
    """ARP is answered by the card: for the subnet's router and for the subnet's instances."""
    flows = []
    for local in plan.on_server(server):
        vpc = plan.topology.vpc(local.instance.vpc)
        subnet = vpc.subnet(local.instance.subnet)
        answers = [(subnet.router_address, ROUTER_MAC, subnet.origin)]
        answers += [
            (other.ip, plan.instances[other.name].mac, other.origin)
            for other in vpc.instances
            if other.subnet == subnet.name and other.name != local.instance.name
        ]
        for address, mac, origin in answers:
            match = {"in_port": local.port, "eth_type": ETH_ARP, "arp_op": 1, "arp_tpa": str(address)}
            flows.append(flow("arp", 100, match, (ArpReply(mac, str(address)),), origin))
    return flows


def _stateful(
    stage: str, key: dict, zone: int, rules, address_field: str, members, passed: tuple, miss_origin: str
) -> list:
    """An SG stage: tracked replies pass, new flows need a rule and are committed, else drop.

    Every rule has its own priority, so two rules that allow the same packet never overlap
    at one priority (which OVS would resolve arbitrarily): the first rule names the verdict.
    """

    def state(bits: int) -> dict:
        return {"ct_state": (bits | CT_TRK, bits | CT_TRK)}

    flows = [
        flow(stage, ESTABLISHED, {**key, **state(CT_EST)}, passed, miss_origin),
        flow(stage, RELATED, {**key, **state(CT_REL)}, passed, miss_origin),
        flow(stage, INVALID, {**key, **state(CT_INV)}, (DROP,), miss_origin),
        flow(stage, NO_RULE, key, (DROP,), miss_origin),
    ]
    commit = (Ct(True, zone),) + passed
    for n, rule in enumerate(rules):
        peers = (
            [prefix(rule.cidr)]
            if rule.cidr is not None
            else [host(member.ip) for member in members(rule.security_group)]
        )
        for peer in peers:
            for fragment in traffic_matches(rule.traffic):
                match = {**key, **fragment, **state(CT_NEW), address_field: peer}
                flows.append(flow(stage, FIRST_RULE - n, match, commit, rule.origin))
    return flows


def security_groups(plan, server: str) -> list:
    """sg_egress and sg_ingress of the instances on ``server``, each in its own ct zone.

    An SG reference stands for its members' addresses, but only for members reached without a
    transit gateway, or (inbound only) over one with SG referencing support (AWS 2024).
    """
    topology = plan.topology
    flows = []
    for local in plan.on_server(server):
        instance = local.instance
        miss = topology.security_groups_origin(instance)

        def egress_members(ref: m.SGRef, sender=instance):
            return [
                member
                for member in topology.members(ref)
                if member != sender and reaches_without_tgw(topology, sender, member)
            ]

        def ingress_members(ref: m.SGRef, receiver=instance):
            return [
                member
                for member in topology.members(ref)
                if member != receiver
                and (
                    reaches_without_tgw(topology, member, receiver)
                    or reaches_over_referencing_tgw(topology, member, receiver)
                )
            ]

        flows += _stateful(
            "sg_egress",
            {"in_port": local.port},
            local.zone,
            sg_rules_in_order(topology, instance, "egress"),
            "nw_dst",
            egress_members,
            (Goto("nacl_src_egress"),),
            miss,
        )
        key = {
            Reg.DST_VPC: topology.vpc(instance.vpc).number,
            "eth_type": ETH_IP,
            "nw_dst": host(instance.ip),
        }
        flows += _stateful(
            "sg_ingress",
            key,
            local.zone,
            sg_rules_in_order(topology, instance, "ingress"),
            "nw_src",
            ingress_members,
            (Output(local.port),),
            miss,
        )
    return flows


def tunnels(plan, server: str) -> list:
    """tunnel_out: VXLAN (VNI of the destination VPC) to the destination's server, or local."""
    flows = []
    for vpc in plan.topology.vpcs:
        for instance in vpc.instances:
            match = {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(instance.ip)}
            actions: tuple
            if instance.server == server:
                zone = plan.instances[instance.name].zone
                actions = (CtClear(), Ct(False, zone, "sg_ingress"))
            else:
                actions = (
                    SetField("tun_id", plan.vni(vpc)),
                    SetField("tun_dst", str(plan.underlay_ip(instance.server))),
                    Output(TUNNEL_PORT),
                )
            flows.append(flow("tunnel_out", 100, match, actions, instance.origin))
    return flows
