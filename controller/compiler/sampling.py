"""Flow logs from the data plane: the flows that decide a packet's fate sample it.

A design with flow logs gets, in every stage of ``pipeline.SAMPLED_SIDE``, a ``Sample``
action on each flow that drops (a REJECT), and in the SG stages on each flow that commits a
new connection (an ACCEPT by that rule) or passes a tracked one (an ACCEPT by connection
state). A flow that sends a packet into a VPN tunnel or onto a Direct Connect link, or takes
one in from there, samples it as taking that path (``path_sample``). The sample's point is
the flow's cookie (its low 32 bits): the record names the YAML object that decided. A drop on
the sending side after the SG stage says so (the collector takes those packets off the
ACCEPT, so a record says what finally happened, as in AWS). Which flow log keeps a record is
the collector's business.
"""

from __future__ import annotations

from dataclasses import replace

from vpclab.errors import Defect
from vpclab.layout.actions import DROP, Ct, Drop, Sample
from vpclab.layout.pipeline import CT_EST, CT_REL, SAMPLED_SIDE, SG_STAGES, TABLE, Flow, SampleKey
from vpclab.layout.plan import observation_point


def origins_by_point(origins) -> dict[int, str]:
    """Observation point -> the YAML object (of ``origins``, a compile's) whose flows sample with it."""
    return {observation_point(origin): origin for origin in set(origins)}


class PointCollision(Defect):
    """Two YAML objects share an observation point: a flow log could name the wrong one."""


def check_points(origins) -> None:
    """No two origins may share an observation point (32 bits of their cookies)."""
    seen: dict[int, str] = {}
    for origin in origins:
        other = seen.setdefault(observation_point(origin), origin)
        if other != origin:
            raise PointCollision(
                f"{other} and {origin} share flow log observation point {observation_point(origin):#x}: "
                "rename one of them"
            )


def path_sample(plan, origin: str) -> tuple:
    """The actions that sample a packet taking the way to or from a site ``origin`` names (a
    VPN tunnel's, a Direct Connect link's), first in the flow that chooses or receives it: none
    without flow logs."""
    if not plan.topology.flow_logs:
        return ()
    return (Sample(SampleKey.PATH_SAMPLE, observation_point(origin)),)


def verdict(each: Flow) -> int | None:
    """What ``each`` decides for a flow log (a ``SampleKey`` verdict), or None."""
    if not each.actions or isinstance(each.actions[-1], Drop):
        return SampleKey.REJECT
    if each.stage not in SG_STAGES:
        return None
    if any(isinstance(action, Ct) and action.commit for action in each.actions):
        return SampleKey.ACCEPT_BY_RULE
    state = each.match_dict.get("ct_state")
    if state is not None and state[0] & (CT_EST | CT_REL):
        return SampleKey.ACCEPT_BY_STATE
    return None


def sampled(flows: list[Flow]) -> list[Flow]:
    """``flows`` with a Sample action first on each flow that decides a packet's fate."""
    out = []
    for each in flows:
        side = SAMPLED_SIDE.get(each.stage)
        decided = verdict(each) if side is not None else None
        if side is None or decided is None:
            out.append(each)
            continue
        # the sender's SG sampled this packet as accepted before a later stage dropped it
        after_accept = side == SampleKey.SENDING and TABLE[each.stage] > TABLE["sg_egress"]
        sample = Sample(SampleKey.make(decided, side, after_accept), observation_point(each.origin))
        actions = each.actions or (DROP,)
        out.append(replace(each, actions=(sample, *actions)))
    return out
