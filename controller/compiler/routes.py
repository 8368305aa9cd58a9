"""Routing stages: VPC route tables, peering, Transit Gateway and the destination lookup.

The compiler's own reading of AWS's routing rules (independent of the oracle in
``vpclab.oracle``): longest prefix wins by priority; on a TGW a static route beats a
propagated one of the same prefix, and a CIDR propagated twice keeps its first propagation.
"""

from __future__ import annotations

from vpclab.errors import Defect
from vpclab.intent.model import INTER_REGION_MTU, TGW_MTU
from vpclab.layout.actions import (
    CONTROLLER,
    DROP,
    CheckLarger,
    DecTtl,
    Goto,
    Move,
    Output,
    Resubmit,
    SetField,
    SetReg,
)
from vpclab.layout.pipeline import MAX_HAIRPINS, MSS_CLAMP_PORT, ROUTER_MAC, TUNNEL_PORT, ClampKey, Reg, flow

from . import edge, gateway_endpoints, hybrid, middlebox, tgw_hybrid
from .matches import (
    ETH_IP,
    ETH_IPV6,
    ETHERNET_HEADER,
    TCP,
    TCP_SYN,
    address_match,
    carried_tgw_route,
    host,
    network_match,
)

MISS_PRIORITY = 1
UNASSIGNED = 2  # deliver_lookup: an address of a subnet, owned by nobody (above the VPC's miss)
TOO_BIG_PRIORITY = 300  # above every other flow of the stage
ROUTED = (DecTtl(), SetField("eth_src", ROUTER_MAC))  # the VPC router forwards it
MSS_CLAMP_ORIGIN = "vpclab:mss-clamp"  # the cards' way through their kernel's MSS clamp


def route_priority(prefixlen: int, static: bool = True) -> int:
    """Longest prefix first; on an equal prefix, a static TGW route above a propagated one."""
    return 100 + 2 * prefixlen + (1 if static else 0)


def vpc_route_priority(route) -> int:
    """Longest prefix first; on an equal prefix a CIDR route above a prefix list's, and both
    (static) above a route a VGW propagated (AWS's route priority); each leaves the next
    priority free for its hairpin variants."""
    kind = 0 if route.propagated else 2 if route.prefix_list else 4
    return 100 + 6 * route.destination.prefixlen + kind


def vpc_routes(plan, vpc) -> list:
    """vpc_route: longest prefix wins (priority grows with the prefix length).

    A packet a TGW handed to a VPC for an address outside it (HAIRPINS > 0) is routed again
    by the attachment subnet's table, but may not leave over a peering (not transitive) nor
    cross a TGW a fourth time; those variants sit one step above their route.
    """
    flows = []
    gateway = vpc.internet_gateway or vpc.egress_only_internet_gateway
    if gateway:  # what leaves by the gateway must fit 1500 bytes: a longer packet goes up
        # to Hyperplane, which answers "fragmentation needed" (``controller.hyperplane.pmtu``)
        leaving = {Reg.SRC_VPC: vpc.number}
        too_big = {**leaving, Reg.TOO_BIG: (1, 1)}
        origin = gateway.origin
        flows.append(flow("igw_mtu", TOO_BIG_PRIORITY, too_big, (Output(CONTROLLER),), origin))
        flows.append(flow("igw_mtu", 100, leaving, (Output(TUNNEL_PORT),), origin))
    for table in vpc.route_tables:
        key = {Reg.ROUTE_TABLE: plan.route_table_id[(vpc.name, table.name)]}
        flows.append(flow("vpc_route", MISS_PRIORITY, key, (DROP,), table.origin))
        for route in hybrid.table_routes(plan.topology, vpc, table):
            match: dict = {**key, **network_match("dst", route.destination)}
            priority = vpc_route_priority(route)
            checked = route.instance and plan.topology.instance(route.instance).source_dest_check
            origin = (
                f"{plan.topology.instance(route.instance).origin}.source_dest_check"
                if checked
                else route.origin
            )
            flows.append(flow("vpc_route", priority, match, route_actions(plan, vpc, route), origin))
            for hairpins in range(1, MAX_HAIRPINS + 2):
                refused = (
                    route.peering
                    or route.gateway_endpoint
                    or route.vpn_gateway  # AWS: no edge-to-edge routing through a VGW
                    or (route.transit_gateway and hairpins > MAX_HAIRPINS)
                )
                if refused or route.internet_gateway:
                    # the gateway translates only its own VPC's instances, never a TGW's packet;
                    # a gateway endpoint serves only its own VPC
                    gateway = vpc.internet_gateway
                    origin = gateway.origin if route.internet_gateway and gateway else route.origin
                    if route.gateway_endpoint:
                        origin = plan.topology.gateway_endpoint(route.gateway_endpoint).origin
                    flows.append(
                        flow("vpc_route", priority + 1, {**match, Reg.HAIRPINS: hairpins}, (DROP,), origin)
                    )
    return flows + gateway_endpoints.sending(plan, vpc)


def route_actions(plan, vpc, route) -> tuple:
    if route.local:
        return ROUTED + (SetReg(Reg.DST_VPC, vpc.number), Goto("deliver_lookup"))
    if route.peering:
        peering = plan.topology.peering(route.peering)
        if not peering.active:
            return (DROP,)
        return ROUTED + (SetReg(Reg.NEXT_HOP, plan.peering_id[peering.name]), Goto("peering"))
    if route.transit_gateway:
        return ROUTED + (SetReg(Reg.NEXT_HOP, plan.tgw_id[route.transit_gateway]), Goto("tgw_entry"))
    if route.internet_gateway or route.egress_only_internet_gateway:
        return ROUTED + (Goto("igw_egress"),)
    if route.vpn_gateway:
        return ROUTED + hybrid.to_vgw(plan, vpc, route.vpn_gateway)
    if route.nat_gateway:
        number = plan.nat_gateways[route.nat_gateway].number
        return ROUTED + (SetReg(Reg.NEXT_HOP, number), Goto("natgw_tunnel"))
    if route.instance:
        box = plan.topology.instance(route.instance)
        return (DROP,) if box.source_dest_check else ROUTED + middlebox.route_actions(plan, box)
    if route.gateway_endpoint:
        number = plan.gateway_endpoint_id[route.gateway_endpoint]
        return ROUTED + (SetReg(Reg.NEXT_HOP, number), Goto("gateway_endpoint"))
    return (DROP,)  # blackhole


def peerings(plan, peering) -> list:
    """peering: delivered only if the destination is inside the peer VPC (not transitive)."""
    flows: list = []
    if peering.active:
        key = {Reg.NEXT_HOP: plan.peering_id[peering.name]}
        flows.append(flow("peering", MISS_PRIORITY, key, (DROP,), peering.origin))
        for side in (peering.requester, peering.accepter):
            mine, peer = plan.topology.vpc(side), plan.topology.vpc(peering.other(side))
            for src_cidr in mine.all_cidrs:
                for dst_cidr in (cidr for cidr in peer.all_cidrs if cidr.version == src_cidr.version):
                    match: dict = {
                        **key,
                        Reg.SRC_VPC: mine.number,
                        **network_match("src", src_cidr),
                        **network_match("dst", dst_cidr),
                    }
                    onward = (
                        (CheckLarger(ETHERNET_HEADER + INTER_REGION_MTU, Reg.TOO_BIG), Goto("peering_mtu"))
                        if peering.inter_region
                        else (Goto("deliver_lookup"),)
                    )
                    flows.append(
                        flow(
                            "peering", 100, match, (SetReg(Reg.DST_VPC, peer.number), *onward), peering.origin
                        )
                    )
        if peering.inter_region:  # AWS: 8500 bytes between Regions, larger packets dropped
            flows.append(
                flow("peering_mtu", TOO_BIG_PRIORITY, {**key, Reg.TOO_BIG: 1}, (DROP,), peering.origin)
            )
            flows.append(flow("peering_mtu", 100, key, (Goto("deliver_lookup"),), peering.origin))
    return flows


def tgw_entries(plan, tgw) -> list:
    """tgw_entry: the attachment must have a subnet in the sender's AZ and a route table."""
    flows = []
    for attachment in tgw.vpc_attachments:
        vpc = plan.topology.vpc(attachment.vpc)
        table = tgw.association(attachment.name)
        for az, az_id in plan.az_id.items():
            match = {Reg.NEXT_HOP: plan.tgw_id[tgw.name], Reg.SRC_VPC: vpc.number, Reg.AZ: az_id}
            entry = plan.topology.attachment_subnet(attachment, az)
            if entry is None or not attachment.available:  # pending: it carries nothing yet
                flows.append(flow("tgw_entry", 100, match, (DROP,), attachment.origin))
                continue
            table_id = plan.tgw_table_id[(tgw.name, table.name)] if table else no_table(plan, tgw)
            chosen = (
                SetReg(Reg.ATTACHMENT_SUBNET, plan.subnet_id[(vpc.name, entry.name)]),
                SetReg(Reg.TGW_TABLE, table_id),
            )
            measured = (CheckLarger(ETHERNET_HEADER + TGW_MTU, Reg.TOO_BIG), Goto("tgw_mtu"))
            flows.append(flow("tgw_entry", 100, match, chosen + measured, attachment.origin))
            # only the first entry sees the MTU and a NACL (a hairpin does not change the size)
            for hairpins in range(1, MAX_HAIRPINS + 1):
                flows.append(
                    flow(
                        "tgw_entry",
                        101,
                        {**match, Reg.HAIRPINS: hairpins},
                        chosen + (Goto("tgw_route"),),
                        attachment.origin,
                    )
                )
    return flows


def no_table(plan, tgw) -> int:
    """TGW_TABLE for a packet entering ``tgw`` through an attachment associated with no route
    table: it meets the entry NACL first, as AWS (and trace) check it, then ``tgw_route`` drops
    it at the attachment. Counted down from the top of ClampKey's bits, one per TGW."""
    value = (1 << ClampKey.WIDTH[str(Reg.TGW_TABLE)]) - plan.tgw_id[tgw.name]
    if value <= max(plan.tgw_table_id.values(), default=0):
        raise Defect("TGW route table ids reach no_table")
    return value


def tgw_mtu(plan, tgw) -> list:
    """tgw_mtu: a packet longer than the TGW's MTU is dropped (AWS sends no ICMP error); a
    TCP SYN or SYN-ACK goes through the card's kernel, which lowers its MSS to fit (AWS clamps
    every connection through a TGW) and sends it back to classify, its port and registers in
    its MAC addresses (``ClampKey``, undone by ``from_mss_clamp``); the rest goes on to the
    entry NACL. No packet goes up to Hyperplane."""
    key: dict = {Reg.NEXT_HOP: plan.tgw_id[tgw.name]}
    syns = [
        {**key, "eth_type": eth_type, "ip_proto": TCP, "tcp_flags": (TCP_SYN, TCP_SYN)}
        for eth_type in (ETH_IP, ETH_IPV6)
    ]
    saved = tuple(Move(value, field, width, offset) for value, field, offset, width in ClampKey.SAVED)
    to_kernel = (
        SetField("eth_src", ClampKey.BASE_MAC),
        SetField("eth_dst", ClampKey.BASE_MAC),
        *saved,
        Output(MSS_CLAMP_PORT),
    )
    return [
        flow("tgw_mtu", TOO_BIG_PRIORITY, {**key, Reg.TOO_BIG: (1, 1)}, (DROP,), tgw.origin),
        *(flow("tgw_mtu", 200, syn, to_kernel, tgw.origin) for syn in syns),
        flow("tgw_mtu", 100, key, (Resubmit("nacl_tgw_entry"),), tgw.origin),
    ]


def from_mss_clamp(plan) -> list:
    """classify: a SYN back from the kernel's MSS clamp gets its input port and registers back
    (``ClampKey``) and the VPC router's MACs it had, and goes on at the TGW's entry NACL."""
    check_clamp_key(plan)
    return [
        flow(
            "classify", 100, {"in_port": MSS_CLAMP_PORT, "eth_type": eth_type}, _restored(), MSS_CLAMP_ORIGIN
        )
        for eth_type in (ETH_IP, ETH_IPV6)
    ]


def senders_back_from_clamp(plan, server: str) -> list:
    """classify: a SYN an instance without source/destination check sent comes back from the
    clamp with its ``SENDER`` too (it is tunnel metadata, which the kernel does not keep): the
    saved input port, in the destination MAC's low bits, says whose it was."""
    flows = []
    for local in plan.on_server(server):
        named = edge.sender(local)
        if named:
            port_bits = ClampKey.macs({"in_port_nxm": local.port})["eth_dst"]
            for eth_type in (ETH_IP, ETH_IPV6):
                match = {
                    "in_port": MSS_CLAMP_PORT,
                    "eth_type": eth_type,
                    "eth_dst": (port_bits, "00:00:00:00:ff:ff"),
                }
                flows.append(flow("classify", 110, match, named + _restored(), local.instance.origin))
    return flows


def _restored() -> tuple:
    saved = tuple(
        Move(field, value, width, 0, source_offset=offset) for value, field, offset, width in ClampKey.SAVED
    )
    return saved + (SetField("eth_src", ROUTER_MAC), SetField("eth_dst", ROUTER_MAC), Goto("nacl_tgw_entry"))


def check_clamp_key(plan) -> None:
    """Every value ClampKey saves fits its bits (ids are numbered from 1 per design)."""
    largest = {
        str(Reg.ATTACHMENT_SUBNET): max(plan.subnet_id.values(), default=0),
        str(Reg.TGW_TABLE): max(plan.tgw_table_id.values(), default=0),
        str(Reg.NEXT_HOP): max(plan.tgw_id.values(), default=0),
        str(Reg.AZ): max(plan.az_id.values(), default=0),
        str(Reg.HAIRPINS): MAX_HAIRPINS,
    }
    for name, value in largest.items():
        if value >= 1 << ClampKey.WIDTH[name]:
            raise Defect(f"{name}: {value} does not fit ClampKey's bits")


def tgw_route_tables(plan, tgw) -> list:
    """tgw_route: static routes, then each propagation's VPC CIDRs not already routed; what
    came in through an attachment without a route table is dropped at that attachment."""
    flows = []
    for attachment in tgw.attachments:
        if tgw.association(attachment.name) is None:
            for name in attachment.subnets:
                match: dict = {
                    Reg.TGW_TABLE: no_table(plan, tgw),
                    Reg.ATTACHMENT_SUBNET: plan.subnet_id[(attachment.vpc, name)],
                }
                flows.append(flow("tgw_route", MISS_PRIORITY, match, (DROP,), attachment.origin))
    for table in tgw.route_tables:
        key = {Reg.TGW_TABLE: plan.tgw_table_id[(tgw.name, table.name)]}
        flows.append(flow("tgw_route", MISS_PRIORITY, key, (DROP,), table.origin))
        routed = set()
        for route in table.static_routes:
            if not carried_tgw_route(tgw, route):  # IPv6 to a site: not carried yet
                continue
            routed.add(route.destination)
            match = {**key, **network_match("dst", route.destination)}
            target = tgw.attachment(route.attachment) if route.attachment else None
            if target is not None and target.peering is not None:
                flows += over_peering(plan, tgw, target, route, match)
                continue
            if target is not None and target.hybrid:
                priority = route_priority(route.destination.prefixlen)
                flows.append(tgw_hybrid.static_route(plan, target, route, match, priority))
                continue
            actions = (
                (DROP,)
                if route.blackhole
                else (SetReg(Reg.NEXT_HOP, plan.attachment_id[route.attachment]), Goto("tgw_exit"))
            )
            flows.append(
                flow("tgw_route", route_priority(route.destination.prefixlen), match, actions, route.origin)
            )
        for n, name in enumerate(table.propagations):
            if tgw.attachment(name).hybrid:  # a VPN's or DX gateway's: tgw_hybrid, below
                continue
            for cidr in plan.topology.vpc(tgw.attachment(name).vpc).all_cidrs:  # the /56 too
                if cidr in routed:
                    continue
                routed.add(cidr)
                flows.append(
                    flow(
                        "tgw_route",
                        route_priority(cidr.prefixlen, static=False),
                        {**key, **network_match("dst", cidr)},
                        (SetReg(Reg.NEXT_HOP, plan.attachment_id[name]), Goto("tgw_exit")),
                        f"{table.origin}.propagations[{n}]",
                    )
                )
        flows += tgw_hybrid.propagated(
            plan, tgw, table, routed, lambda length: route_priority(length, static=False)
        )
    return flows


def over_peering(plan, tgw, attachment, route, match: dict) -> list:
    """A static route to a TGW peering attachment: into the route table the peer TGW associates
    with its end (looked up again, in this stage); a packet that already crossed a peering, or
    a peering that is not active, or an end with no table: dropped (trace: tgw-no-route,
    tgw-blackhole)."""
    priority = route_priority(route.destination.prefixlen)
    peering = plan.topology.transit_gateway_peering(attachment.peering)
    peer, far = plan.topology.across(attachment)
    table = peer.association(far.name)
    crossed = flow("tgw_route", priority, {**match, Reg.PEERED: 1}, (DROP,), route.origin)
    if not peering.active or table is None:
        why = peering.origin if not peering.active else far.origin
        return [crossed, flow("tgw_route", priority, {**match, Reg.PEERED: 0}, (DROP,), why)]
    onward = (
        SetReg(Reg.TGW_TABLE, plan.tgw_table_id[(peer.name, table.name)]),
        SetReg(Reg.PEERED, 1),
        Resubmit("tgw_route"),
    )
    return [crossed, flow("tgw_route", priority, {**match, Reg.PEERED: 0}, onward, route.origin)]


def tgw_exits(plan, tgw) -> list:
    """tgw_exit: into the next attachment's VPC, through its subnet in the sender's AZ.

    For an address outside that VPC the attachment subnet's route table decides (a hairpin,
    as through an inspection VPC): the registers now describe that subnet, and the packet
    goes back to vpc_route.
    """
    flows = tgw_hybrid.exits(plan, tgw)
    from_sites = any(a.hybrid for a in tgw.attachments)
    for attachment in tgw.vpc_attachments:
        vpc = plan.topology.vpc(attachment.vpc)
        attachment_id = plan.attachment_id[attachment.name]
        if not attachment.available:  # pending acceptance: nothing leaves through it
            for eth_type in (ETH_IP, ETH_IPV6):
                match = {Reg.NEXT_HOP: attachment_id, "eth_type": eth_type}
                flows.append(flow("tgw_exit", 100, match, (DROP,), attachment.origin))
            continue
        if from_sites:
            flows += tgw_hybrid.site_exits(plan, attachment, vpc)
        for az, az_id in plan.az_id.items():
            exit_subnet = plan.topology.attachment_subnet(attachment, az) or vpc.subnet(attachment.subnets[0])
            exit_id = plan.subnet_id[(vpc.name, exit_subnet.name)]
            onward = (
                SetReg(Reg.SRC_SUBNET, exit_id),
                SetReg(Reg.ROUTE_TABLE, plan.route_table_id[(vpc.name, exit_subnet.route_table)]),
                SetReg(Reg.AZ, plan.az_id[exit_subnet.az]),
                SetReg(Reg.SRC_VPC, vpc.number),
            )
            for hairpins in range(MAX_HAIRPINS + 1):
                for eth_type in (ETH_IP, ETH_IPV6):
                    match = {
                        Reg.NEXT_HOP: attachment_id,
                        Reg.AZ: az_id,
                        Reg.HAIRPINS: hairpins,
                        "eth_type": eth_type,
                    }
                    flows.append(
                        flow(
                            "tgw_exit",
                            50,
                            match,
                            onward + (SetReg(Reg.HAIRPINS, hairpins + 1), Resubmit("vpc_route")),
                            attachment.origin,
                        )
                    )
            for cidr in vpc.all_cidrs:
                match = {Reg.NEXT_HOP: attachment_id, Reg.AZ: az_id, **network_match("dst", cidr)}
                actions = (
                    SetReg(Reg.DST_VPC, vpc.number),
                    SetReg(Reg.EXIT_SUBNET, plan.attachment_subnet_id[(vpc.name, exit_subnet.name)]),
                    Goto("deliver_lookup"),
                )
                flows.append(flow("tgw_exit", 100, match, actions, attachment.origin))
    return flows


def deliveries(plan, vpc) -> list:
    """deliver_lookup: the instance that owns the address in the destination VPC."""
    flows = []
    flows.append(flow("deliver_lookup", MISS_PRIORITY, {Reg.DST_VPC: vpc.number}, (DROP,), vpc.origin))
    for subnet in vpc.subnets:  # an address of a subnet that no interface owns (trace: its subnet)
        for block in (block for block in (subnet.cidr, subnet.ipv6_cidr) if block is not None):
            match = {Reg.DST_VPC: vpc.number, **network_match("dst", block)}
            flows.append(flow("deliver_lookup", UNASSIGNED, match, (DROP,), subnet.origin))
    for instance in vpc.instances:
        for address in instance.addresses:
            match = {Reg.DST_VPC: vpc.number, **address_match("dst", address)}
            actions = (SetField("eth_dst", plan.instances[instance.name].mac), Goto("tunnel_out"))
            flows.append(flow("deliver_lookup", 100, match, actions, instance.origin))
    for nat in vpc.nat_gateways:  # it forwards; nothing is delivered to it
        match = {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(nat.ip)}
        flows.append(flow("deliver_lookup", 100, match, (DROP,), nat.origin))
    for link in plan.link_addresses(vpc):  # endpoint interfaces, NLB nodes
        match = {Reg.DST_VPC: vpc.number, "eth_type": ETH_IP, "nw_dst": host(link.ip)}
        flows.append(
            flow(
                "deliver_lookup", 100, match, (SetField("eth_dst", link.mac), Goto("tunnel_out")), link.origin
            )
        )
    return flows
