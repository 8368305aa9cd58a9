"""Routing stages: VPC route tables, peering, Transit Gateway and the destination lookup."""
from __future__ import annotations

from ..pipeline import MAX_HAIRPINS, ROUTER_MAC, flow
from vpclab.oracle.routing import associated_table, attachment_subnet, tgw_routes
from .matches import ETH_IP, prefix

MISS_PRIORITY = 1
ROUTED = (("dec_ttl",), ("set", "eth_src", ROUTER_MAC))  # the VPC router forwards it


def vpc_routes(plan) -> list:
    """vpc_route: longest prefix wins (priority grows with the prefix length).

    A packet a TGW handed to a VPC for an address outside it (reg9 > 0) is routed again by
    the attachment subnet's table, but may not leave over a peering (not transitive) nor
    cross a TGW a fourth time; those variants sit one step above their route.
    """
    flows = []
    for vpc in plan.topology.vpcs:
        for table in vpc.route_tables:
            key = {"reg1": plan.route_table_id[(vpc.name, table.name)]}
            flows.append(flow("vpc_route", MISS_PRIORITY, key, (("drop",),), table.origin))
            for route in table.routes:
                match = {**key, "eth_type": ETH_IP, "nw_dst": prefix(route.destination)}
                priority = 100 + 2 * route.destination.prefixlen
                flows.append(flow("vpc_route", priority, match, _route_actions(plan, vpc, route),
                                  route.origin))
                for hairpins in range(1, MAX_HAIRPINS + 2):
                    refused = route.peering or (route.transit_gateway and hairpins > MAX_HAIRPINS)
                    if refused:
                        flows.append(flow("vpc_route", priority + 1, {**match, "reg9": hairpins},
                                          (("drop",),), route.origin))
    return flows


def _route_actions(plan, vpc, route) -> tuple:
    if route.local:
        return ROUTED + (("set", "reg6", vpc.number), ("set", "reg7", 1), ("goto", "deliver_lookup"))
    if route.peering:
        peering = plan.topology.peering(route.peering)
        if peering.deleted:
            return (("drop",),)
        return ROUTED + (("set", "reg4", plan.peering_id[peering.name]), ("goto", "peering"))
    if route.transit_gateway:
        return ROUTED + (("set", "reg4", plan.tgw_id[route.transit_gateway]), ("goto", "tgw_entry"))
    return (("drop",),)  # blackhole


def peerings(plan) -> list:
    """peering: delivered only if the destination is inside the peer VPC (not transitive)."""
    flows = []
    for peering in plan.topology.peerings:
        if peering.deleted:
            continue
        key = {"reg4": plan.peering_id[peering.name]}
        flows.append(flow("peering", MISS_PRIORITY, key, (("drop",),), peering.origin))
        for side in (peering.requester, peering.accepter):
            mine, peer = plan.topology.vpc(side), plan.topology.vpc(peering.other(side))
            for src_cidr in mine.cidrs:
                for dst_cidr in peer.cidrs:
                    match = {**key, "reg3": mine.number, "eth_type": ETH_IP,
                             "nw_src": prefix(src_cidr), "nw_dst": prefix(dst_cidr)}
                    flows.append(flow("peering", 100, match,
                                      (("set", "reg6", peer.number), ("set", "reg7", 1),
                                       ("goto", "deliver_lookup")), peering.origin))
    return flows


def tgw_entries(plan) -> list:
    """tgw_entry: the attachment must have a subnet in the sender's AZ and a route table."""
    flows = []
    for tgw in plan.topology.transit_gateways:
        for attachment in tgw.attachments:
            vpc = plan.topology.vpc(attachment.vpc)
            table = associated_table(tgw, attachment.name)
            for az, az_id in plan.az_id.items():
                match = {"reg4": plan.tgw_id[tgw.name], "reg3": vpc.number, "reg2": az_id}
                entry = attachment_subnet(plan.topology, attachment, az)
                if entry is None or table is None:
                    flows.append(flow("tgw_entry", 100, match, (("drop",),), attachment.origin))
                    continue
                chosen = (("set", "reg8", plan.subnet_id[(vpc.name, entry.name)]),
                          ("set", "reg5", plan.tgw_table_id[(tgw.name, table.name)]))
                flows.append(flow("tgw_entry", 100, match, chosen + (("goto", "nacl_tgw_entry"),),
                                  attachment.origin))
                for hairpins in range(1, MAX_HAIRPINS + 1):  # only the first entry sees a NACL
                    flows.append(flow("tgw_entry", 101, {**match, "reg9": hairpins},
                                      chosen + (("goto", "tgw_route"),), attachment.origin))
    return flows


def tgw_route_tables(plan) -> list:
    """tgw_route: longest prefix; on an equal prefix the static route sits one step higher."""
    flows = []
    for tgw in plan.topology.transit_gateways:
        for table in tgw.route_tables:
            key = {"reg5": plan.tgw_table_id[(tgw.name, table.name)]}
            flows.append(flow("tgw_route", MISS_PRIORITY, key, (("drop",),), table.origin))
            for route in tgw_routes(plan.topology, tgw, table):
                priority = 100 + 2 * route.destination.prefixlen + (0 if route.propagated else 1)
                match = {**key, "eth_type": ETH_IP, "nw_dst": prefix(route.destination)}
                actions = ((("drop",),) if route.blackhole else
                           (("set", "reg4", plan.attachment_id[route.attachment]),
                            ("goto", "tgw_exit")))
                flows.append(flow("tgw_route", priority, match, actions, route.origin))
    return flows


def tgw_exits(plan) -> list:
    """tgw_exit: into the next attachment's VPC, through its subnet in the sender's AZ.

    For an address outside that VPC the attachment subnet's route table decides (a hairpin,
    as through an inspection VPC): the registers now describe that subnet, and the packet
    goes back to vpc_route.
    """
    flows = []
    for tgw in plan.topology.transit_gateways:
        for attachment in tgw.attachments:
            vpc = plan.topology.vpc(attachment.vpc)
            for az, az_id in plan.az_id.items():
                exit_subnet = (attachment_subnet(plan.topology, attachment, az)
                               or vpc.subnet(attachment.subnets[0]))
                onward = (("set", "reg0", plan.subnet_id[(vpc.name, exit_subnet.name)]),
                          ("set", "reg1", plan.route_table_id[(vpc.name, exit_subnet.route_table)]),
                          ("set", "reg2", plan.az_id[exit_subnet.az]), ("set", "reg3", vpc.number))
                for hairpins in range(MAX_HAIRPINS + 1):
                    match = {"reg4": plan.attachment_id[attachment.name], "reg2": az_id,
                             "reg9": hairpins, "eth_type": ETH_IP}
                    flows.append(flow("tgw_exit", 50, match, onward + (
                        ("set", "reg9", hairpins + 1), ("resubmit", "vpc_route")), attachment.origin))
                for cidr in vpc.cidrs:
                    match = {"reg4": plan.attachment_id[attachment.name], "reg2": az_id,
                             "eth_type": ETH_IP, "nw_dst": prefix(cidr)}
                    actions = (("set", "reg6", vpc.number),
                               ("set", "reg8", plan.subnet_id[(vpc.name, exit_subnet.name)]),
                               ("goto", "nacl_tgw_exit"))
                    flows.append(flow("tgw_exit", 100, match, actions, attachment.origin))
    return flows


def deliveries(plan) -> list:
    """deliver_lookup: the instance that owns the address in the destination VPC."""
    flows = []
    for vpc in plan.topology.vpcs:
        flows.append(flow("deliver_lookup", MISS_PRIORITY, {"reg6": vpc.number}, (("drop",),),
                          vpc.origin))
        for instance in vpc.instances:
            match = {"reg6": vpc.number, "eth_type": ETH_IP, "nw_dst": prefix_of(instance.ip)}
            actions = (("set", "eth_dst", plan.instances[instance.name].mac),
                       ("goto", "nacl_dst_ingress"))
            flows.append(flow("deliver_lookup", 100, match, actions, instance.origin))
    return flows


def prefix_of(address) -> tuple[str, str]:
    return (str(address), "255.255.255.255")
