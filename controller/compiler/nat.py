"""NAT gateways: the tunnel to a gateway's card, and the gateway itself on that card.

A NAT gateway is an interface in a public subnet, not an instance: it has no SG and no port.
Its server's card carries it as flows. Outbound, a route to it takes the packet (addressed to
the gateway's MAC) to that card, where its subnet's NACL ingress applies, conntrack translates
the source to the gateway's private address with port translation (many-to-one, in the
gateway's own zone), and the packet leaves as the subnet's own sender: the subnet's NACL
egress, then its route table, where only a route to the internet gateway goes on (anything
else: the drop that trace calls ``nat-no-route``), and the IGW's 1:1 translation to the
Elastic IP (``internet.one_to_one``). Replies come in through the IGW and the subnet's NACL
ingress, are translated back in the gateway's zone, and leave through the subnet's NACL egress
and route table to the instance; a packet that opens nothing (+new) is dropped.
"""

from __future__ import annotations

from vpclab.intent.model import PROTOCOL_NUMBERS
from vpclab.layout.actions import DROP, Ct, CtClear, Goto, Nat, Output, Resubmit, SetField, SetReg
from vpclab.layout.pipeline import CT_EST, CT_INV, CT_NEW, CT_REL, CT_TRK, TUNNEL_PORT, Reg, TunnelKey, flow
from vpclab.layout.plan import NAT_PORTS

from . import hybrid
from .internet import one_to_one
from .matches import ETH_IP, host, ipv4, prefix
from .nacl import nacl_flows
from .routes import MISS_PRIORITY, route_actions, vpc_route_priority

TRACKED = {"ct_state": (CT_TRK, CT_TRK | CT_INV)}
NEW = {"ct_state": (CT_NEW | CT_TRK, CT_NEW | CT_TRK | CT_INV)}
ESTABLISHED = {"ct_state": (CT_EST | CT_TRK, CT_EST | CT_TRK | CT_INV)}
RELATED = {"ct_state": (CT_REL | CT_TRK, CT_REL | CT_TRK | CT_INV)}  # an ICMP error about one
# above the classify flows of public IPs (100): a NAT gateway's card may also hold an
# instance whose public IP the gateway's packet is for
ARRIVING, TRANSLATED, OPENING, REFUSED = 110, 100, 90, 1

NAT_PROTOCOLS = tuple(PROTOCOL_NUMBERS.values())  # what a NAT gateway translates: TCP, UDP, ICMP


def card_flows(plan, server: str, routed) -> list:
    """The tunnels to the NAT gateways of the VPCs a packet from this card is routed in, and
    the gateways this card carries."""
    flows = []
    for local in plan.nat_gateways.values():
        if local.nat.vpc in routed:
            flows.append(_tunnel(plan, server, local))
    here = plan.nat_gateways_on(server)
    for local in here:
        flows += _gateway(plan, local)
    tables = {(n.nat.vpc, _subnet_table(plan, n.nat)): None for n in here}  # once each, in order
    for vpc, table in tables:
        flows += _translated_routes(plan, plan.topology.vpc(vpc), table)
    return flows


def _subnet_table(plan, nat) -> str:
    return plan.topology.vpc(nat.vpc).subnet(nat.subnet).route_table


def _as_sender(plan, nat, table_id: int) -> tuple:
    """The registers of a packet that the gateway sends from its subnet, routed by ``table_id``."""
    vpc = plan.topology.vpc(nat.vpc)
    subnet = vpc.subnet(nat.subnet)
    return (
        SetReg(Reg.SRC_SUBNET, plan.subnet_id[(vpc.name, subnet.name)]),
        SetReg(Reg.ROUTE_TABLE, table_id),
        SetReg(Reg.AZ, plan.az_id[subnet.az]),
        SetReg(Reg.SRC_VPC, vpc.number),
    )


def _translated_table(plan, nat) -> int:
    return plan.nat_route_table_id(nat.vpc, _subnet_table(plan, nat))


def _tunnel(plan, server: str, local) -> object:
    """natgw_tunnel: to the gateway's MAC, over VXLAN to its card or handed over here."""
    nat = local.nat
    vpc = plan.topology.vpc(nat.vpc)
    actions: tuple = (SetField("eth_dst", local.mac),)
    if nat.server == server:
        sender = _as_sender(plan, nat, _translated_table(plan, nat))
        actions += sender + (SetReg(Reg.HAIRPINS, 0), CtClear(), Goto("natgw_ingress"))
    else:
        actions += (
            SetField("tun_id", plan.vni(vpc)),
            SetField("tun_dst", str(plan.underlay_ip(nat.server))),
            Output(TUNNEL_PORT),
        )
    return flow("natgw_tunnel", 100, {Reg.NEXT_HOP: local.number}, actions, nat.origin)


def _gateway(plan, local) -> list:
    nat = local.nat
    vpc = plan.topology.vpc(nat.vpc)
    subnet = vpc.subnet(nat.subnet)
    nacl = vpc.nacl(subnet.nacl)
    mine = {"eth_dst": local.mac}  # from the VPC
    inbound = {"eth_dst": local.inbound_mac}  # from the internet gateway
    flows = [
        flow(
            "classify",
            ARRIVING,
            {
                "in_port": TUNNEL_PORT,
                "tun_id": TunnelKey.match(VPC=plan.vni(vpc)),
                "eth_type": ETH_IP,
                **mine,
            },
            _as_sender(plan, nat, _translated_table(plan, nat)) + (Goto("natgw_ingress"),),
            nat.origin,
        ),
        *nacl_flows(
            "natgw_ingress", mine, nacl.ingress, "nw_src", (Ct(False, local.zone, "natgw_snat", Nat()),)
        ),
        flow(
            "natgw_snat",
            TRANSLATED,
            {**TRACKED, **mine, "eth_type": ETH_IP, "nw_src": host(nat.ip)},
            (Resubmit("nacl_src_egress"),),
            nat.origin,
        ),
        *(
            flow(
                "natgw_snat",
                OPENING,
                {**NEW, **mine, "eth_type": ETH_IP, "ip_proto": protocol},
                (Ct(True, local.zone, "natgw_snat", Nat("src", str(nat.ip), NAT_PORTS)),),
                nat.origin,
            )
            for protocol in NAT_PROTOCOLS  # AWS: TCP, UDP and ICMP; any other is nat-protocol
        ),
        flow("natgw_snat", REFUSED, mine, (DROP,), nat.origin),  # a reply opens nothing
        *one_to_one(plan, vpc, nat, local.igw_zone, (CtClear(), Goto("nacl_tgw_exit"))),
        flow(
            "sg_ingress",
            TRANSLATED,
            {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(nat.ip)},
            _as_sender(plan, nat, plan.route_table_id[(vpc.name, subnet.route_table)])
            + (Ct(False, local.zone, "natgw_return", Nat()),),
            nat.origin,
        ),
        flow(
            "natgw_return", TRANSLATED, {**ESTABLISHED, **inbound}, (Resubmit("nacl_src_egress"),), nat.origin
        ),
        # an ICMP error about a connection (e.g. "fragmentation needed"), translated back too
        flow(
            "natgw_return", TRANSLATED - 1, {**RELATED, **inbound}, (Resubmit("nacl_src_egress"),), nat.origin
        ),
        flow("natgw_return", REFUSED, inbound, (DROP,), nat.origin),  # unsolicited: nat-unsolicited
    ]
    return flows


def _translated_routes(plan, vpc, name: str) -> list:
    """vpc_route for NAT gateways' translated packets: their subnet's table, where only a route
    to the internet gateway goes on; any other route, or none, drops (nat-no-route)."""
    table = vpc.route_table(name)
    key: dict = {Reg.ROUTE_TABLE: plan.nat_route_table_id(vpc.name, name)}
    flows = [flow("vpc_route", MISS_PRIORITY, key, (DROP,), table.origin)]
    for route in hybrid.table_routes(plan.topology, vpc, table):
        if route.destination.version != 4:  # a NAT gateway translates IPv4 only
            continue
        match = {**key, "eth_type": ETH_IP, "nw_dst": prefix(ipv4(route.destination))}
        actions = route_actions(plan, vpc, route) if route.internet_gateway else (DROP,)
        flows.append(
            flow(
                "vpc_route",
                vpc_route_priority(route),
                match,
                actions,
                route.origin,
            )
        )
    return flows
