"""NLBs reached directly (``network_load_balancers``): the node's card, and its targets' cards.

The node's card: a packet for the node's address meets its subnet's NACLs, then a listener
(``endpoint_dnat``); in the node's zone a new connection gets a target by flow hash over the
node's pool (its AZ's healthy targets, or all with cross-zone load balancing) and conntrack
translates the destination to it. The source stays the client's (AWS's client IP
preservation), so the node sends the packet on naming itself (``SENDER``: its MAC is the inner
source), as its subnet's own sender (``nlb_send``). The target's card commits such a
connection again with the node's number as ct_mark (``nlb_mark``); the target's replies, known
by that mark, go back to the node (``nlb_reply``: its subnet's NACL egress if the node is in
another subnet), not by route, as AWS's Hyperplane returns them. At the node (``nlb_back``,
by its MAC) the node's subnet's NACL ingress, then ct nat in its zone puts its own address
and listener port back as the source (``nlb_unnat``), and it sends the reply to the client.
"""

from __future__ import annotations

from vpclab.layout.actions import (
    CONTROLLER,
    DROP,
    Ct,
    CtClear,
    FlowHash,
    Goto,
    Nat,
    Output,
    Resubmit,
    SetField,
    SetReg,
)
from vpclab.layout.pipeline import SENDER, TUNNEL_PORT, Reg, TunnelKey, flow

from .edge import arrival
from .matches import ETH_IP, host, prefix
from .nacl import SKIP_PRIORITY, nacl_flows
from .privatelink import ESTABLISHED, KNOWN, NEW, OPENING, REFUSED, as_sender
from .target_checks import target_checks

HEALTH = 110  # a health check's answer: above the listeners
LOOPBACK = 110  # the client picked as its own target: above the picks
MARKED_REPLY = 65010  # sg_egress: above its tracked-packet flows
BACK = 130  # classify: a reply for the node's MAC, above every arrival by address (an appliance's: 120)


def card_flows(plan, server: str) -> list:
    """The direct NLBs' nodes this card carries, and the marks and replies of its targets."""
    flows: list = []
    for local in plan.nodes_on(server):
        flows += _node(plan, local)
    subnets: set = set()  # (VPC, subnet) of its targets: their replies' way back, once each
    for local in plan.on_server(server):
        instance = local.instance
        balancers = plan.topology.balancers_targeting(instance.name)
        if balancers:
            receiving = _receiving(plan, instance)
            flows.append(flow("nlb_mark", REFUSED, receiving, (Output(local.port),), instance.origin))
            subnets.add((instance.vpc, instance.subnet))
        for balancer in balancers:
            flows += _target(plan, local, balancer)
    for vpc_name, subnet_name in sorted(subnets):
        flows += _replies(plan, server, vpc_name, subnet_name)
    return flows


def _receiving(plan, instance) -> dict:
    vpc = plan.topology.vpc(instance.vpc)
    return {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(instance.ip)}


def _sends(plan, local, own_source: bool) -> tuple:
    """The node sends the packet on as its subnet's sender: naming itself (its MAC) while the
    source is the client's, as itself once the source is its own address again."""
    node = local.node
    vpc = plan.topology.vpc(plan.topology.load_balancer(node.load_balancer).vpc)
    return (
        (SetField(SENDER, 0 if own_source else local.zone), SetField("eth_src", local.mac))
        + as_sender(plan, vpc, vpc.subnet(node.subnet))
        + (Resubmit("nacl_src_egress"),)
    )


def _node(plan, local) -> list:
    topology = plan.topology
    node = local.node
    balancer = topology.load_balancer(node.load_balancer)
    vpc = topology.vpc(balancer.vpc)
    subnet = vpc.subnet(node.subnet)
    address = {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(node.ip)}
    mine = {Reg.NEXT_HOP: local.number}
    by_mac = {"eth_dst": local.back_mac}
    healthy = balancer.healthy_at(node)
    flows = [
        arrival(plan, vpc, node.ip, Goto("nacl_tgw_exit"), node.origin),
        flow("sg_ingress", OPENING, address, (Goto("endpoint_dnat"),), node.origin),
        flow("endpoint_dnat", REFUSED, address, (DROP,), balancer.origin),  # no-listener
        flow(
            "endpoint_pick",
            KNOWN,
            {**mine, "eth_type": ETH_IP, **ESTABLISHED},
            (Goto("nlb_send"),),
            node.origin,
        ),
        flow(
            "endpoint_pick",
            OPENING,
            {**mine, **NEW},
            (FlowHash(Reg.NLB_PICK, len(healthy)), Goto("nlb_target")) if healthy else (DROP,),
            balancer.origin,  # no-target: no target in the node's AZ, cross-zone off
        ),
        flow("endpoint_pick", REFUSED, mine, (DROP,), node.origin),
        flow("nlb_send", KNOWN, mine, _sends(plan, local, own_source=False), node.origin),
        # a target's reply, handed back by its card to the node's MAC
        flow(
            "classify",
            BACK,
            {
                "in_port": TUNNEL_PORT,
                "tun_id": TunnelKey.match(VPC=plan.vni(vpc)),
                "eth_type": ETH_IP,
                **by_mac,
            },
            (Goto("nlb_back"),),
            node.origin,
        ),
        flow(
            "nlb_back",
            SKIP_PRIORITY,
            {**by_mac, "eth_type": ETH_IP, "nw_src": prefix(subnet.cidr)},
            (Ct(False, local.zone, "nlb_unnat", Nat()),),
            subnet.origin,
        ),
        *nacl_flows(
            "nlb_back",
            by_mac,
            vpc.nacl(subnet.nacl).ingress,
            "nw_src",
            (Ct(False, local.zone, "nlb_unnat", Nat()),),
        ),
        flow(
            "nlb_unnat",
            KNOWN,
            {**by_mac, "eth_type": ETH_IP, **ESTABLISHED},
            _sends(plan, local, True),
            node.origin,
        ),
        flow("nlb_unnat", REFUSED, by_mac, (DROP,), balancer.origin),
        flow("fabric_sender", KNOWN, {SENDER: local.zone}, (SetField("eth_src", local.mac),), node.origin),
    ]
    for listener in balancer.listeners:
        listening = {**address, "ip_proto": listener.protocol, "tp_dst": listener.port}
        flows.append(
            flow(
                "endpoint_dnat",
                KNOWN,
                listening,
                (SetReg(Reg.NEXT_HOP, local.number), Ct(False, local.zone, "endpoint_pick", Nat())),
                listener.origin,
            )
        )
        for pick, name in enumerate(healthy):
            target = topology.instance(name)
            port = listener.target_port
            match: dict = {
                **mine,
                Reg.NLB_PICK: pick,
                "eth_type": ETH_IP,
                "ip_proto": listener.protocol,
                "tp_dst": listener.port,
            }
            where = f"{balancer.origin}.targets[{balancer.targets.index(name)}]"
            flows += [
                flow(
                    "nlb_target",
                    KNOWN,
                    match,
                    # recirculated: past a ct nat without it, OVS still matches the old destination
                    (Ct(True, local.zone, "nlb_send", Nat("dst", str(target.ip), (port, port))),),
                    where,
                ),
                # the client itself picked: no NAT loopback with the client's address preserved
                flow("nlb_target", LOOPBACK, {**match, "nw_src": host(target.ip)}, (DROP,), where),
            ]
    if node == balancer.nodes[0]:  # the node that runs the health checks: their answers
        for check in (c for c in target_checks(plan) if c.load_balancer == balancer.name):
            match = {**address, "ip_proto": 6, "nw_src": host(check.address), "tp_dst": check.source_port}
            flows.append(
                flow("sg_ingress", HEALTH, match, (Output(CONTROLLER),), balancer.health_check.origin)
            )
    return flows


def _target(plan, local, balancer) -> list:
    """On a target's card: commit a node's new connection with the node's mark; send the
    replies of a marked connection back to that node."""
    instance = local.instance
    receiving = _receiving(plan, instance)
    flows: list = []
    for node in balancer.nodes:
        there = plan.node_plan(node)
        from_node = {**receiving, "eth_src": there.mac}
        flows += [
            # its health checks come from its own address: no mark, their answers go by route
            flow(
                "nlb_mark", HEALTH, {**from_node, "nw_src": host(node.ip)}, (Output(local.port),), node.origin
            ),
            flow(  # ct_state is not matched: a commit without recirculation clears it (OVS)
                "nlb_mark",
                KNOWN,
                from_node,
                (Ct(True, local.zone, mark=there.number), Output(local.port)),
                node.origin,
            ),
            flow(
                "sg_egress",
                MARKED_REPLY,
                {"in_port": local.port, **ESTABLISHED, "ct_mark": there.number},
                (Goto("nlb_reply"),),
                node.origin,
            ),
        ]
    return flows


def _replies(plan, server: str, vpc_name: str, subnet_name: str) -> list:
    """nlb_reply for the targets of ``subnet``: to each node of the NLBs they serve (its
    subnet's NACL egress first, unless the node is in that subnet)."""
    topology = plan.topology
    vpc = topology.vpc(vpc_name)
    subnet = vpc.subnet(subnet_name)
    nodes = {
        node
        for instance in vpc.instances
        if instance.subnet == subnet_name
        for balancer in topology.balancers_targeting(instance.name)
        for node in balancer.nodes
    }
    flows = []
    for node in sorted(nodes, key=lambda n: plan.node_plan(n).number):
        there = plan.node_plan(node)
        to_node: tuple = (SetField("eth_dst", there.back_mac),)
        if node.server == server:
            to_node += (CtClear(), Goto("nlb_back"))
        else:
            to_node += (
                SetField("tun_id", plan.vni(vpc)),
                SetField("tun_dst", str(plan.underlay_ip(node.server))),
                Output(TUNNEL_PORT),
            )
        key = {"ct_mark": there.number, Reg.SRC_SUBNET: plan.subnet_id[(vpc.name, subnet.name)]}
        if node.subnet == subnet.name:
            flows.append(flow("nlb_reply", KNOWN, key, to_node, node.origin))
        else:
            flows += nacl_flows("nlb_reply", key, vpc.nacl(subnet.nacl).egress, "nw_dst", to_node)
    return flows
