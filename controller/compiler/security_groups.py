"""Stateful security groups, and the address sets their SG references match.

An SG rule that names a group does not list the group's members: the *_remote stages first
mark, in the REMOTE_SGS registers, which of the groups named on this card the other end of the
packet belongs to (one flow per member address, like OVN's port groups and address sets); the
rule is then one flow per port block that tests its group's bit. Members count only where AWS
lets an SG reference match them: reached without a transit gateway (own VPC, an active
peering), or inbound over a TGW with SG referencing support (AWS 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.errors import InvalidInput
from vpclab.intent import model as m
from vpclab.layout.actions import DROP, Ct, Goto, Output, SetReg
from vpclab.layout.pipeline import CT_EST, CT_INV, CT_NEW, CT_REL, CT_TRK, REMOTE_SGS, Reg, flow

from .matches import (
    ADDRESS_FIELD,
    ETH_IP,
    ETH_TYPE,
    address_match,
    host,
    prefix,
    traffic_families,
    traffic_matches,
)
from .view import (
    address_of,
    addresses_of,
    peered_vpc,
    reaches_over_referencing_tgw,
    reaches_without_tgw,
    sg_rules_in_order,
)

ESTABLISHED, RELATED, INVALID = 65000, 64999, 64990
FIRST_RULE = 60000  # SG rules count down from here, in the order the oracle names them
NO_RULE = 1
OWN_VPC, OTHER_VPC = 100, 200  # address-set flows; a cross-VPC one is the more specific
BY_SENDER = 300  # a sender that names itself: above every address-set flow
REMOTE_ORIGIN = "vpclab:remote-security-groups"
BITS = 32


class TooManyGroups(InvalidInput):
    """More referenced security groups on one card than the REMOTE_SGS registers hold."""


@dataclass(frozen=True)
class GroupBits:
    """Where each SG named by a rule of a local instance (one direction) has its bit."""

    bits: dict  # SGRef -> (register, bit)
    registers: tuple  # the registers in use on this card
    families: tuple = (4,)  # the IP versions a rule naming an SG matches: IPv6 too in dual stack

    def match(self, ref: m.SGRef) -> dict:
        register, bit = self.bits[ref]
        return {register: (bit, bit)}

    def set(self, refs) -> tuple:
        """SetReg actions writing exactly ``refs``' bits (every register in use, zeros too)."""
        values = dict.fromkeys(self.registers, 0)
        for ref in refs:
            register, bit = self.bits[ref]
            values[register] |= bit
        return tuple(SetReg(register, value) for register, value in values.items())


def receivers(plan, server: str) -> list:
    """What has SGs on ``server``'s card: its instances, the endpoint interfaces it carries."""
    return [local.instance for local in plan.on_server(server)] + [
        local.interface for local in plan.interfaces_on(server)
    ]


def group_bits(plan, server: str, direction: str) -> GroupBits:
    """Number the SGs that the ``direction`` rules of ``server``'s instances (and endpoint
    interfaces) name."""
    refs = {
        rule.security_group
        for interface in receivers(plan, server)
        for rule in sg_rules_in_order(plan.topology, interface, direction)
        if rule.security_group is not None
    }
    if len(refs) > BITS * len(REMOTE_SGS):
        raise TooManyGroups(
            f"{server}: its instances' {direction} rules name {len(refs)} security groups; "
            f"a card holds at most {BITS * len(REMOTE_SGS)} (spread the instances over more servers)"
        )
    ordered = sorted(refs, key=str)
    bits = {ref: (REMOTE_SGS[n // BITS], 1 << (n % BITS)) for n, ref in enumerate(ordered)}
    families = (4, 6) if plan.topology.ipv6_holders else (4,)
    return GroupBits(bits, REMOTE_SGS[: -(-len(ordered) // BITS)], families)


def named_by(topology: m.Topology, instance: m.Instance | m.EndpointInterface, direction: str) -> set:
    """The SGs that the instance's ``direction`` rules name."""
    rules = sg_rules_in_order(topology, instance, direction)
    return {rule.security_group for rule in rules if rule.security_group is not None}


def _groups_at(plan, named: GroupBits, vpc: str) -> dict:
    """address -> the named SGs its instance in ``vpc`` belongs to."""
    found: dict = {}
    for ref in named.bits:
        for member in plan.topology.members(ref):
            if member.vpc == vpc:
                for address in addresses_of(member):
                    found.setdefault(address, set()).add(ref)
    return found


def _own_vpc_sets(plan, server: str, stage: str, named: GroupBits, key: tuple, then: str):
    """A remote stage's floor (no named SG) and its flows for the members of named SGs in the
    VPCs of the card's instances (those always count); also address -> SGs per such VPC."""
    register, address_field = key
    side = address_field[-3:]
    onward = (Goto(then),)
    flows = [flow(stage, 0, {}, named.set(()) + onward, REMOTE_ORIGIN)]
    vpcs = {interface.vpc for interface in receivers(plan, server)}
    own = {vpc: _groups_at(plan, named, vpc) for vpc in vpcs}
    for vpc_name, groups in own.items():
        number = plan.topology.vpc(vpc_name).number
        for address, refs in groups.items():
            match = {register: number, **address_match(side, address)}
            flows.append(flow(stage, OWN_VPC, match, named.set(refs) + onward, REMOTE_ORIGIN))
    return flows, own


def egress_remote(plan, server: str) -> list:
    """sg_egress_remote: the named SGs of the destination, as the sender's routes reach it."""
    topology, named = plan.topology, group_bits(plan, server, "egress")
    flows, _ = _own_vpc_sets(plan, server, "sg_egress_remote", named, (Reg.SRC_VPC, "nw_dst"), "sg_egress")
    onward = (Goto("sg_egress"),)
    tables: dict = {}  # (vpc, route table) of local senders -> the SGs their rules name
    for sender in (local.instance for local in plan.on_server(server)):
        table_key = (sender.vpc, topology.vpc(sender.vpc).subnet(sender.subnet).route_table)
        tables.setdefault(table_key, set()).update(named_by(topology, sender, "egress"))
    for (vpc_name, table_name), refs_named in sorted(tables.items()):
        table = topology.vpc(vpc_name).route_table(table_name)
        peered: dict = {}
        for ref in sorted((r for r in refs_named if r.vpc != vpc_name), key=str):
            for member in topology.members(ref):
                for address in addresses_of(member):
                    if peered_vpc(topology, vpc_name, table, address) == member.vpc:
                        peered.setdefault(address, set()).add(ref)
        for address, refs in peered.items():
            match = {
                Reg.ROUTE_TABLE: plan.route_table_id[(vpc_name, table_name)],
                **address_match("dst", address),
            }  # an address of the own VPC never routes over a peering: no own members here
            flows.append(flow("sg_egress_remote", OTHER_VPC, match, named.set(refs) + onward, REMOTE_ORIGIN))
    return flows


def ingress_remote(plan, server: str) -> list:
    """sg_ingress_remote: the named SGs of the source, where its routes reach the receiver."""
    topology, named = plan.topology, group_bits(plan, server, "ingress")
    flows, own = _own_vpc_sets(
        plan, server, "sg_ingress_remote", named, (Reg.DST_VPC, "nw_src"), "sg_ingress"
    )
    onward = (Goto("sg_ingress"),)
    for receiver in receivers(plan, server):
        reaching: dict = {}
        for ref in sorted(named_by(topology, receiver, "ingress"), key=str):
            if ref.vpc == receiver.vpc:
                continue  # its members are all in the own VPC: set above
            for member in topology.members(ref):
                for address in addresses_of(member):
                    if reaches_without_tgw(
                        topology, member, receiver, address.version
                    ) or reaches_over_referencing_tgw(topology, member, receiver, address.version):
                        reaching.setdefault(address, set()).add(ref)
        for address, refs in reaching.items():
            to = address_of(receiver, address.version)
            if to is None:
                continue
            match = {
                Reg.DST_VPC: topology.vpc(receiver.vpc).number,
                **address_match("src", address),
                ADDRESS_FIELD[(address.version, "dst")]: host(to),
            }
            refs = refs | own[receiver.vpc].get(address, set())
            flows.append(flow("sg_ingress_remote", OTHER_VPC, match, named.set(refs) + onward, REMOTE_ORIGIN))
    return flows + _by_sender(plan, server, named)


def _by_sender(plan, server: str, named: GroupBits) -> list:
    """sg_ingress_remote for what an instance without source/destination check put on the
    fabric (it names itself: its MAC is the inner source, see ``SENDER``): its own SGs, whatever
    the source address says (AWS: a reference admits traffic from the network interfaces that
    carry the group), where its routes reach the receiver; none elsewhere."""
    topology, onward = plan.topology, (Goto("sg_ingress"),)
    flows = []
    for node in plan.nodes.values():  # a direct NLB's node sends with the client's address
        key = {"eth_type": ETH_IP, "eth_src": node.mac}
        flows.append(flow("sg_ingress_remote", BY_SENDER, key, named.set(()) + onward, REMOTE_ORIGIN))
    for sender in (instance for instance in topology.instances if not instance.source_dest_check):
        for version in (address.version for address in sender.addresses):
            flows += _sender_flows(plan, server, named, sender, version)
    return list({(f.priority, f.match): f for f in flows}.values())  # one per VPC, however many receivers


def _sender_flows(plan, server: str, named: GroupBits, sender, version: int) -> list:
    """_by_sender's flows for one appliance's packets of one IP family."""
    topology, onward = plan.topology, (Goto("sg_ingress"),)
    key = {"eth_type": ETH_TYPE[version], "eth_src": plan.instances[sender.name].mac}
    flows = [flow("sg_ingress_remote", BY_SENDER, key, named.set(()) + onward, REMOTE_ORIGIN)]
    refs = {ref for ref in named.bits if sender in topology.members(ref)}
    if refs:
        for receiver in receivers(plan, server):
            number = topology.vpc(receiver.vpc).number
            if receiver.vpc == sender.vpc:
                match = {**key, Reg.DST_VPC: number}
                flows.append(
                    flow("sg_ingress_remote", BY_SENDER + 10, match, named.set(refs) + onward, REMOTE_ORIGIN)
                )
            else:
                for address in addresses_of(receiver):
                    if address.version != version:
                        continue
                    if reaches_without_tgw(
                        topology, sender, receiver, version
                    ) or reaches_over_referencing_tgw(topology, sender, receiver, version):
                        match = {**key, Reg.DST_VPC: number, ADDRESS_FIELD[(version, "dst")]: host(address)}
                        flows.append(
                            flow(
                                "sg_ingress_remote",
                                BY_SENDER + 20,
                                match,
                                named.set(refs) + onward,
                                REMOTE_ORIGIN,
                            )
                        )
    return list({(f.priority, f.match): f for f in flows}.values())  # one per VPC, however many receivers


def stateful(stage: str, key: dict, zone: int, rules, address_field: str, named, passed, miss_origin):
    """An SG stage: tracked replies pass, new flows need a rule and are committed, else drop.

    Every rule has its own priority, so two rules that allow the same packet never overlap
    at one priority (which OVS would resolve arbitrarily): the first rule names the verdict.
    A rule naming an SG tests that SG's bit, set by the stage before.
    """

    def state(bits: int) -> dict:
        return {"ct_state": (bits | CT_TRK, bits | CT_TRK)}

    flows = [
        flow(stage, ESTABLISHED, {**key, **state(CT_EST)}, passed, miss_origin),
        flow(stage, RELATED, {**key, **state(CT_REL)}, passed, miss_origin),
        flow(stage, INVALID, {**key, **state(CT_INV)}, (DROP,), miss_origin),
        flow(stage, NO_RULE, key, (DROP,), miss_origin),
    ]
    commit = (Ct(True, zone),) + passed
    side = address_field[-3:]
    for n, rule in enumerate(rules):
        for version in traffic_families(rule.traffic, rule.cidr):
            if "eth_type" in key and key["eth_type"] != ETH_TYPE[version]:
                continue
            if rule.cidr is None and version not in named.families:
                continue  # no IPv6 address in the design: no IPv6 member to match
            peer = (
                {ADDRESS_FIELD[(version, side)]: prefix(rule.cidr)}
                if rule.cidr is not None
                else named.match(rule.security_group)
            )
            for fragment in traffic_matches(rule.traffic, version):
                match = {**key, **fragment, **state(CT_NEW), **peer}
                flows.append(flow(stage, FIRST_RULE - n, match, commit, rule.origin))
    return flows


def security_groups(plan, server: str) -> list:
    """sg_egress and sg_ingress of the instances on ``server``, each in its own ct zone."""
    topology = plan.topology
    outbound, inbound = group_bits(plan, server, "egress"), group_bits(plan, server, "ingress")
    flows = []
    for local in plan.on_server(server):
        instance = local.instance
        miss = topology.security_groups_origin(instance)
        flows += stateful(
            "sg_egress",
            {"in_port": local.port},
            local.zone,
            # an AWS service's endpoint interface answers, and opens nothing: replies only
            sg_rules_in_order(topology, instance, "egress") if instance.service is None else (),
            "nw_dst",
            outbound,
            (Goto("nacl_src_egress"),),
            miss,
        )
        for address in instance.addresses:
            key = {Reg.DST_VPC: topology.vpc(instance.vpc).number, **address_match("dst", address)}
            flows += stateful(
                "sg_ingress",
                key,
                local.zone,
                sg_rules_in_order(topology, instance, "ingress"),
                "nw_src",
                inbound,
                # an NLB's target: a connection its node brings is marked with the node (nlb_mark;
                # NLBs are IPv4's)
                (Goto("nlb_mark"),)
                if address.version == 4 and topology.balancers_targeting(instance.name)
                else (Output(local.port),),
                miss,
            )
    return flows
