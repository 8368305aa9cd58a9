"""Gateway endpoints (S3, DynamoDB): the sending card's last stage, and the internet's card.

The sending card: a route to a gateway endpoint goes to ``gateway_endpoint``, which sends a
packet whose source is one of the VPC's addresses to the internet's card over VXLAN, the
VPC's number in the VNI (nothing is translated: the service sees the private source). The
internet's card looks such a packet up in the gateway endpoints' conntrack zone
(``gateway_in``): a new connection is committed with the VPC's number as its ct_mark and
handed to the service's host, a known one goes on, and anything else (an instance's reply to
someone who came in another way, routed to the endpoint) is dropped; the service's reply,
found in that zone, goes back to the instance's card (``gateway_return``) as a packet for its
VPC.
"""

from __future__ import annotations

from vpclab.intent import model as m
from vpclab.layout.actions import DROP, Ct, DecTtl, Goto, Output, SetField
from vpclab.layout.pipeline import (
    CT_EST,
    CT_INV,
    CT_NEW,
    CT_REL,
    CT_TRK,
    ROUTER_MAC,
    TUNNEL_PORT,
    Reg,
    TunnelKey,
    flow,
)
from vpclab.layout.plan import GATEWAY_ENDPOINT_ZONE

from .matches import ETH_IP, prefix

ROUTE, MISS = 100, 1
ESTABLISHED = {"ct_state": (CT_EST | CT_TRK, CT_EST | CT_TRK | CT_INV)}
NEW = {"ct_state": (CT_NEW | CT_TRK, CT_NEW | CT_TRK | CT_INV)}
RELATED = {"ct_state": (CT_REL | CT_TRK, CT_REL | CT_EST | CT_TRK | CT_INV)}


def sending(plan, vpc: m.Vpc) -> list:
    """gateway_endpoint: the VPC's own addresses go to the internet's card; the rest (a
    packet an appliance forwards for another network) is dropped, as the endpoint serves only
    its VPC."""
    flows = []
    for endpoint in plan.topology.gateway_endpoints:
        if endpoint.vpc != vpc.name:
            continue
        internet_card = str(plan.underlay_ip(m.INTERNET_CARD))
        key: dict = {Reg.NEXT_HOP: plan.gateway_endpoint_id[endpoint.name], Reg.SRC_VPC: vpc.number}
        flows.append(flow("gateway_endpoint", MISS, key, (DROP,), endpoint.origin))
        tunnel = (
            SetField("tun_id", TunnelKey.match(VPC=vpc.number)[0]),
            SetField("tun_dst", internet_card),
            Output(TUNNEL_PORT),
        )
        for cidr in vpc.cidrs:
            match: dict = {**key, "eth_type": ETH_IP, "nw_src": prefix(cidr)}
            flows.append(flow("gateway_endpoint", ROUTE, match, tunnel, endpoint.origin))
    return flows


def internet_card(plan) -> list:
    """On the internet's card: each VPC's endpoint traffic into the service's host (committed
    with the VPC as ct_mark), and the services' replies back to their instances."""
    if not any(h.service for h in plan.topology.internet_hosts):
        return []
    flows = []
    for endpoint in plan.topology.gateway_endpoints:
        vpc = plan.topology.vpc(endpoint.vpc)
        network = plan.topology.prefix_list(endpoint.prefix_list).cidrs[0]
        arriving = {"tun_id": TunnelKey.match(VPC=vpc.number), "eth_type": ETH_IP, "nw_dst": prefix(network)}
        looked_up = Ct(False, GATEWAY_ENDPOINT_ZONE, "gateway_in")
        flows.append(
            flow("classify", ROUTE, {"in_port": TUNNEL_PORT, **arriving}, (looked_up,), endpoint.origin)
        )
        committed = Ct(True, GATEWAY_ENDPOINT_ZONE, "internet_route", mark=vpc.number)
        flows += [
            flow("gateway_in", ROUTE, {**NEW, **arriving}, (committed,), endpoint.origin),
            flow(
                "gateway_in",
                ROUTE - 1,
                {**ESTABLISHED, **arriving},
                (Goto("internet_route"),),
                endpoint.origin,
            ),
            flow(
                "gateway_in", ROUTE - 2, {**RELATED, **arriving}, (Goto("internet_route"),), endpoint.origin
            ),
            # an instance answering someone who came another way (its reply routed to the
            # endpoint): the service never opened that connection
            flow("gateway_in", MISS, arriving, (DROP,), endpoint.origin),
        ]
    served = {e.vpc for e in plan.topology.gateway_endpoints}
    for local in plan.instances.values():
        instance = local.instance
        if instance.vpc not in served or instance.ip is None:  # gateway endpoints: IPv4 only
            continue
        vpc = plan.topology.vpc(instance.vpc)
        match = {
            **ESTABLISHED,
            "ct_mark": vpc.number,
            "eth_type": ETH_IP,
            "nw_dst": (str(instance.ip), "255.255.255.255"),
        }
        back = (
            DecTtl(),
            SetField("eth_src", ROUTER_MAC),
            SetField("eth_dst", local.mac),
            SetField("tun_id", plan.vni(vpc)),
            SetField("tun_dst", str(plan.underlay_ip(instance.server))),
            Output(TUNNEL_PORT),
        )
        flows.append(flow("gateway_return", ROUTE, match, back, instance.origin))
    flows.append(flow("gateway_return", MISS, {}, (Goto("internet_route"),), m.INTERNET_ORIGIN))
    return flows


def from_service(local) -> Ct:
    """classify, for what an AWS service's host sends: into the gateway endpoints' zone first."""
    return Ct(False, GATEWAY_ENDPOINT_ZONE, "gateway_return")
