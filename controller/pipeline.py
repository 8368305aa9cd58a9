"""The Nitro card's OpenFlow pipeline: every table is a named stage, declared once here.

Nobody else writes a table number. Sending side (a packet from a local instance):
classify -> arp | sg_egress (after ct, per-instance zone) -> nacl_src_egress -> vpc_route
-> peering | tgw_entry -> nacl_tgw_entry -> tgw_route -> tgw_exit -> nacl_tgw_exit
-> deliver_lookup -> nacl_dst_ingress -> tunnel_out (VXLAN, or a local hand-over).
Receiving side: classify (VNI check) -> sg_ingress (after ct, the destination's zone) -> output.
All stateless checks (NACLs, routes) run on the sending card, which knows the whole path;
the stateful ones (SGs) run at each end, in the instance's own conntrack zone.
"""
from __future__ import annotations

from dataclasses import dataclass

STAGES = (
    "classify",          # in_port/tunnel: source check, ARP, VNI check; start conntrack
    "arp",               # ARP answered by the card: the subnet router and the instances
    "sg_egress",         # SG egress of the sender (ct state: +est passes, +new needs a rule)
    "nacl_src_egress",   # NACL egress of the source subnet (skipped inside the subnet)
    "vpc_route",         # the source subnet's route table, longest prefix
    "peering",           # a peering delivers only between its two VPCs
    "tgw_entry",         # into the TGW: the attachment must cover the source AZ
    "nacl_tgw_entry",    # NACL ingress of the source attachment subnet (AWS tgw-nacls)
    "tgw_route",         # the TGW route table associated with the source attachment
    "tgw_exit",          # out of the TGW into the next attachment's VPC
    "nacl_tgw_exit",     # NACL egress of the destination attachment subnet
    "deliver_lookup",    # the destination instance by address in the destination VPC
    "nacl_dst_ingress",  # NACL ingress of the destination subnet
    "tunnel_out",        # VXLAN to the destination's server, or hand over locally
    "sg_ingress",        # SG ingress of the receiver (ct state), then out to its port
)
TABLE = {name: number for number, name in enumerate(STAGES)}

# Registers carry what the sending card learned about the packet between stages.
REG = {
    "src_subnet": "reg0",    # subnet id of the sender
    "route_table": "reg1",   # route table id of the sender's subnet
    "az": "reg2",            # AZ id of the sender's subnet
    "src_vpc": "reg3",       # VPC number of the sender
    "next_hop": "reg4",      # peering id or TGW id chosen by the route
    "tgw_table": "reg5",     # TGW route table id (entry) / exit attachment id (route)
    "dst_vpc": "reg6",       # VPC number where the packet is delivered
    "dst_nacl": "reg7",      # 1: the destination subnet's NACL ingress applies
    "exit_subnet": "reg8",   # subnet id of the TGW exit attachment subnet
    "hairpins": "reg9",      # times a TGW handed the packet to a VPC that sent it back
}
MAX_HAIRPINS = 2  # like trace: at most three TGW traversals, then it is a routing loop

TUNNEL_PORT = 100            # the vxlan port of every Nitro card (ofport_request)
ROUTER_MAC = "02:00:00:00:00:01"  # the VPC router's MAC, answered for every subnet's .1

# ct_state bits (OVS): +new 0x01, +est 0x02, +rel 0x04, +inv 0x10, +trk 0x20
CT_NEW, CT_EST, CT_REL, CT_INV, CT_TRK = 0x01, 0x02, 0x04, 0x10, 0x20


@dataclass(frozen=True)
class Flow:
    """One flow as plain data: the stage, a priority, a match, actions and the YAML origin.

    ``match`` maps field names to values: ints for exact fields and registers,
    ``(value, mask)`` for masked ones (IPv4 prefixes, port blocks, ct_state).
    ``actions`` is a tuple of tuples, e.g. ``("goto", "vpc_route")``, ``("set", "reg1", 3)``,
    ``("ct", commit, zone, next_stage_or_None)``, ``("output", port)``, ``("drop",)``,
    ``("resubmit", stage)`` (the one way back to an earlier stage: a TGW hairpin).
    """
    stage: str
    priority: int
    match: tuple  # sorted (field, value) pairs, so a Flow is hashable and comparable
    actions: tuple
    origin: str

    @property
    def table(self) -> int:
        return TABLE[self.stage]

    @property
    def match_dict(self) -> dict:
        return dict(self.match)


def flow(stage: str, priority: int, match: dict, actions, origin: str) -> Flow:
    """Build a Flow, checking the stage and every ``goto``/``ct`` target against the map."""
    assert stage in TABLE, f"unknown stage {stage}"
    for action in actions:
        if action[0] == "goto":
            assert TABLE[action[1]] > TABLE[stage], f"{stage} cannot go back to {action[1]}"
        if action[0] == "ct" and action[3] is not None:
            assert action[3] in TABLE, f"unknown stage {action[3]}"
    return Flow(stage, priority, tuple(sorted(match.items())), tuple(actions), origin)
