"""PrivateLink on the cards: interface endpoints and the NLB nodes they hand connections to.

An endpoint's interface lives on the card of its service's NLB node in its AZ, so one card
holds a connection's every translation. Arriving for the interface's address, a packet meets
the interface's subnet NACLs and SGs (its own conntrack zone), then a listener. In the
interface's translation zone a new connection gets a target: a flow hash (Nicira multipath
over addresses, protocol and ports) picks one of the NLB's healthy targets, and conntrack
translates the destination to it (sticky: later packets keep that translation, whatever the
health checks decide). In a second zone the source becomes the node's own address, with a
port from the interface's block, so the target's reply finds the interface by its port
(and overlapping consumer addresses never share a translation). The node then sends the
packet as its subnet's own sender. Replies come back in through the same zones; a packet for
the node's address that belongs to no connection is dropped (``endpoint-one-way``), and the
replies to the health checks (from ports below the blocks) go to the controller.
"""

from __future__ import annotations

from vpclab.layout.actions import (
    CONTROLLER,
    DROP,
    Ct,
    FlowHash,
    Goto,
    Nat,
    Output,
    Resubmit,
    SetField,
    SetReg,
)
from vpclab.layout.pipeline import CT_EST, CT_INV, CT_NEW, CT_SNAT, CT_TRK, SENDER, Reg, flow

from .edge import arrival
from .matches import ETH_IP, host, port_blocks
from .security_groups import group_bits, stateful
from .view import sg_rules_in_order

KNOWN, OPENING, REFUSED = 100, 90, 1
HEALTH_PORTS = (512, 1023)  # the source ports of the health checks, below every interface's block
NEW = {"ct_state": (CT_NEW | CT_TRK, CT_NEW | CT_TRK | CT_INV)}
ESTABLISHED = {"ct_state": (CT_EST | CT_TRK, CT_EST | CT_TRK | CT_INV)}
TRANSLATED = {"ct_state": (CT_SNAT | CT_TRK, CT_SNAT | CT_TRK | CT_INV)}


def card_flows(plan, server: str) -> list:
    """The endpoint interfaces and NLB nodes this card carries."""
    flows: list = []
    inbound = group_bits(plan, server, "ingress")
    for local in plan.interfaces_on(server):
        flows += _interface(plan, local, inbound)
    for node in nodes_on(plan.topology, server):
        flows += _node(plan, node)
    return flows


def nodes_on(topology, server: str) -> list:
    return [
        node for s in topology.endpoint_services for node in s.load_balancer.nodes if node.server == server
    ]


def as_sender(plan, vpc, subnet) -> tuple:
    """The registers of a packet an interface of ``subnet`` sends (classify's, for an instance)."""
    return (
        SetReg(Reg.SRC_SUBNET, plan.subnet_id[(vpc.name, subnet.name)]),
        SetReg(Reg.ROUTE_TABLE, plan.route_table_id[(vpc.name, subnet.route_table)]),
        SetReg(Reg.AZ, plan.az_id[subnet.az]),
        SetReg(Reg.SRC_VPC, vpc.number),
        SetReg(Reg.HAIRPINS, 0),
        SetReg(Reg.SAME_SUBNET, 0),  # what the packet crossed before the NLB is not its path now
        SetReg(Reg.EXIT_SUBNET, 0),
    )


def _interface(plan, local, inbound) -> list:
    topology = plan.topology
    interface = local.interface
    consumer = topology.vpc(interface.vpc)
    service = topology.endpoint_service(interface.service)
    balancer = service.load_balancer
    provider = topology.vpc(service.vpc)
    node = interface.node
    node_sends = (
        (SetField(SENDER, 0), SetField("eth_src", plan.node_mac(node)))  # the node sends it
        + as_sender(plan, provider, provider.subnet(node.subnet))
        + (Resubmit("nacl_src_egress"),)
    )
    mine: dict = {Reg.NEXT_HOP: local.number}
    ip = {**mine, "eth_type": ETH_IP}  # conntrack needs an IP match
    address = {Reg.DST_VPC: consumer.number, "eth_type": ETH_IP, "nw_dst": host(interface.ip)}
    origin = interface.origin
    flows = [
        arrival(plan, consumer, interface.ip, Ct(False, local.zone, "nacl_tgw_exit"), origin),
        *stateful(
            "sg_ingress",
            address,
            local.zone,
            sg_rules_in_order(topology, interface, "ingress"),
            "nw_src",
            inbound,
            (Goto("endpoint_dnat"),),
            topology.security_groups_origin(interface),
        ),
        flow("endpoint_dnat", REFUSED, address, (DROP,), balancer.origin),  # no-listener
        flow(
            "endpoint_pick",
            KNOWN,
            {**ip, **ESTABLISHED},
            (Ct(False, local.snat_zone, "nlb_snat", Nat()),),
            origin,
        ),
        flow(
            "endpoint_pick",
            OPENING,
            {**mine, **NEW},
            (FlowHash(Reg.NLB_PICK, len(balancer.healthy)), Goto("nlb_target")),
            balancer.origin,
        ),
        flow("endpoint_pick", REFUSED, mine, (DROP,), origin),
        flow(
            "nlb_snat",
            KNOWN,
            {**mine, **TRANSLATED, "eth_type": ETH_IP, "nw_src": host(node.ip)},
            node_sends,
            node.origin,
        ),
        flow(  # no recirculation: the stages on match the destination, never the source
            "nlb_snat",
            OPENING,
            {**ip, **NEW},
            (Ct(True, local.snat_zone, None, Nat("src", str(node.ip), interface.nlb_ports)),) + node_sends,
            node.origin,
        ),
        flow("nlb_snat", REFUSED, mine, (DROP,), node.origin),
        flow(
            "nlb_return",
            KNOWN,
            {**ip, **ESTABLISHED},
            (Ct(False, local.dnat_zone, "endpoint_return", Nat()),),
            origin,
        ),
        flow("nlb_return", REFUSED, mine, (DROP,), balancer.origin),  # endpoint-one-way
        flow(  # the SG zone sees the reply (no recirculation: nothing on reads its state)
            "endpoint_return",
            KNOWN,
            {**ip, **ESTABLISHED},
            as_sender(plan, consumer, consumer.subnet(interface.subnet))
            + (Ct(False, local.zone), Resubmit("nacl_src_egress")),
            origin,
        ),
        flow("endpoint_return", REFUSED, mine, (DROP,), origin),
    ]
    for listener in balancer.listeners:
        listening = {**address, "ip_proto": listener.protocol, "tp_dst": listener.port}
        flows.append(
            flow(
                "endpoint_dnat",
                KNOWN,
                listening,
                (SetReg(Reg.NEXT_HOP, local.number), Ct(False, local.dnat_zone, "endpoint_pick", Nat())),
                listener.origin,
            )
        )
        for pick, name in enumerate(balancer.healthy):
            target = topology.instance(name)
            port = listener.target_port
            flows.append(
                flow(
                    "nlb_target",
                    KNOWN,
                    {
                        **mine,
                        Reg.NLB_PICK: pick,
                        "eth_type": ETH_IP,
                        "ip_proto": listener.protocol,
                        "tp_dst": listener.port,
                    },
                    (
                        Ct(True, local.dnat_zone, None, Nat("dst", str(target.ip), (port, port))),
                        Ct(False, local.snat_zone, "nlb_snat", Nat()),
                    ),
                    f"{balancer.origin}.targets[{balancer.targets.index(name)}]",
                )
            )
    return flows


def _node(plan, node) -> list:
    """An NLB node's address: its interfaces' replies by port block, the health checks'
    answers to the controller; nothing else."""
    topology = plan.topology
    balancer = topology.load_balancer(node.load_balancer)
    provider = topology.vpc(balancer.vpc)
    address = {Reg.DST_VPC: provider.number, "eth_type": ETH_IP, "nw_dst": host(node.ip)}
    flows = [
        arrival(plan, provider, node.ip, Goto("nacl_tgw_exit"), node.origin),
        flow("sg_ingress", REFUSED, address, (DROP,), balancer.origin),  # endpoint-one-way
    ]
    protocols = sorted({listener.protocol for listener in balancer.listeners})
    for local in plan.interfaces.values():
        if local.interface.node != node:
            continue
        for protocol in protocols:
            for block in port_blocks(*local.interface.nlb_ports):
                flows.append(
                    flow(
                        "sg_ingress",
                        KNOWN,
                        {**address, "ip_proto": protocol, "tp_dst": block},
                        (SetReg(Reg.NEXT_HOP, local.number), Ct(False, local.snat_zone, "nlb_return", Nat())),
                        local.interface.origin,
                    )
                )
    if node == balancer.nodes[0]:  # the node that runs the health checks
        for block in port_blocks(*HEALTH_PORTS):
            flows.append(
                flow(
                    "sg_ingress",
                    KNOWN,
                    {**address, "ip_proto": 6, "tp_dst": block},
                    (Output(CONTROLLER),),
                    balancer.health_check.origin,
                )
            )
    return flows
