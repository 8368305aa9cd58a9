"""Direct Connect on the cards: the compiler's own reading of AWS's Direct Connect gateway.

A link's AWS side is a port of the internet's card (a ``DX`` edge port): what the site sends
over the link comes in there, what AWS sends to the site goes out there.

- A private virtual interface reaches the VGWs its DX gateway is associated with: the gateway
  hands a packet to the VGW whose VPC holds its destination, which delivers it by the VPC's
  local route (``vgw_in``). Over each private link up a VGW learns the site's prefixes, which it
  prefers to any VPN's (``hybrid.vgw_ways``).
- A transit virtual interface reaches the TGW its DX gateway is associated with (its first
  such association): the packet enters by the route table associated with the gateway's
  attachment, as a VPN's does; over each transit link up the attachment propagates the site's
  prefixes, which a TGW route table ranks below a VPC's and above a VPN's (``tgw_hybrid``).
"""

from __future__ import annotations

from ipaddress import IPv4Network

from vpclab.intent import model as m
from vpclab.layout.actions import Goto, SetField, SetReg
from vpclab.layout.hybrid import DX
from vpclab.layout.pipeline import ROUTER_MAC, Reg, flow

from .matches import ETH_IP, prefix
from .sampling import path_sample

ENTRY = 100


def links_up(topology: m.Topology, gateway: str, vif: str) -> list[m.DirectConnectConnection]:
    """The links (not down) whose virtual interface of type ``vif`` reaches DX gateway ``gateway``."""
    return [link for link in topology.hybrid.dx_connections_to(gateway, vif) if not link.down]


def vgw_offers(
    topology: m.Topology, vgw: m.VpnGateway
) -> list[tuple[IPv4Network, m.DirectConnectConnection]]:
    """What ``vgw`` learns over Direct Connect: (prefix, link) per private link up to a DX
    gateway associated with it."""
    return [
        (destination, link)
        for gateway in topology.hybrid.dx_gateways_of("vpn_gateway", vgw.name)
        for link in links_up(topology, gateway.name, "private")
        for destination in link.announced(topology.hybrid.site(link.site).cidrs)
    ]


def transit_gateway_of(topology: m.Topology, gateway: m.DirectConnectGateway) -> m.TransitGateway | None:
    """The TGW a transit link to ``gateway`` reaches: its first TGW association's."""
    name = next((a.transit_gateway for a in gateway.associations if a.transit_gateway), None)
    return topology.transit_gateway(name) if name is not None else None


def port_of(plan, link: str):
    return next(p for p in plan.edge_ports if p.kind == DX and p.connection == link)


def entries(plan, link: m.DirectConnectConnection) -> list:
    """The internet's card, classify: what the site sends over a private ``link`` enters the
    VGW whose VPC holds the address (its DX gateway's associations); a transit link's packets
    enter a TGW (``tgw_hybrid.entries``)."""
    topology = plan.topology
    port = port_of(plan, link.name)
    gateway = topology.hybrid.dx_gateway(link.gateway)
    at = {"in_port": port.port, "eth_type": ETH_IP}
    flows = []
    for association in gateway.associations:
        if association.vpn_gateway is None:
            continue
        vpc = topology.vpc(topology.hybrid.vpn_gateway(association.vpn_gateway).vpc)
        into = (
            *path_sample(plan, port.path_origin),
            SetField("eth_src", ROUTER_MAC),
            SetReg(Reg.DST_VPC, vpc.number),
            Goto("vgw_in"),
        )
        for cidr in vpc.cidrs:
            flows.append(flow("classify", ENTRY, {**at, "nw_dst": prefix(cidr)}, into, association.origin))
    return flows
