"""The internet edge: the internet gateway's 1:1 translation, and the internet's own card.

As in AWS, the gateway is no box on the path: an instance's own card translates between its
private IP and its public IP with conntrack NAT, in a zone of its own (its SG zone stays
untranslated, so SG rules see private addresses). The internet's card holds the internet
hosts and routes: a host by its address, a public IP to its instance's card over VXLAN.
"""

from __future__ import annotations

from vpclab.intent import model as m
from vpclab.layout.actions import (
    DROP,
    ArpReply,
    CheckLarger,
    Ct,
    CtClear,
    DecTtl,
    Goto,
    Nat,
    Output,
    SetField,
    SetReg,
)
from vpclab.layout.pipeline import (
    CT_EST,
    CT_INV,
    CT_NEW,
    CT_REL,
    CT_TRK,
    ROUTER_MAC,
    TUNNEL_PORT,
    Flow,
    Reg,
    TunnelKey,
    flow,
)
from vpclab.layout.plan import INTERNET_ROUTER

from . import gateway_endpoints
from .edge import TABLE_MISS
from .matches import ETH_ARP, ETH_IP, ETH_IPV6, ETHERNET_HEADER, address_match, host, prefix

NEW = {"ct_state": (CT_NEW | CT_TRK, CT_NEW | CT_TRK)}
TRACKED = {"ct_state": (CT_TRK, CT_TRK | CT_INV)}  # tracked and not invalid
INVALID = {"ct_state": (CT_TRK | CT_INV, CT_TRK | CT_INV)}
TO_INTERNET = 0  # the VNI of a packet for the internet's card (no VPC has number 0)
ROUTE, NO_ROUTE, SPOOFED = 100, 1, 10
FROM_INTERNET = 125  # classify: above an address's arrival from another card (an appliance's too)


def gateway(plan, server: str) -> list:
    """The internet gateway's translations for the instances on ``server``: outbound (SNAT to
    the public IP, or a drop: no public IP) and inbound (DNAT back to the private IP)."""
    if not plan.topology.has_internet:
        return []
    flows = []
    for local in plan.on_server(server):
        instance = local.instance
        vpc = plan.topology.vpc(instance.vpc)
        if instance.ipv6 is not None and (vpc.internet_gateway or vpc.egress_only_internet_gateway):
            flows += ipv6_edge(plan, vpc, local)
        if instance.ip is None:  # IPv6-only
            continue
        if instance.public_ip is None:
            leaving = {Reg.SRC_VPC: vpc.number, "eth_type": ETH_IP, "nw_src": host(instance.ip)}
            flows.append(flow("igw_egress", ROUTE, leaving, (DROP,), instance.origin))
            continue
        received = (CtClear(), Ct(False, local.zone, "nacl_tgw_exit"))
        flows += one_to_one(plan, vpc, instance, local.nat_zone, received)
    return flows


def one_to_one(plan, vpc, owner, zone: int, received: tuple) -> list:
    """The IGW's 1:1 translation between ``owner``'s private IP and its public IP (an
    instance's, or a NAT gateway's Elastic IP), in conntrack ``zone``; ``received`` takes an
    inbound packet on once its destination is the private IP again."""
    origin, public = owner.public_ip_origin, str(owner.public_ip)
    internet_card = str(plan.underlay_ip(m.INTERNET_CARD))
    leaving = {Reg.SRC_VPC: vpc.number, "eth_type": ETH_IP, "nw_src": host(owner.ip)}
    return [
        flow("igw_egress", ROUTE, leaving, (Ct(False, zone, "igw_snat", Nat()),), origin),
        flow(
            "igw_snat",
            ROUTE,
            {**NEW, Reg.SRC_VPC: vpc.number, "eth_type": ETH_IP, "nw_src": host(owner.ip)},
            (Ct(True, zone, "igw_snat", Nat("src", public)),),
            origin,
        ),
        flow(  # a reply of a connection the IGW never carried (it came by a TGW, say): sent
            # out by AWS's gateway, which keeps no state, and lost on the internet, which has
            # no route back to a private address
            "igw_snat",
            ROUTE - 1,
            {**INVALID, Reg.SRC_VPC: vpc.number, "eth_type": ETH_IP, "nw_src": host(owner.ip)},
            (DROP,),
            m.INTERNET_ORIGIN,
        ),
        flow(
            "igw_snat",
            ROUTE,
            {**TRACKED, "eth_type": ETH_IP, "nw_src": host(owner.public_ip)},
            (
                SetField("tun_id", TO_INTERNET),
                SetField("tun_dst", internet_card),
                CheckLarger(ETHERNET_HEADER + m.INTERNET_MTU, Reg.TOO_BIG),
                Goto("igw_mtu"),
            ),
            origin,
        ),
        inbound(plan, vpc, owner, zone, ROUTE),
        flow(
            "igw_dnat",
            ROUTE,
            {**NEW, Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(owner.public_ip)},
            (Ct(True, zone, "igw_dnat", Nat("dst", str(owner.ip))),),
            origin,
        ),
        flow(
            "igw_dnat",
            ROUTE,
            {**TRACKED, Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(owner.ip)},
            received,
            origin,
        ),
    ]


def ipv6_edge(plan, vpc, local) -> list:
    """An instance's IPv6 address through its VPC's internet gateway (untranslated: AWS's
    IPv6 addresses are public) or egress-only internet gateway (stateful: out, and only the
    replies of what went out back in). Its connections are tracked in its NAT zone; from the
    internet's card (tun_src) a packet for its address meets that state first."""
    instance, zone = local.instance, local.nat_zone
    address = instance.ipv6
    leaving = {Reg.SRC_VPC: vpc.number, **address_match("src", address)}
    to_internet = (
        SetField("tun_id", TO_INTERNET),
        SetField("tun_dst", str(plan.underlay_ip(m.INTERNET_CARD))),
        CheckLarger(ETHERNET_HEADER + m.INTERNET_MTU, Reg.TOO_BIG),
        Goto("igw_mtu"),
    )
    origin = instance.origin
    arriving = {
        "in_port": TUNNEL_PORT,
        "tun_src": str(plan.underlay_ip(m.INTERNET_CARD)),
        "tun_id": TunnelKey.match(VPC=plan.vni(vpc)),
        **address_match("dst", address),
    }
    received = (CtClear(), Ct(False, local.zone, "nacl_tgw_exit"))
    key = {Reg.DST_VPC: vpc.number, **address_match("dst", address)}
    flows = [
        flow("igw_egress", ROUTE, leaving, (Ct(False, zone, "igw_snat"),), origin),
        flow("igw_snat", ROUTE + 1, {**NEW, **leaving}, (Ct(True, zone),) + to_internet, origin),
        flow("igw_snat", ROUTE - 2, leaving, to_internet, origin),
        flow(
            "classify",
            FROM_INTERNET,
            arriving,
            (SetReg(Reg.DST_VPC, vpc.number), Ct(False, zone, "igw_dnat")),
            origin,
        ),
    ]
    if vpc.internet_gateway is not None:  # it keeps no state: anything comes in (a reply that
        # left by another VPC's gateway too, which conntrack here calls invalid)
        flows.append(flow("igw_dnat", ROUTE, key, received, vpc.internet_gateway.origin))
        return flows
    eigw = vpc.egress_only_internet_gateway
    assert eigw is not None
    for rank, state in enumerate((CT_EST, CT_REL)):  # the replies of what the instance opened
        replies = {"ct_state": (state | CT_TRK, state | CT_TRK), **key}
        flows.append(flow("igw_dnat", ROUTE + 1 - rank, replies, received, eigw.origin))
    flows.append(flow("igw_dnat", ROUTE - 1, key, (DROP,), eigw.origin))  # eigw-unsolicited
    return flows


def inbound(plan, vpc, owner, zone: int, priority: int, **also) -> Flow:
    """classify: from the internet's card to ``owner``'s public IP (and ``also``), into its 1:1
    translation's conntrack ``zone``."""
    match = {
        "in_port": TUNNEL_PORT,
        "tun_id": TunnelKey.match(VPC=plan.vni(vpc)),
        "eth_type": ETH_IP,
        "nw_dst": host(owner.public_ip),
        **also,
    }
    actions = (SetReg(Reg.DST_VPC, vpc.number), Ct(False, zone, "igw_dnat", Nat()))
    return flow("classify", priority, match, actions, owner.public_ip_origin)


def internet_card(plan, card: str) -> list:
    """The internet's card: its hosts' source check and gateway ARP, and its routing."""
    flows = [
        flow("classify", 0, {}, (DROP,), TABLE_MISS),
        *(
            flow(
                "classify",
                ROUTE,
                {"in_port": TUNNEL_PORT, "tun_id": TunnelKey.match(VPC=TO_INTERNET), "eth_type": eth_type},
                (Goto("internet_route"),),
                m.INTERNET_ORIGIN,
            )
            for eth_type in (ETH_IP, ETH_IPV6)
        ),
        flow("internet_route", NO_ROUTE, {}, (DROP,), m.INTERNET_ORIGIN),
    ]
    routed = (DecTtl(), SetField("eth_src", ROUTER_MAC))
    for local in plan.internet_hosts.values():
        internet_host, port = local.host, {"in_port": local.port}
        # an AWS service's host answers on every address of its block
        addresses = prefix(internet_host.network) if internet_host.network else host(internet_host.ip)
        flows += [
            flow("classify", ROUTE, {**port, "eth_type": ETH_ARP}, (Goto("arp"),), internet_host.origin),
            flow(
                "classify",
                ROUTE,
                {**port, "eth_type": ETH_IP, "eth_src": local.mac, "nw_src": addresses},
                (gateway_endpoints.from_service(local),)
                if internet_host.service
                else (Goto("internet_route"),),
                internet_host.origin,
            ),
            flow("classify", SPOOFED, port, (DROP,), internet_host.origin),
            flow(
                "arp",
                ROUTE,
                {**port, "eth_type": ETH_ARP, "arp_op": 1, "arp_tpa": str(INTERNET_ROUTER)},
                (ArpReply(ROUTER_MAC, str(INTERNET_ROUTER)),),
                internet_host.origin,
            ),
            flow(
                "internet_route",
                ROUTE,
                {"eth_type": ETH_IP, "nw_dst": addresses},
                routed + (SetField("eth_dst", local.mac), Output(local.port)),
                internet_host.origin,
            ),
        ]
        if internet_host.ipv6 is not None:  # its router is on-link (a static neighbour)
            v6 = f"{internet_host.origin}.ipv6"
            flows += [
                flow(
                    "classify",
                    ROUTE,
                    {**port, "eth_src": local.mac, **address_match("src", internet_host.ipv6)},
                    (Goto("internet_route"),),
                    v6,
                ),
                flow(
                    "internet_route",
                    ROUTE,
                    address_match("dst", internet_host.ipv6),
                    routed + (SetField("eth_dst", local.mac), Output(local.port)),
                    v6,
                ),
            ]
    for instance in (i for i in plan.topology.instances if i.ipv6 is not None):
        vpc = plan.topology.vpc(instance.vpc)
        match = address_match("dst", instance.ipv6)
        if vpc.internet_gateway is None and vpc.egress_only_internet_gateway is None:
            flows.append(flow("internet_route", ROUTE, match, (DROP,), vpc.origin))
            continue
        to_card = (
            SetField("eth_dst", plan.instances[instance.name].mac),
            SetField("tun_id", plan.vni(vpc)),
            SetField("tun_dst", str(plan.underlay_ip(instance.server))),
            Output(TUNNEL_PORT),
        )
        flows.append(flow("internet_route", ROUTE, match, routed + to_card, instance.origin))
    owners = [(i, plan.instances[i.name].mac) for i in plan.topology.instances if i.public_ip is not None] + [
        (local.nat, local.inbound_mac) for local in plan.nat_gateways.values()
    ]
    for owner, mac in owners:
        vpc = plan.topology.vpc(owner.vpc)
        match = {"eth_type": ETH_IP, "nw_dst": host(owner.public_ip)}
        if vpc.internet_gateway is None:
            flows.append(flow("internet_route", ROUTE, match, (DROP,), vpc.origin))
            continue
        to_card = (
            SetField("eth_dst", mac),
            SetField("tun_id", plan.vni(vpc)),
            SetField("tun_dst", str(plan.underlay_ip(owner.server))),
            Output(TUNNEL_PORT),
        )
        flows.append(flow("internet_route", ROUTE, match, routed + to_card, owner.public_ip_origin))
    return flows + gateway_endpoints.internet_card(plan)
