"""The instance edge of a Nitro card: classify, ARP and the tunnel (SGs: ``security_groups``)."""

from __future__ import annotations

from vpclab.errors import Defect
from vpclab.intent.model import METADATA_ADDRESS, METADATA_ADDRESS_V6, RESOLVER_ADDRESS, RESOLVER_ADDRESS_V6
from vpclab.layout.actions import (
    CONTROLLER,
    DROP,
    ArpReply,
    Ct,
    CtClear,
    Goto,
    Move,
    Output,
    Resubmit,
    SetField,
    SetReg,
)
from vpclab.layout.pipeline import ROUTER_MAC, SENDER, TUNNEL_PORT, Reg, TunnelKey, flow
from vpclab.layout.plan import DNS_PORT, METADATA_MAC, METADATA_PORT, RESOLVER_STAND_IN

from .matches import (
    ADDRESS_FIELD,
    ETH_ARP,
    ETH_IP,
    ETH_IPV6,
    ETH_TYPE,
    ICMPV6,
    NEIGHBOR_SOLICITATION,
    ROUTER_SOLICITATION,
    TCP,
    UDP,
    address_match,
    host,
)

TABLE_MISS = "vpclab:table-miss"
ANSWER, OWN_ADDRESS = 100, 110
METADATA = 120  # above the instance's own classify flow
ND = 115  # neighbour discovery, above the instance's own classify flow
# ICMPv6 an instance sends that the VPC takes no part in: multicast listener query, report and
# done (MLDv1), MLDv2 report, router solicitation, an appliance's redirect (its kernel sends one
# for what it forwards back out of eth0); dropped in ``nd``, which no flow log samples
QUIET_ICMPV6 = (130, 131, 132, 143, ROUTER_SOLICITATION, 137)
METADATA_ORIGIN = "vpclab:metadata-service"


def classify(plan, server: str) -> list:
    """Source check for local instances, VNI check for tunnel arrivals; start conntrack."""
    flows = [flow("classify", 0, {}, (DROP,), TABLE_MISS)]
    for local in plan.on_server(server):
        instance = local.instance
        vpc = plan.topology.vpc(instance.vpc)
        subnet = vpc.subnet(instance.subnet)
        port = {"in_port": local.port}
        subnet_id = SetReg(Reg.SRC_SUBNET, plan.subnet_id[(vpc.name, subnet.name)])
        flows.append(
            flow("classify", 100, {**port, "eth_type": ETH_ARP}, (subnet_id, Goto("arp")), instance.origin)
        )
        registers = (
            subnet_id,
            SetReg(Reg.ROUTE_TABLE, plan.route_table_id[(vpc.name, subnet.route_table)]),
            SetReg(Reg.AZ, plan.az_id[subnet.az]),
            SetReg(Reg.SRC_VPC, vpc.number),
        )
        for address in instance.addresses:
            flows.append(
                flow(
                    "classify",
                    100,
                    {**port, "eth_src": local.mac, **_own_source(instance, address)},
                    registers + sender(local) + (Ct(False, local.zone, "sg_egress_remote"),),
                    instance.origin,
                )
            )
        if instance.ipv6 is not None:  # neighbour discovery: the card answers solicitations
            icmpv6 = {**port, "eth_type": ETH_IPV6, "ip_proto": ICMPV6}
            solicits = {**icmpv6, "icmpv6_type": NEIGHBOR_SOLICITATION}
            flows.append(flow("classify", ND, solicits, (subnet_id, Goto("nd")), instance.origin))
            # router solicitations (its address and route are configured: DHCPv6's part) and
            # multicast listener messages (a VPC has no multicast) end in ``nd``, unlogged
            for kind in QUIET_ICMPV6:
                quiet = {**icmpv6, "icmpv6_type": kind}
                flows.append(flow("classify", ND, quiet, (subnet_id, Goto("nd")), instance.origin))
        flows.append(flow("classify", 10, port, (DROP,), instance.origin))  # spoofed
        for address in instance.addresses:
            flows.append(arrival(plan, vpc, address, Ct(False, local.zone, "nacl_tgw_exit"), instance.origin))
    return flows


def arrival(plan, vpc, address, onward, origin: str):
    """classify for a packet the tunnel brings to ``address`` of ``vpc`` (the VNI check):
    the destination VPC noted, then ``onward`` (into the receiver's ct zone, or on)."""
    match = {
        "in_port": TUNNEL_PORT,
        "tun_id": TunnelKey.match(VPC=plan.vni(vpc)),
        **address_match("dst", address),
    }
    return flow("classify", 100, match, (SetReg(Reg.DST_VPC, vpc.number), onward), origin)


def sender(local) -> tuple:
    """An instance that may send with addresses not its own names itself (``SENDER``), so the
    receiving card takes its SGs by interface (its MAC); the others are known by address."""
    if local.instance.source_dest_check:
        return ()
    if not 0 < local.zone < 1 << 16:
        raise Defect(f"{local.instance.name}: zone {local.zone} does not fit SENDER")
    return (SetField(SENDER, local.zone),)


def fabric_senders(plan, server: str) -> list:
    """fabric_sender: the inner source MAC of what an instance that names itself sent is its
    own (routing wrote the router's), so the receiving card knows the interface."""
    return [
        flow(
            "fabric_sender",
            100,
            {SENDER: local.zone},
            (SetField("eth_src", local.mac),),
            local.instance.origin,
        )
        for local in plan.on_server(server)
        if sender(local)
    ]


def _own_source(instance, address) -> dict:
    """The source check: its own address only, unless it has source_dest_check: false."""
    if instance.source_dest_check:
        return address_match("src", address)
    return {"eth_type": ETH_TYPE[address.version]}


def arp(plan, server: str) -> list:
    """ARP is answered by the card, once per local subnet: for the subnet's router and its
    instances; an instance asking for its own address gets no answer."""
    flows = []
    subnets = {}
    for local in plan.on_server(server):
        if local.instance.ip is None:  # IPv6-only: neighbour discovery (``nd``)
            continue
        vpc = plan.topology.vpc(local.instance.vpc)
        subnets[(vpc.name, local.instance.subnet)] = vpc
        match = {"in_port": local.port, "eth_type": ETH_ARP, "arp_op": 1, "arp_tpa": str(local.instance.ip)}
        flows.append(flow("arp", OWN_ADDRESS, match, (DROP,), local.instance.origin))
    for (_, name), vpc in subnets.items():
        subnet = vpc.subnet(name)
        answers = [(subnet.router_address, ROUTER_MAC, subnet.origin)]
        if vpc.dns_support and vpc.resolver_address in subnet.cidr:  # the resolver, on-link
            answers.append((vpc.resolver_address, ROUTER_MAC, vpc.origin))
        answers += [
            (other.ip, plan.instances[other.name].mac, other.origin)
            for other in vpc.instances
            if other.subnet == subnet.name and other.ip is not None
        ]
        answers += [
            (link.ip, link.mac, link.origin) for link in plan.link_addresses(vpc) if link.subnet == name
        ]
        key = {Reg.SRC_SUBNET: plan.subnet_id[(vpc.name, name)], "eth_type": ETH_ARP, "arp_op": 1}
        for address, mac, origin in answers:
            match = {**key, "arp_tpa": str(address)}
            flows.append(flow("arp", ANSWER, match, (ArpReply(mac, str(address)),), origin))
    return flows


def nd(plan, server: str) -> list:
    """Neighbour discovery, as ARP: a solicitation for the subnet's router or one of its
    instances goes up to Hyperplane with the answer's MAC as its destination, and Hyperplane
    sends the advertisement back out of the port it came in by (``controller.hyperplane.nd``);
    an instance asking for its own address gets no answer."""
    flows = []
    subnets = {}
    solicits = {"eth_type": ETH_IPV6, "ip_proto": ICMPV6, "icmpv6_type": NEIGHBOR_SOLICITATION}
    for local in plan.on_server(server):
        instance = local.instance
        if instance.ipv6 is None:
            continue
        vpc = plan.topology.vpc(instance.vpc)
        subnets[(vpc.name, instance.subnet)] = vpc
        match = {"in_port": local.port, **solicits, "ipv6_nd_target": str(instance.ipv6)}
        flows.append(flow("nd", OWN_ADDRESS, match, (DROP,), instance.origin))
        for kind in QUIET_ICMPV6:
            quiet = {"in_port": local.port, **solicits, "icmpv6_type": kind}
            flows.append(flow("nd", OWN_ADDRESS, quiet, (DROP,), instance.origin))
    for (_, name), vpc in subnets.items():
        subnet = vpc.subnet(name)
        answers = [(subnet.router_address_v6, ROUTER_MAC, subnet.origin)]
        answers += [
            (other.ipv6, plan.instances[other.name].mac, other.origin)
            for other in vpc.instances
            if other.subnet == subnet.name and other.ipv6 is not None
        ]
        key = {Reg.SRC_SUBNET: plan.subnet_id[(vpc.name, name)], **solicits}
        for address, mac, origin in answers:
            match = {**key, "ipv6_nd_target": str(address)}
            flows.append(flow("nd", ANSWER, match, (SetField("eth_dst", mac), Output(CONTROLLER)), origin))
    return flows


ANY_PACKET: tuple[dict, ...] = ({},)  # the metadata service takes any packet; the resolver, DNS
DNS_QUERIES = tuple({"ip_proto": protocol, "tp_dst": DNS_PORT} for protocol in (UDP, TCP))


def metadata(plan, server: str) -> list:
    """The card's metadata service at 169.254.169.254 (and [fd00:ec2::254]): a local instance's
    requests go to the service's port from the instance's link-local address; the answers come
    back to it. With DNS support, the VPC's resolver the same way (``resolver``)."""
    flows = []
    service = {"in_port": METADATA_PORT}
    if plan.on_server(server):
        flows += [
            flow("classify", METADATA, {**service, "eth_type": kind}, (Goto(stage),), METADATA_ORIGIN)
            for kind, stage in ((ETH_IP, "metadata"), (ETH_IPV6, "metadata"), (ETH_ARP, "arp"))
        ]
    for local in plan.on_server(server):
        instance = local.instance
        dns = plan.topology.vpc(instance.vpc).dns_support
        if instance.ipv6 is not None:  # fd00:ec2::254, and the resolver at fd00:ec2::253
            flows += service_flows(
                local, METADATA_ADDRESS_V6, METADATA_ADDRESS_V6, ANY_PACKET, instance.origin
            )
            if dns:
                origin = plan.topology.vpc(instance.vpc).origin
                flows += service_flows(local, RESOLVER_ADDRESS_V6, RESOLVER_ADDRESS_V6, DNS_QUERIES, origin)
        if instance.ip is None:  # IPv6-only: fd00:ec2::254 and ::253 only
            continue
        flows += service_flows(local, METADATA_ADDRESS, METADATA_ADDRESS, ANY_PACKET, instance.origin)
        flows.append(
            flow(
                "arp",
                ANSWER,
                {**service, "eth_type": ETH_ARP, "arp_op": 1, "arp_tpa": str(local.link_local)},
                (ArpReply(ROUTER_MAC, str(local.link_local)),),
                instance.origin,
            )
        )
        if dns:
            flows += resolver(plan, local)
    return flows


def resolver(plan, local) -> list:
    """The VPC's resolver, for one local instance: DNS (UDP or TCP) to the VPC's base + 2 (or to
    169.254.169.253) goes to the card's resolver from the instance's link-local address; its
    answers come back from the address asked."""
    vpc = plan.topology.vpc(local.instance.vpc)  # its origin: the VPC's resolver (enable_dns_support)
    flows = []
    for asked, there in ((vpc.resolver_address, RESOLVER_STAND_IN), (RESOLVER_ADDRESS, RESOLVER_ADDRESS)):
        flows += service_flows(local, asked, there, DNS_QUERIES, vpc.origin, readdress=True)
    return flows


def service_flows(local, asked, there, kinds: tuple, origin: str, readdress: bool = False) -> list:
    """A card service for one local instance, in ``asked``'s family: what the instance sends to
    ``asked`` (of ``kinds``) goes from its link-local address to the service's port (the
    metadata stage), and the answers come back from ``asked``. With ``readdress`` (the IPv4
    resolver) the request is sent to ``there`` and the answer's source set back to ``asked``."""
    instance, version = local.instance, asked.version
    own = instance.ip if version == 4 else instance.ipv6
    link_local = local.link_local if version == 4 else local.link_local_v6
    src, dst = ADDRESS_FIELD[(version, "src")], ADDRESS_FIELD[(version, "dst")]
    mine = {"in_port": local.port, "eth_type": ETH_TYPE[version]}
    sent = {**mine, "eth_src": local.mac, src: host(own), dst: host(asked)}
    return [
        *(flow("classify", METADATA, {**sent, **kind}, (Goto("metadata"),), origin) for kind in kinds),
        flow(
            "metadata",
            ANSWER,
            {**mine, dst: host(asked)},
            (
                SetField(src, str(link_local)),
                *((SetField(dst, str(there)),) if readdress else ()),
                SetField("eth_src", ROUTER_MAC),
                SetField("eth_dst", METADATA_MAC),
                Output(METADATA_PORT),
            ),
            origin,
        ),
        flow(
            "metadata",
            ANSWER,
            {
                "in_port": METADATA_PORT,
                "eth_type": ETH_TYPE[version],
                src: host(there),
                dst: host(link_local),
            },
            (
                *((SetField(src, str(asked)),) if readdress else ()),
                SetField(dst, str(own)),
                SetField("eth_src", ROUTER_MAC),
                SetField("eth_dst", local.mac),
                Output(local.port),
            ),
            origin,
        ),
    ]


def tunnel_key(plan, vpc) -> tuple:
    """Write the TunnelKey: the VPC, then what the sender's stages learned of the path; and
    the sending interface, if it names itself (``fabric_sender``)."""
    return (
        Resubmit("fabric_sender"),
        SetField("tun_id", plan.vni(vpc)),
        Move(Reg.EXIT_SUBNET, "tun_id", TunnelKey.EXIT_SUBNET[1], TunnelKey.EXIT_SUBNET[0]),
        Move(Reg.SAME_SUBNET, "tun_id", TunnelKey.SAME_SUBNET[1], TunnelKey.SAME_SUBNET[0]),
    )


def tunnels(plan, server: str, delivered) -> list:
    """tunnel_out: VXLAN (the TunnelKey as VNI) to the destination's server, or a local hand-over
    to the receiving stages (the same key), for the instances of the VPCs (``delivered``) a
    packet from this card may end in."""
    flows = []
    for vpc in (vpc for vpc in plan.topology.vpcs if vpc.name in delivered):
        places = [
            (address, i.server, plan.instances[i.name].zone, i.origin)
            for i in vpc.instances
            for address in i.addresses
        ]
        places += [(link.ip, link.server, link.zone, link.origin) for link in plan.link_addresses(vpc)]
        for address, there, zone, origin in places:
            match = {Reg.DST_VPC: vpc.number, **address_match("dst", address)}
            actions: tuple
            if there == server:
                arrive = Ct(False, zone, "nacl_tgw_exit") if zone is not None else Goto("nacl_tgw_exit")
                actions = tunnel_key(plan, vpc) + (CtClear(), arrive)
            else:
                actions = tunnel_key(plan, vpc) + (
                    SetField("tun_dst", str(plan.underlay_ip(there))),
                    Output(TUNNEL_PORT),
                )
            flows.append(flow("tunnel_out", 100, match, actions, origin))
    return flows
