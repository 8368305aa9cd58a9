"""The difference between two flow sets of one Nitro card, as the least to send.

A flow is identified on a switch by (table, priority, match). Flows whose key disappeared are
deleted; flows that are new, or whose actions or origin (cookie) changed, are (re)added — an
OpenFlow ADD of an existing key replaces it in place, with no gap in forwarding.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.layout.pipeline import Flow


def key(flow: Flow) -> tuple:
    return (flow.stage, flow.priority, flow.match)


@dataclass
class FlowDiff:
    add: list[Flow]
    delete: list[Flow]

    def __len__(self) -> int:
        return len(self.add) + len(self.delete)


def diff(old: list[Flow], new: list[Flow]) -> FlowDiff:
    before = {key(f): f for f in old}
    after = {key(f): f for f in new}
    return FlowDiff(
        add=[f for k, f in after.items() if before.get(k) != f],
        delete=[f for k, f in before.items() if k not in after],
    )
