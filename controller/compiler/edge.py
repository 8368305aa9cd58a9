"""The instance edge of a Nitro card: classify, ARP, stateful SGs and the tunnel."""
from __future__ import annotations

from vpclab.intent import model as m
from ..pipeline import CT_EST, CT_INV, CT_NEW, CT_REL, CT_TRK, ROUTER_MAC, TUNNEL_PORT, flow
from vpclab.oracle.policy import instance_rules, sg_decider_origin
from vpclab.oracle.trace import routed_destination
from .matches import ETH_ARP, ETH_IP, prefix, traffic_matches
from .routes import prefix_of

TABLE_MISS = "vpclab:table-miss"


def classify(plan, server: str) -> list:
    """Source check for local instances, VNI check for tunnel arrivals; start conntrack."""
    flows = [flow("classify", 0, {}, (("drop",),), TABLE_MISS)]
    for local in plan.on_server(server):
        instance = local.instance
        vpc = plan.topology.vpc(instance.vpc)
        subnet = vpc.subnet(instance.subnet)
        port = {"in_port": local.port}
        flows.append(flow("classify", 100, {**port, "eth_type": ETH_ARP}, (("goto", "arp"),),
                          instance.origin))
        registers = (("set", "reg0", plan.subnet_id[(vpc.name, subnet.name)]),
                     ("set", "reg1", plan.route_table_id[(vpc.name, subnet.route_table)]),
                     ("set", "reg2", plan.az_id[subnet.az]), ("set", "reg3", vpc.number))
        flows.append(flow("classify", 100, {**port, "eth_type": ETH_IP, "eth_src": local.mac,
                                            "nw_src": prefix_of(instance.ip)},
                          registers + (("ct", False, local.zone, "sg_egress"),), instance.origin))
        flows.append(flow("classify", 10, port, (("drop",),), instance.origin))  # spoofed
        flows.append(flow("classify", 100, {"in_port": TUNNEL_PORT, "tun_id": plan.vni(vpc),
                                            "eth_type": ETH_IP, "nw_dst": prefix_of(instance.ip)},
                          (("set", "reg6", vpc.number), ("ct", False, local.zone, "sg_ingress")),
                          instance.origin))
    return flows


def arp(plan, server: str) -> list:
    """ARP is answered by the card: for the subnet's router and for the subnet's instances."""
    flows = []
    for local in plan.on_server(server):
        vpc = plan.topology.vpc(local.instance.vpc)
        subnet = vpc.subnet(local.instance.subnet)
        answers = [(subnet.router_address, ROUTER_MAC, subnet.origin)]
        answers += [(other.ip, plan.instances[other.name].mac, other.origin)
                    for other in vpc.instances
                    if other.subnet == subnet.name and other.name != local.instance.name]
        for address, mac, origin in answers:
            match = {"in_port": local.port, "eth_type": ETH_ARP, "arp_op": 1,
                     "arp_tpa": str(address)}
            flows.append(flow("arp", 100, match, (("arp_reply", mac, str(address)),), origin))
    return flows


def _stateful(plan, stage: str, key: dict, zone: int, rules, address_field: str,
              members, passed: tuple, miss_origin: str) -> list:
    """An SG stage: tracked replies pass, new flows need a rule and are committed, else drop."""
    state = lambda bits: {"ct_state": (bits | CT_TRK, bits | CT_TRK)}  # noqa: E731
    flows = [flow(stage, 200, {**key, **state(CT_EST)}, passed, miss_origin),
             flow(stage, 200, {**key, **state(CT_REL)}, passed, miss_origin),
             flow(stage, 190, {**key, **state(CT_INV)}, (("drop",),), miss_origin),
             flow(stage, 1, key, (("drop",),), miss_origin)]
    commit = (("ct", True, zone, None),) + passed
    for rule in rules:
        peers = ([prefix(rule.cidr)] if rule.cidr is not None
                 else [prefix_of(member.ip) for member in members(rule.security_group)])
        for peer in peers:
            for fragment in traffic_matches(rule.traffic):
                match = {**key, **fragment, **state(CT_NEW), address_field: peer}
                flows.append(flow(stage, 100, match, commit, rule.origin))
    return flows


def security_groups(plan, server: str) -> list:
    """sg_egress and sg_ingress of the instances on ``server``, each in its own ct zone."""
    topology = plan.topology
    flows = []
    for local in plan.on_server(server):
        instance = local.instance
        miss = sg_decider_origin(topology, instance)

        def egress_members(ref: m.SGRef, sender=instance):
            return [member for member in topology.members(ref) if member != sender
                    and _reaches_without_tgw(topology, sender, member)]

        def ingress_members(ref: m.SGRef, receiver=instance):
            return [member for member in topology.members(ref) if member != receiver
                    and _reaches_without_tgw(topology, member, receiver)]

        flows += _stateful(plan, "sg_egress", {"in_port": local.port}, local.zone,
                           instance_rules(topology, instance, "egress"), "nw_dst",
                           egress_members, (("goto", "nacl_src_egress"),), miss)
        key = {"reg6": topology.vpc(instance.vpc).number, "eth_type": ETH_IP,
               "nw_dst": prefix_of(instance.ip)}
        flows += _stateful(plan, "sg_ingress", key, local.zone,
                           instance_rules(topology, instance, "ingress"), "nw_src",
                           ingress_members, (("output", local.port),), miss)
    return flows


def _reaches_without_tgw(topology, sender: m.Instance, receiver: m.Instance) -> bool:
    target, kind = routed_destination(topology, sender, receiver.ip)
    return target == receiver and kind != "tgw"


def tunnels(plan, server: str) -> list:
    """tunnel_out: VXLAN (VNI of the destination VPC) to the destination's server, or local."""
    flows = []
    for vpc in plan.topology.vpcs:
        for instance in vpc.instances:
            match = {"reg6": vpc.number, "eth_type": ETH_IP, "nw_dst": prefix_of(instance.ip)}
            if instance.server == server:
                zone = plan.instances[instance.name].zone
                actions = (("ct_clear",), ("ct", False, zone, "sg_ingress"))
            else:
                actions = (("set", "tun_id", plan.vni(vpc)),
                           ("set", "tun_dst", str(plan.underlay_ip(instance.server))),
                           ("output", TUNNEL_PORT))
            flows.append(flow("tunnel_out", 100, match, actions, instance.origin))
    return flows
