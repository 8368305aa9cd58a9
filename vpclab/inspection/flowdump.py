"""A Nitro card's flow dump (``ovs-ofctl dump-flows``) read back for people: each flow with its
stage, its packet counter, and filters for one instance, drops, and counters that moved."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from vpclab.layout.pipeline import STAGE_AT
from vpclab.layout.plan import InstancePlan

FLOW_LINE = re.compile(
    r"cookie=0x(?P<cookie>[0-9a-f]+), duration=[0-9.]+s, table=(?P<table>\d+), "
    r"n_packets=(?P<packets>\d+), n_bytes=\d+, (?P<rule>.*)"
)


@dataclass(frozen=True)
class DumpedFlow:
    table: int
    cookie: int
    packets: int
    rule: str  # priority, match and actions as ovs-ofctl prints them

    @property
    def drops(self) -> bool:
        return self.rule.endswith(" actions=drop")


def parse_dump(text: str) -> list[DumpedFlow]:
    """The flows of a dump; the reply header and anything that is not a flow are skipped."""
    flows = []
    for line in text.splitlines():
        found = FLOW_LINE.search(line)
        if found:
            flows.append(
                DumpedFlow(
                    int(found["table"]), int(found["cookie"], 16), int(found["packets"]), found["rule"]
                )
            )
    return flows


def about_instance(flow: DumpedFlow, plan: InstancePlan) -> bool:
    """Whether the flow names the instance: its card port (by name or number), address, MAC or
    conntrack zone."""
    port, ip = f"({re.escape(plan.interface)}|{plan.port})", re.escape(str(plan.instance.ip))
    return bool(
        re.search(rf"(in_port=|output:){port}\b", flow.rule)
        or re.search(rf"(nw_src|nw_dst|arp_tpa|arp_spa)={ip}(?![\d/])", flow.rule)
        or re.search(rf"(dl_src|dl_dst)={re.escape(plan.mac)}\b", flow.rule)
        or re.search(rf"zone={plan.zone}(?!\d)", flow.rule)
    )


@dataclass(frozen=True)
class FlowQuery:
    """Which flows of a card to show: one stage's table, those about one instance, drops only,
    only those that matched packets since the last look."""

    table: Optional[int] = None
    instance: Optional[InstancePlan] = None
    drops: bool = False
    hits: bool = False

    def selects(self, flow: DumpedFlow, moved: dict[tuple[int, str], int]) -> bool:
        return (
            (self.table is None or flow.table == self.table)
            and (self.instance is None or about_instance(flow, self.instance))
            and (not self.drops or flow.drops)
            and (not self.hits or moved[flow.table, flow.rule] > 0)
        )

    def describe(self) -> str:
        """What the query keeps, as a tail for the line that counts the flows shown."""
        kept = [
            f"about {self.instance.instance.name}" if self.instance else "",
            f"in {STAGE_AT[self.table]}" if self.table is not None else "",
            "dropping" if self.drops else "",
            "moved since the last look" if self.hits else "",
        ]
        return "".join(f", {what}" for what in kept if what)


class HitCounter:
    """Remembers each card's counters at the last look, to show only the flows that moved."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[tuple[int, str], int]] = {}

    def look(self, server: str, flows: list[DumpedFlow]) -> dict[tuple[int, str], int]:
        """Packets each flow matched since the previous look at ``server`` (since it was
        installed, at the first look); remembers the counters for the next look."""
        before = self.seen.get(server, {})
        now = {(f.table, f.rule): f.packets for f in flows}
        self.seen[server] = now
        moved = {}
        for key, packets in now.items():
            last = before.get(key, 0)
            moved[key] = packets - last if packets >= last else packets  # below: installed again
        return moved
