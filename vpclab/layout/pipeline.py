"""The Nitro card's OpenFlow pipeline: every table is a named stage, declared once here.

Nobody else writes a table or register number. The path a packet takes through the stages, for
each AWS concept (instances, the internet edge, NAT gateways, PrivateLink, NLBs reached
directly, gateway endpoints, appliances), is told in docs/architecture.md, "The pipeline's
paths"; each stage's comment below says what it does.

Each stage declares (like Faucet's ValveTableConfig) the stages it may continue to, the
fields it may match and the registers/fields it may set; ``flow()`` asserts every flow keeps
to its stage's declaration.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.errors import Defect
from vpclab.intent.model import RESERVED_CARD_PORTS
from vpclab.layout.actions import (
    Action,
    ArpReply,
    CheckLarger,
    Ct,
    FlowHash,
    Goto,
    Move,
    Resubmit,
    SetField,
    SetReg,
)


class Field(str):
    """A named bit field of a register, OVN's REGBIT_*/REG_* style: bits ``offset`` to
    ``offset + width - 1`` of ``register``. Its string is its name, which flows and stage
    declarations use; ``ofmsg`` places it in its register's bits (a masked match, a load of
    those bits), so a one-bit fact takes one bit."""

    register: str
    offset: int
    width: int

    def __new__(cls, name: str, register: str, offset: int, width: int) -> Field:
        field = super().__new__(cls, name)
        field.register, field.offset, field.width = register, offset, width
        return field

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.offset

    def read(self, registers: dict) -> int:
        """This field's value out of whole registers (as a flow dump or ofproto/trace shows them)."""
        return (int(str(registers.get(self.register, 0)), 0) >> self.offset) & ((1 << self.width) - 1)

    def nxm(self) -> str:
        """As OVS writes it: ``reg1[17..24]``."""
        return f"{self.register}[{self.offset}..{self.offset + self.width - 1}]"


class Reg:
    """What the sending card learned about the packet, carried between stages: bit fields
    packed into reg0-reg3 (xxreg0) and OpenFlow's metadata; the referenced SGs' bits take
    reg4-reg7 (xxreg1). reg8-reg15 (xxreg2, xxreg3: two 128-bit fields) are free."""

    SRC_SUBNET = Field(
        "src_subnet", "reg0", 0, 16
    )  # the sender's subnet id (or the TGW exit subnet's, onward)
    ATTACHMENT_SUBNET = Field("attachment_subnet", "reg0", 16, 16)  # the entry attachment subnet of a TGW
    ROUTE_TABLE = Field(
        "route_table", "reg1", 0, 17
    )  # that subnet's route table id (NAT_ROUTE_TABLE_FLAG: bit 16)
    AZ = Field("az", "reg1", 17, 8)  # that subnet's AZ id
    HAIRPINS = Field("hairpins", "reg1", 25, 2)  # times a TGW handed the packet to a VPC that sent it back
    SAME_SUBNET = Field("same_subnet", "reg1", 27, 1)  # source and destination share a subnet (no NACL)
    PEERED = Field("peered", "reg1", 28, 1)  # it crossed a TGW peering (it crosses one at most)
    NEXT_HOP = Field(
        "next_hop", "reg2", 0, 16
    )  # peering id or TGW id chosen by the route; exit attachment id
    TGW_TABLE = Field("tgw_table", "reg2", 16, 16)  # the TGW route table associated with the entry attachment
    SRC_VPC = Field("src_vpc", "reg3", 0, 12)  # the sender's VPC number
    DST_VPC = Field("dst_vpc", "reg3", 12, 12)  # the VPC number where the packet is delivered
    NLB_PICK = Field("nlb_pick", "reg3", 24, 8)  # the flow hash's pick among an NLB's healthy targets
    ECMP_PICK = Field("ecmp_pick", "metadata", 12, 8)  # the flow hash's pick among a TGW's equal VPN routes
    TOO_BIG = Field("too_big", "metadata", 0, 1)  # the frame is longer than the MTU a stage checked
    EXIT_SUBNET = Field("exit_subnet", "metadata", 1, 11)  # the attachment subnet a TGW delivered through
    # one bit per security group that a local instance's rules name (numbered per card and
    # direction): the groups the other end of the packet belongs to
    REMOTE_SGS_0 = Field("remote_sgs_0", "reg4", 0, 32)
    REMOTE_SGS_1 = Field("remote_sgs_1", "reg5", 0, 32)
    REMOTE_SGS_2 = Field("remote_sgs_2", "reg6", 0, 32)
    REMOTE_SGS_3 = Field("remote_sgs_3", "reg7", 0, 32)


FIELDS = {str(value): value for value in vars(Reg).values() if isinstance(value, Field)}  # by name


REMOTE_SGS = (Reg.REMOTE_SGS_0, Reg.REMOTE_SGS_1, Reg.REMOTE_SGS_2, Reg.REMOTE_SGS_3)


MAX_HAIRPINS = 2  # like trace: at most three TGW traversals, then it is a routing loop
FROM_SITE_AZ = 0  # Reg.AZ of a packet that came from a site over a VPN or Direct Connect (AZ ids start at 1)

TUNNEL_PORT = RESERVED_CARD_PORTS[1]  # the vxlan port of every Nitro card (ofport_request)
MSS_CLAMP_PORT = RESERVED_CARD_PORTS[
    2
]  # the card's port to its kernel's MSS clamp, which sends each packet back
# The interface that put a packet on the fabric, when its source address may not be its own (an
# instance with source_dest_check: false): its conntrack zone, so the receiving card looks its
# SGs up by interface as AWS does, not by source address. On the sending card it is held in
# VXLAN-GBP's group policy id, a metadata field (OVS's userspace tunnels do not send GBP); at
# the tunnel (``fabric_sender``) it becomes the inner source MAC, the sender's own, which the
# receiving card matches. An NLB node sends as itself (0; NAT and internet gateways never tunnel).
SENDER = "tun_gbp_id"
MSS_CLAMP_INTERFACES = ("mss-clamp", "mss-kernel")  # that veth pair: the card's end, the kernel's
ROUTER_MAC = "02:00:00:00:00:01"  # the VPC router's MAC, answered for every subnet's .1

# ct_state bits (OVS): +new 0x01, +est 0x02, +rel 0x04, +inv 0x10, +trk 0x20, +snat 0x40
CT_NEW, CT_EST, CT_REL, CT_INV, CT_TRK, CT_SNAT = 0x01, 0x02, 0x04, 0x10, 0x20, 0x40


class TunnelKey:
    """The VNI as bit fields (offset, width): what the sending card tells the receiving one.

    A packet that crossed no TGW between two subnets carries just its VPC's number.
    """

    VPC = (0, 12)  # the destination VPC's number
    EXIT_SUBNET = (12, 11)  # the attachment subnet a TGW delivered it through (0: no TGW)
    SAME_SUBNET = (23, 1)  # source and destination share a subnet: no NACL applies

    @staticmethod
    def read(vni: int, name: str) -> int:
        """One field of a VNI, e.g. ``read(vni, "VPC")``: the destination VPC's number."""
        offset, width = getattr(TunnelKey, name)
        return (vni >> offset) & ((1 << width) - 1)

    @staticmethod
    def match(**fields: int) -> tuple[int, int]:
        """A masked ``tun_id`` match on the named fields, e.g. ``match(VPC=3)``."""
        value = mask = 0
        for name, wanted in fields.items():
            offset, width = getattr(TunnelKey, name)
            if not 0 <= wanted < 1 << width:
                raise StageViolation(f"{name} {wanted} does not fit in {width} bits")
            value |= wanted << offset
            mask |= ((1 << width) - 1) << offset
        return value, mask


class ClampKey:
    """What a SYN entering a transit gateway carries in its MAC addresses while the card's
    kernel lowers its MSS (``MSS_CLAMP_PORT``, a veth whose far end nftables clamps and sends
    back): the input port and the registers the TGW's stages read, as (value, field, offset,
    width). Bits 40-47 of both MACs stay 0x02 (unicast, locally administered); the card puts
    the values back and continues at ``nacl_tgw_entry`` as if the packet had never left."""

    BASE_MAC = "02:00:00:00:00:00"
    SAVED = (
        ("in_port_nxm", "eth_dst", 0, 16),
        (Reg.ATTACHMENT_SUBNET, "eth_dst", 16, 16),
        (Reg.AZ, "eth_dst", 32, 8),
        (Reg.TGW_TABLE, "eth_src", 0, 16),
        (Reg.NEXT_HOP, "eth_src", 16, 16),
        (Reg.HAIRPINS, "eth_src", 32, 2),
    )
    WIDTH = {str(value): width for value, _, _, width in SAVED}

    @staticmethod
    def macs(values: dict[str, int]) -> dict[str, str]:
        """The MAC addresses a SYN leaves for the clamp with, given the values it saves
        (``values``: register or ``in_port_nxm`` -> number; a missing one is 0)."""
        numbers = dict.fromkeys(("eth_src", "eth_dst"), int(ClampKey.BASE_MAC.replace(":", ""), 16))
        for value, field, offset, width in ClampKey.SAVED:
            numbers[field] |= (values.get(str(value), 0) & ((1 << width) - 1)) << offset
        return {
            field: ":".join(f"{number >> shift & 0xFF:02x}" for shift in range(40, -1, -8))
            for field, number in numbers.items()
        }


class SampleKey:
    """A flow log sample's observation domain id as bit fields (offset, width): the verdict of
    the flow that sampled it, and which end's interface the record belongs to. The collector
    finds the interface: SENDING by the packet's input port (an instance's), RECEIVING by its
    destination MAC (an instance's, as ``deliver_lookup`` set it), EITHER tries both. A PATH
    sample decides nothing: it says which way to or from a site (a VPN tunnel, a Direct Connect
    link: its observation point) the packet takes, for the records of its 5-tuple."""

    VERDICT = (0, 2)
    SIDE = (2, 2)
    AFTER_ACCEPT = (4, 1)  # a drop after the sender's SG stage, which sampled an ACCEPT first
    PATH = (5, 1)
    REJECT, ACCEPT_BY_RULE, ACCEPT_BY_STATE = 1, 2, 3
    SENDING, RECEIVING, EITHER = 1, 2, 3
    PATH_SAMPLE = 1 << PATH[0]  # the domain of a path sample

    @staticmethod
    def make(verdict: int, side: int, after_accept: bool = False) -> int:
        return (
            verdict << SampleKey.VERDICT[0]
            | side << SampleKey.SIDE[0]
            | int(after_accept) << SampleKey.AFTER_ACCEPT[0]
        )

    @staticmethod
    def read(domain: int, name: str) -> int:
        offset, width = getattr(SampleKey, name)
        return (domain >> offset) & ((1 << width) - 1)


COLLECTOR_SET = 1  # the card's Flow_Sample_Collector_Set (its IPFIX exporter) for flow logs
IPFIX_PORT = 4739  # the collector listens on 127.0.0.1 of each server's namespace (RFC 7011)


IP = frozenset(
    {"eth_type", "ip_proto", "nw_src", "nw_dst", "tp_dst", "icmpv4_type", "icmpv4_code"}
    | {"ipv6_src", "ipv6_dst", "icmpv6_type", "icmpv6_code"}
)
R = Reg


@dataclass(frozen=True)
class Stage:
    """One table: its number, where it may go next, what it may match, what it may set."""

    table: int
    name: str
    next: frozenset[str]
    match: frozenset[str]
    sets: frozenset[str] = frozenset()


def _stage(table: int, name: str, next_: str = "", match=(), sets=()) -> Stage:
    return Stage(
        table,
        name,
        frozenset(next_.split()),
        frozenset(str(f) for f in match),
        frozenset(str(f) for f in sets),
    )


STAGE_LIST = (
    # in_port/tunnel: source check, ARP and neighbour discovery, VNI check; start conntrack
    _stage(
        0,
        "classify",
        "arp nd sg_egress_remote nacl_tgw_exit igw_dnat internet_route gateway_in gateway_return "
        "natgw_ingress metadata nlb_back "
        "middlebox_nacl_exit nacl_tgw_entry vgw_route vgw_in tgw_route",
        ("in_port", "eth_type", "eth_src", "eth_dst", "nw_src", "nw_dst", "tun_id", "ip_proto", "tp_dst")
        + ("ipv6_src", "ipv6_dst", "icmpv6_type", "tun_src"),
        # and, for a SYN back from the MSS clamp, what ClampKey saved
        (R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.DST_VPC, R.ATTACHMENT_SUBNET, R.TGW_TABLE)
        + (R.NEXT_HOP, R.HAIRPINS, "in_port_nxm", "eth_src", "eth_dst", SENDER),
    ),
    # the card's metadata service: an instance's requests, the service's answers
    _stage(
        5,
        "metadata",
        "",
        ("in_port", "eth_type", "nw_src", "nw_dst", "ipv6_src", "ipv6_dst"),
        ("eth_src", "eth_dst", "nw_src", "nw_dst", "ipv6_src", "ipv6_dst"),
    ),
    # ARP answered by the card, per subnet: the subnet router and the subnet's instances
    _stage(10, "arp", "", ("in_port", R.SRC_SUBNET, "eth_type", "arp_op", "arp_tpa")),
    # neighbour solicitations, per subnet: up to Hyperplane with the answer's MAC as destination
    _stage(
        11,
        "nd",
        "",
        ("in_port", R.SRC_SUBNET, "eth_type", "ip_proto", "icmpv6_type", "ipv6_nd_target"),
        ("eth_dst",),
    ),
    # the referenced SGs the destination belongs to, as the sender's routes reach it
    _stage(
        15,
        "sg_egress_remote",
        "sg_egress",
        (R.SRC_VPC, R.ROUTE_TABLE, "eth_type", "nw_dst", "ipv6_dst"),
        REMOTE_SGS,
    ),
    # SG egress of the sender (ct state: +est passes, +new needs a rule)
    _stage(
        20, "sg_egress", "nacl_src_egress nlb_reply", {"in_port", "ct_state", "ct_mark", *REMOTE_SGS} | IP
    ),
    # a direct NLB's target's reply (ct_mark: the node that brought it) back to that node
    # (its subnet's NACL egress if the node is in another subnet)
    _stage(22, "nlb_reply", "nlb_back", {"ct_mark", R.SRC_SUBNET} | IP, ("eth_dst", "tun_id", "tun_dst")),
    # NACL egress of the source subnet (skipped inside the subnet)
    _stage(
        25, "nacl_src_egress", "vpc_route deliver_lookup", {R.SRC_SUBNET} | IP, (R.DST_VPC, R.SAME_SUBNET)
    ),
    # the source subnet's route table, longest prefix
    _stage(
        30,
        "vpc_route",
        "peering tgw_entry deliver_lookup igw_egress natgw_tunnel middlebox_tunnel gateway_endpoint",
        {R.ROUTE_TABLE, R.HAIRPINS} | IP,
        (R.NEXT_HOP, R.DST_VPC, "eth_src", "eth_dst", "tun_id", "tun_dst"),  # to a VGW: its card
    ),
    # a route to a gateway endpoint: a packet from the VPC's own addresses goes to the
    # internet's card, its VPC's number in the VNI (the service sees its private source)
    _stage(32, "gateway_endpoint", "", {R.NEXT_HOP, R.SRC_VPC} | IP, ("tun_id", "tun_dst")),
    # a peering delivers only between its two VPCs
    _stage(35, "peering", "deliver_lookup peering_mtu", {R.NEXT_HOP, R.SRC_VPC} | IP, (R.DST_VPC, R.TOO_BIG)),
    # an inter-Region peering's MTU: a packet longer than 8500 bytes is dropped (no ICMP error)
    _stage(37, "peering_mtu", "deliver_lookup", (R.NEXT_HOP, R.TOO_BIG)),
    # into the TGW: the attachment must cover the source AZ
    _stage(
        40,
        "tgw_entry",
        "tgw_mtu tgw_route",
        (R.NEXT_HOP, R.SRC_VPC, R.AZ, R.HAIRPINS),
        (R.ATTACHMENT_SUBNET, R.TGW_TABLE, R.TOO_BIG),
    ),
    # the TGW's MTU, after tgw_entry:
    # a packet longer than 8500 bytes is dropped (no ICMP error, as AWS); a TCP SYN (or
    # SYN-ACK) goes through the card's kernel, which clamps its MSS, and comes back by classify
    # (ClampKey); the rest on to the entry NACL
    _stage(
        42,
        "tgw_mtu",
        "nacl_tgw_entry",
        (R.NEXT_HOP, R.TOO_BIG, "eth_type", "ip_proto", "tcp_flags"),
        ("eth_src", "eth_dst"),
    ),
    # NACL ingress of the source attachment subnet (AWS tgw-nacls)
    _stage(45, "nacl_tgw_entry", "tgw_route", {R.ATTACHMENT_SUBNET} | IP),
    # the TGW route table associated with the source attachment (a site's packet comes here
    # from classify, by its VPN attachment's table)
    # (a route to a TGW peering attachment: on into the peer TGW's table, once;
    # equal VPN routes: the flow hash picks one)
    _stage(
        50,
        "tgw_route",
        "tgw_exit tgw_route tgw_ecmp",
        {R.TGW_TABLE, R.ATTACHMENT_SUBNET, R.PEERED} | IP,
        (R.NEXT_HOP, R.TGW_TABLE, R.PEERED, R.ECMP_PICK),
    ),
    # the VPN tunnel a TGW route's flow hash picked (``controller.compiler.tgw_hybrid``)
    _stage(52, "tgw_ecmp", "tgw_exit", {R.TGW_TABLE, R.ECMP_PICK} | IP, (R.NEXT_HOP,)),
    # out of the TGW into the next attachment's VPC (or back to routing: a hairpin), or into
    # a VPN tunnel (its inner port's MAC; tunnel_out sends it to the internet's card)
    _stage(
        55,
        "tgw_exit",
        "deliver_lookup vpc_route tunnel_out",
        {R.NEXT_HOP, R.AZ, R.HAIRPINS} | IP,
        (R.DST_VPC, R.EXIT_SUBNET, R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.HAIRPINS, "eth_dst"),
    ),
    # to a NAT gateway's card (its MAC), or a local hand-over to its stages
    _stage(
        60,
        "natgw_tunnel",
        "natgw_ingress",
        (R.NEXT_HOP,),
        ("eth_dst", "tun_id", "tun_dst", R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.HAIRPINS),
    ),
    # into the NAT gateway: its subnet's NACL ingress; ct nat in its zone
    _stage(65, "natgw_ingress", "natgw_snat", {"eth_dst"} | IP),
    # a new connection's source becomes the gateway's private address (ports too); then its
    # subnet's egress NACL and route table
    _stage(70, "natgw_snat", "natgw_snat nacl_src_egress", {"ct_state", "eth_dst"} | IP),
    # out through the internet gateway: the sender's NAT zone (replies get their translation)
    _stage(75, "igw_egress", "igw_snat", {R.SRC_VPC} | IP),
    # a new connection's source becomes the public IP; then on to the internet's card
    _stage(
        80, "igw_snat", "igw_snat igw_mtu", {"ct_state", R.SRC_VPC} | IP, ("tun_id", "tun_dst", R.TOO_BIG)
    ),
    # the internet gateway's MTU, after igw_snat: a packet longer than 1500 bytes goes up to
    # Hyperplane, which answers ICMP "fragmentation needed" from the internet (as AWS does);
    # the rest is sent over VXLAN to the internet's card
    _stage(82, "igw_mtu", "", (R.SRC_VPC, R.TOO_BIG)),
    # in from the internet gateway: a new connection's destination becomes the private IP
    _stage(85, "igw_dnat", "igw_dnat nacl_tgw_exit", {"ct_state", R.DST_VPC} | IP),
    # the internet's card, from a gateway endpoint (after ct in the gateway endpoints' zone): a
    # new connection is committed with its VPC's number as ct_mark, a known one goes on, and a
    # reply of a connection the endpoint never carried (the instance answering someone who came
    # another way) is dropped
    _stage(86, "gateway_in", "internet_route", {"ct_state", "tun_id"} | IP),
    # the internet's card, from an AWS service's host (after ct in the gateway endpoints'
    # zone): the reply of a connection a gateway endpoint brought goes back to the instance's
    # card (ct_mark: its VPC's number); the rest on to internet_route
    _stage(
        87,
        "gateway_return",
        "internet_route",
        {"ct_state", "ct_mark"} | IP,
        ("eth_src", "eth_dst", "tun_id", "tun_dst"),
    ),
    # the internet's card: its hosts by address, public IPs to their instance's card
    _stage(90, "internet_route", "", IP, ("eth_src", "eth_dst", "tun_id", "tun_dst")),
    # the internet's card, a VGW's routes (by its MAC and its VPC in the VNI): the tunnel it
    # takes for the prefix (``controller.compiler.hybrid``)
    _stage(91, "vgw_route", "", {"eth_dst", "tun_id"} | IP, ("eth_dst",)),
    # the internet's card, out of a tunnel to a VGW: by its VPC's local route to an owner's card
    _stage(92, "vgw_in", "", {R.DST_VPC} | IP, ("eth_src", "eth_dst", "tun_id", "tun_dst")),
    # the destination instance by address in the destination VPC
    _stage(95, "deliver_lookup", "tunnel_out", {R.DST_VPC} | IP, ("eth_dst",)),
    # VXLAN to the destination's server (the TunnelKey in the VNI), or hand over locally
    # (a VPN tunnel's inner port, by its MAC: to the internet's card, or out of that port there)
    _stage(
        100, "tunnel_out", "nacl_tgw_exit fabric_sender", {R.DST_VPC, "eth_dst"} | IP, ("tun_id", "tun_dst")
    ),
    # resubmitted by the tunnel: a packet whose SENDER is set leaves with that interface's MAC
    _stage(
        102, "fabric_sender", "", (SENDER,), ("eth_src",)
    ),  # receiving: NACL egress of the attachment subnet a TGW delivered through
    _stage(105, "nacl_tgw_exit", "nacl_dst_ingress sg_ingress_remote", {"tun_id"} | IP),
    # receiving: NACL ingress of the destination subnet
    _stage(110, "nacl_dst_ingress", "sg_ingress_remote", {"tun_id", R.DST_VPC} | IP),
    # the referenced SGs the source belongs to, as its routes reach the receiver (by the
    # sending interface's MAC if it names itself, else by source address)
    _stage(
        115,
        "sg_ingress_remote",
        "sg_ingress",
        (R.DST_VPC, "eth_type", "nw_src", "nw_dst", "ipv6_src", "ipv6_dst", "eth_src"),
        REMOTE_SGS,
    ),
    # SG ingress of the receiver (ct state), then out to its port; a NAT gateway (no SG):
    # ct nat in its zone, as its own subnet's sender
    _stage(
        120,
        "sg_ingress",
        "natgw_return endpoint_dnat nlb_return nlb_mark",
        {R.DST_VPC, "ct_state", *REMOTE_SGS} | IP,
        (R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.NEXT_HOP),
    ),
    # a direct NLB's target: a node's new connection committed again with the node as ct_mark
    _stage(122, "nlb_mark", "", {R.DST_VPC, "eth_src", "ct_state"} | IP),
    # a reply the NAT gateway translated back goes on from its subnet; nothing else comes in
    _stage(125, "natgw_return", "nacl_src_egress", {"ct_state", "eth_dst"} | IP),
    # a route to an instance (an appliance): to its card, saying whether the packet comes from
    # the appliance's own subnet, or after a TGW through which attachment subnet
    _stage(
        130,
        "middlebox_tunnel",
        "middlebox_nacl_exit fabric_sender",
        (R.NEXT_HOP, R.SRC_SUBNET, R.HAIRPINS, "eth_type"),
        ("tun_id", "tun_dst", R.EXIT_SUBNET, R.SAME_SUBNET),
    ),
    # receiving, for the appliance's MAC: the attachment subnet's NACL egress after a TGW
    _stage(135, "middlebox_nacl_exit", "middlebox_nacl_ingress", {"eth_dst", "tun_id"} | IP),
    # the appliance's subnet's NACL ingress (unless it comes from that subnet)
    _stage(140, "middlebox_nacl_ingress", "middlebox_sg", {"eth_dst", "tun_id"} | IP),
    # the appliance's SG ingress (ct state, its zone), then out to its port
    _stage(145, "middlebox_sg", "", {"eth_dst", "ct_state", *REMOTE_SGS} | IP),
    # PrivateLink, on the card of the NLB node an endpoint interface uses (NEXT_HOP: the
    # interface's number from here on). Past the interface's SGs: a listener's connection is
    # tracked in the interface's translation zone (its destination translation)
    _stage(150, "endpoint_dnat", "endpoint_pick", {R.DST_VPC} | IP, (R.NEXT_HOP,)),
    # a known connection: on into the source translation zone; a new one: the flow hash
    # picks a healthy target
    _stage(
        155,
        "endpoint_pick",
        "nlb_target nlb_snat nlb_send",
        (R.NEXT_HOP, "ct_state", "eth_type"),
        (R.NLB_PICK,),
    ),
    # the pick's destination translation (to the target's address and port), committed; on
    # into the source translation zone
    _stage(160, "nlb_target", "nlb_snat nlb_send", {R.NEXT_HOP, R.NLB_PICK} | IP),
    # a new connection's source becomes the node's address (a port of the interface's block);
    # then the node sends it as its subnet's own sender: NACL egress, route table, delivery
    _stage(
        165,
        "nlb_snat",
        "nacl_src_egress",
        {R.NEXT_HOP, "ct_state"} | IP,
        (R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.HAIRPINS, R.SAME_SUBNET, R.EXIT_SUBNET)
        + (SENDER, "eth_src"),
    ),
    # a direct NLB's node sends the translated packet as its subnet's sender, naming itself
    _stage(
        168,
        "nlb_send",
        "nacl_src_egress",
        (R.NEXT_HOP,),
        (R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.HAIRPINS, R.SAME_SUBNET, R.EXIT_SUBNET)
        + (SENDER, "eth_src"),
    ),
    # a target's reply at the node (sg_ingress found the interface by the port block): only
    # replies go back, translated in the interface's zones; nothing opens a connection this way
    _stage(170, "nlb_return", "endpoint_return", (R.NEXT_HOP, "ct_state", "eth_type")),
    # the interface's SG zone sees the reply too; then it leaves as the interface's subnet's
    # sender, to the consumer
    _stage(
        175,
        "endpoint_return",
        "nacl_src_egress",
        (R.NEXT_HOP, "ct_state", "eth_type"),
        (R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.HAIRPINS, R.SAME_SUBNET, R.EXIT_SUBNET),
    ),
    # a direct NLB's target's reply at its node (by the MAC it has for them): its subnet's NACL
    # ingress unless the target is in it; ct nat in its zone puts its address back as source
    _stage(177, "nlb_back", "nlb_unnat", {"eth_dst"} | IP),
    # a known connection's reply leaves as the node's subnet's sender, to the client
    _stage(
        179,
        "nlb_unnat",
        "nacl_src_egress",
        ("eth_dst", "ct_state", "eth_type"),
        (R.SRC_SUBNET, R.ROUTE_TABLE, R.AZ, R.SRC_VPC, R.HAIRPINS, R.SAME_SUBNET, R.EXIT_SUBNET)
        + (SENDER, "eth_src"),
    ),
)
STAGES = tuple(stage.name for stage in STAGE_LIST)
# the stages that decide a packet's fate, and whose interface records it in a flow log: their
# drops sample a REJECT; in the SG stages, a commit samples an ACCEPT by the rule, a tracked
# packet passing an ACCEPT by connection state
SAMPLED_SIDE = {
    "classify": SampleKey.EITHER,  # source check (an instance's port), VNI check (the tunnel)
    "sg_egress": SampleKey.SENDING,
    "nacl_src_egress": SampleKey.SENDING,
    "vpc_route": SampleKey.SENDING,
    "peering": SampleKey.SENDING,
    "tgw_entry": SampleKey.SENDING,
    "nacl_tgw_entry": SampleKey.SENDING,
    "tgw_route": SampleKey.SENDING,
    "tgw_exit": SampleKey.SENDING,
    "tgw_mtu": SampleKey.SENDING,
    "igw_egress": SampleKey.SENDING,
    "igw_snat": SampleKey.SENDING,
    "deliver_lookup": SampleKey.SENDING,
    "middlebox_tunnel": SampleKey.SENDING,
    "nlb_reply": SampleKey.SENDING,  # a direct NLB target's reply, at its subnet's NACL egress
    "nacl_tgw_exit": SampleKey.RECEIVING,
    "nacl_dst_ingress": SampleKey.RECEIVING,
    "sg_ingress": SampleKey.RECEIVING,
    "middlebox_nacl_exit": SampleKey.RECEIVING,
    "middlebox_nacl_ingress": SampleKey.RECEIVING,
    "middlebox_sg": SampleKey.RECEIVING,
}
SG_STAGES = frozenset({"sg_egress", "sg_ingress", "middlebox_sg"})
STAGE = {stage.name: stage for stage in STAGE_LIST}
TABLE = {stage.name: stage.table for stage in STAGE_LIST}  # declared: gaps leave room for new stages
STAGE_AT = {stage.table: stage.name for stage in STAGE_LIST}  # a table number's stage


@dataclass(frozen=True)
class Flow:
    """One flow as plain data: the stage, a priority, a match, typed actions, the YAML origin.

    ``match`` maps field names (registers as ``Reg``) to values: ints for exact fields,
    ``(value, mask)`` for masked ones (IPv4 prefixes, port blocks, ct_state). An empty
    ``actions`` tuple, or one ending in ``Drop``, drops the packet.
    """

    stage: str
    priority: int
    match: tuple  # sorted (field, value) pairs, so a Flow is hashable and comparable
    actions: tuple[Action, ...]
    origin: str

    @property
    def table(self) -> int:
        return TABLE[self.stage]

    @property
    def match_dict(self) -> dict:
        return dict(self.match)


class StageViolation(Defect):
    """A flow outside its stage's declaration: the compiler's mistake, never the design's."""


def _keep(condition: bool, message: str) -> None:
    if not condition:
        raise StageViolation(message)


def flow(stage: str, priority: int, match: dict, actions, origin: str) -> Flow:
    """Build a Flow; it must keep to its stage's declaration (else ``StageViolation``)."""
    declared = STAGE[stage]
    fields = {str(name) for name in match}
    _keep(fields <= declared.match, f"{stage} may not match {fields - declared.match}")
    for action in actions:
        if isinstance(action, (Goto, Resubmit)) or (isinstance(action, Ct) and action.next_stage):
            target = action.next_stage if isinstance(action, Ct) else action.stage
            _keep(target in declared.next, f"{stage} may not continue to {target}")
            if isinstance(action, Goto):
                _keep(TABLE[action.stage] > TABLE[stage], f"{stage} cannot go back to {target}")
        if isinstance(action, (SetReg, SetField, Move, FlowHash, CheckLarger)):
            _keep(str(action.field) in declared.sets, f"{stage} may not set {action.field}")
        if isinstance(action, ArpReply):
            _keep(stage == "arp", "only the arp stage answers ARP")
    return Flow(stage, priority, tuple(sorted((str(k), v) for k, v in match.items())), tuple(actions), origin)
