"""Routes to an instance (AWS's instance or ENI route target): an appliance in the path.

A route ``instance: fw1`` sends the packet, still addressed to its destination, to fw1's MAC:
``middlebox_tunnel`` on the sending card (VXLAN to fw1's card, or a local hand-over) writes
in the TunnelKey whether the packet comes from fw1's own subnet (no NACL) or, after a TGW,
through which attachment subnet. On fw1's card, ``classify`` knows it by the MAC (fw1's own
address stays an ordinary arrival, one priority higher), then ``middlebox_nacl_exit`` (the
attachment subnet's NACL egress), ``middlebox_nacl_ingress`` (fw1's subnet's NACL ingress) and
``middlebox_sg`` (fw1's SG, in its conntrack zone) hand it to fw1. What fw1 sends back out
(``source_dest_check: false`` lets it) is an ordinary sender's packet: it is on the
connection just tracked in fw1's zone, and fw1's subnet's NACL egress and route table route
it on. A route to an instance that keeps its source/dest check drops on the sending card.
"""

from __future__ import annotations

from vpclab.intent import model as m
from vpclab.layout.actions import Ct, CtClear, Goto, Output, SetField, SetReg
from vpclab.layout.pipeline import TUNNEL_PORT, Reg, TunnelKey, flow

from .edge import tunnel_key
from .internet import inbound
from .matches import ETH_TYPE, address_match
from .nacl import SKIP_PRIORITY, attachment_subnets, nacl_flows
from .security_groups import group_bits, stateful
from .view import sg_rules_in_order

OWN_ADDRESS, PUBLIC, ARRIVING = 120, 115, 110  # above the classify flows of the card's instances (100)
FROM_ITS_SUBNET, NOT_FROM_A_TGW, AFTER_A_TGW = 120, 110, 100


def route_targets(topology: m.Topology) -> list[m.Instance]:
    """The instances some route sends traffic to, once each, in the topology's order."""
    named = {route.instance for vpc in topology.vpcs for table in vpc.route_tables for route in table.routes}
    return [instance for instance in topology.instances if instance.name in named]


def route_actions(plan, box: m.Instance) -> tuple:
    """vpc_route, for a route to ``box``: to its MAC, through middlebox_tunnel."""
    local = plan.instances[box.name]
    return (
        SetReg(Reg.DST_VPC, plan.topology.vpc(box.vpc).number),
        SetReg(Reg.NEXT_HOP, local.zone),
        SetField("eth_dst", local.mac),
        Goto("middlebox_tunnel"),
    )


def card_flows(plan, server: str, routed) -> list:
    """The tunnels to the appliances of the VPCs a packet from this card is routed in, and the
    arrival stages of the appliances this card carries."""
    flows = []
    for box in route_targets(plan.topology):
        if box.vpc in routed and not box.source_dest_check:
            flows += _tunnel(plan, server, box)
        if box.server == server and not box.source_dest_check:
            flows += _arrival(plan, server, box)
    return flows


def _tunnel(plan, server: str, box: m.Instance) -> list:
    local = plan.instances[box.name]
    vpc = plan.topology.vpc(box.vpc)
    home = plan.subnet_id[(vpc.name, box.subnet)]
    if box.server == server:
        deliver = tunnel_key(plan, vpc) + (CtClear(), Ct(False, local.zone, "middlebox_nacl_exit"))
    else:
        deliver = tunnel_key(plan, vpc) + (
            SetField("tun_dst", str(plan.underlay_ip(box.server))),
            Output(TUNNEL_PORT),
        )
    flows = []
    for eth_type in families(box):  # ct (a local hand-over) needs the IP family
        key = {Reg.NEXT_HOP: local.zone, "eth_type": eth_type}
        no_exit = SetReg(Reg.EXIT_SUBNET, 0)
        flows += [
            flow(
                "middlebox_tunnel",
                FROM_ITS_SUBNET,
                {**key, Reg.SRC_SUBNET: home},
                (no_exit, SetReg(Reg.SAME_SUBNET, 1)) + deliver,
                box.origin,
            ),
            flow(
                "middlebox_tunnel",
                NOT_FROM_A_TGW,
                {**key, Reg.HAIRPINS: 0},
                (no_exit, SetReg(Reg.SAME_SUBNET, 0)) + deliver,
                box.origin,
            ),
        ]
        for _, name in attachment_subnets(plan.topology, vpcs={vpc.name}):
            if name == box.subnet:
                continue
            exit_id = plan.attachment_subnet_id[(vpc.name, name)]
            flows.append(
                flow(
                    "middlebox_tunnel",
                    AFTER_A_TGW,
                    {**key, Reg.SRC_SUBNET: plan.subnet_id[(vpc.name, name)]},
                    (SetReg(Reg.EXIT_SUBNET, exit_id), SetReg(Reg.SAME_SUBNET, 0)) + deliver,
                    box.origin,
                )
            )
    return flows


def families(box: m.Instance) -> tuple[int, ...]:
    """The eth_types an appliance forwards: those of the addresses it has."""
    return tuple(ETH_TYPE[address.version] for address in box.addresses)


def _arrival(plan, server: str, box: m.Instance) -> list:
    """classify by the MAC; the NACLs on the way into the appliance's subnet; its SG."""
    topology = plan.topology
    local = plan.instances[box.name]
    vpc = topology.vpc(box.vpc)
    tunnel = {"in_port": TUNNEL_PORT, "tun_id": TunnelKey.match(VPC=plan.vni(vpc))}
    arrived = SetReg(Reg.DST_VPC, vpc.number)
    flows = []
    for address in box.addresses:
        flows += [
            flow(
                "classify",
                OWN_ADDRESS,
                {**tunnel, **address_match("dst", address)},
                (arrived, Ct(False, local.zone, "nacl_tgw_exit")),
                box.origin,
            ),
            flow(
                "classify",
                ARRIVING,
                {**tunnel, "eth_type": ETH_TYPE[address.version], "eth_dst": local.mac},
                (arrived, Ct(False, local.zone, "middlebox_nacl_exit")),
                box.origin,
            ),
        ]
    if box.public_ip:  # from the internet to its public IP: the IGW's translation, not a route
        flows.append(inbound(plan, vpc, box, local.nat_zone, PUBLIC, eth_dst=local.mac))
    for eth_type in families(box):
        flows += _stages(plan, server, box, {"eth_dst": local.mac, "eth_type": eth_type})
    return flows


def _stages(plan, server: str, box: m.Instance, mine: dict) -> list:
    """The NACLs on the way into the appliance's subnet, and its SG, for one family."""
    topology = plan.topology
    local = plan.instances[box.name]
    vpc = topology.vpc(box.vpc)
    subnet = vpc.subnet(box.subnet)
    flows = []
    to_ingress = (Goto("middlebox_nacl_ingress"),)
    flows.append(
        flow(
            "middlebox_nacl_exit",
            SKIP_PRIORITY,
            {**mine, "tun_id": TunnelKey.match(EXIT_SUBNET=0)},
            to_ingress,
            box.origin,
        )
    )
    for _, name in attachment_subnets(topology, vpcs={vpc.name}):
        if name == box.subnet:
            continue
        exit_key = {
            **mine,
            "tun_id": TunnelKey.match(EXIT_SUBNET=plan.attachment_subnet_id[(vpc.name, name)]),
        }
        exit_nacl = vpc.nacl(vpc.subnet(name).nacl)
        flows += nacl_flows("middlebox_nacl_exit", exit_key, exit_nacl.egress, "nw_dst", to_ingress)
    to_sg = (Goto("middlebox_sg"),)
    flows.append(
        flow(
            "middlebox_nacl_ingress",
            SKIP_PRIORITY,
            {**mine, "tun_id": TunnelKey.match(SAME_SUBNET=1)},
            to_sg,
            box.origin,
        )
    )
    entering = {**mine, "tun_id": TunnelKey.match(SAME_SUBNET=0)}
    flows += nacl_flows("middlebox_nacl_ingress", entering, vpc.nacl(subnet.nacl).ingress, "nw_src", to_sg)
    flows += stateful(
        "middlebox_sg",
        mine,
        local.zone,
        sg_rules_in_order(topology, box, "ingress"),
        "nw_src",
        group_bits(plan, server, "ingress"),
        (Output(local.port),),
        topology.security_groups_origin(box),
    )
    return flows
