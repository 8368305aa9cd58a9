"""One packet's walk: the options it was asked with (one value), what it has found so far,
and the steps it may take, each implemented by the module of its AWS concept:

- ``delivery``: leave (the source check, SG and NACL egress, the route), deliver, arrive
- ``security_groups``: sg_egress, sg_ingress (references by the sending interface)
- ``nacls``: nacl, arriving_nacls
- ``routes``: route_from, send_from (a subnet's route table)
- ``peering``: via_peering; ``transit_gateways``: via_tgw, onward_from_tgw
- ``internet``: via_igw, via_eigw, internet; ``nat``: via_nat, nat_inbound
- ``privatelink``: via_endpoint, to_load_balancer, listener_for; ``middleboxes``: via_appliance
- ``load_balancers``: into_load_balancer, back_through_load_balancer
- ``gateway_endpoints``: via_gateway_endpoint, back_through_gateway
- ``sites``: via_vgw, tgw_to_site, into_site, from_site, from_link, into_vpc_from_vgw,
  into_tgw_from_site (on-premises sites over VPN and Direct Connect)
- ``mtu``: fits

``trace.Walk`` joins them. A step records hops and either returns where the packet arrived
or raises ``Dropped`` (through ``fail``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Optional

from vpclab.intent import model as m

from .packet import FORWARD, Arrival, Dropped, Endpoint, Hop, Packet

MAX_TGW_TRAVERSALS = 3  # a packet may hairpin through an inspection VPC, never loop

Step = Callable[..., Any]


@dataclass(frozen=True)
class Options:
    """How to walk one packet."""

    direction: str = FORWARD
    check: bool = True  # False: routing alone, no SG or NACL consulted
    check_source: bool = True  # the sender's card checks the source address (when check)
    requester: Optional[Endpoint] = None  # a reply must reach the endpoint that sent the request
    tracked: tuple[str, ...] = ()  # the appliances whose conntrack saw the request
    pick: Optional[str] = None  # the NLB target to follow (None: its first healthy one)
    through: Optional[m.EndpointInterface] = None  # a reply: the endpoint its request went through
    client_port: Optional[int] = None  # a reply through an endpoint: the consumer's port
    gateway: Optional[m.GatewayEndpoint] = None  # a reply: the gateway endpoint its request took
    node: Optional[m.LoadBalancerNode] = None  # a reply: the NLB node its request went through
    node_port: Optional[int] = None  # that node's listener port (the reply's source port back)


@dataclass
class Found:
    """What the walk has found: the hops, the appliances and endpoint it went through, the
    NLB targets it could have taken, the MTUs on the way, and how and as what it arrived."""

    hops: list[Hop] = field(default_factory=list)
    boxes: list[str] = field(default_factory=list)
    interface: Optional[m.EndpointInterface] = None
    gateway: Optional[m.GatewayEndpoint] = None
    node: Optional[m.LoadBalancerNode] = None  # the NLB node (reached directly) it went through
    choices: tuple[str, ...] = ()
    limits: list[tuple[int, str]] = field(default_factory=list)
    arrival: Optional[Arrival] = None
    delivered: Optional[Packet] = None


@dataclass
class Carried:
    """How the packet is carried at this point of its walk."""

    from_tgw: bool = False  # a TGW handed it to the VPC it is routed in now
    behind_nlb: bool = False  # an NLB translated its source: no SG reference matches it
    sent_by: Optional[m.Instance] = None  # the appliance that sent it on, if one did


class WalkState:
    """The state every step reads and writes; the steps themselves live in their modules."""

    def __init__(self, topology: m.Topology, options: Options):
        self.topology, self.options = topology, options
        self.found = Found()
        self.carried = Carried()

    def fail(self, stage, at, obj, detail, reason: Optional[str] = None) -> NoReturn:
        """Record the hop that drops the packet, and stop the walk there."""
        self.hops.append(Hop(self.options.direction, stage, at, "drop", obj, detail))
        raise Dropped(reason or stage, obj)

    def hop(self, stage, at, passed: bool, obj, detail, reason: Optional[str] = None) -> None:
        if not passed:
            self.fail(stage, at, obj, detail, reason)
        self.hops.append(Hop(self.options.direction, stage, at, "pass", obj, detail))

    @property
    def hops(self) -> list[Hop]:
        return self.found.hops

    # the steps, by module (see the docstring); declared here so each module may take any
    leave: Step
    deliver: Step
    arrive: Step
    refuse_misrouted_reply: Step
    last_route: Step
    sg_egress: Step
    sg_ingress: Step
    sg_hop: Step
    sg_origin: Step
    sg_names: Step
    destination_in_group: Step
    counts_as_member: Step
    nacl: Step
    arriving_nacls: Step
    route_from: Step
    send_from: Step
    via_peering: Step
    via_tgw: Step
    onward_from_tgw: Step
    via_igw: Step
    via_eigw: Step
    internet: Step
    internet_gateway_of: Step
    via_nat: Step
    nat_inbound: Step
    via_endpoint: Step
    to_load_balancer: Step
    listener_for: Step
    into_load_balancer: Step
    back_through_load_balancer: Step
    via_gateway_endpoint: Step
    back_through_gateway: Step
    via_appliance: Step
    appliance_sg: Step
    fits: Step
    via_vgw: Step
    tgw_to_site: Step
    into_site: Step
    from_site: Step
    tgw_lookup: Step
    tgw_next: Step
    across_peering: Step
    usable: Step
    routed_destination: Step  # trace.Walk: where routing alone takes a packet (a walk of its own)
