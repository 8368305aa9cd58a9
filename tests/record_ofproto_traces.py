"""Re-record tests/data/ofproto-trace/ from real cards (root; about 20 s): what `why` asks the
cards of three-tier.yaml for web1 -> db1 tcp/5432 (each leg, in order), and one ping from app1
to data1 on srv1 of inspection.yaml (into the TGW, through check_pkt_larger). Run it after the
pipeline's table numbers or registers change:

    .venv/bin/python tests/record_ofproto_traces.py
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nitro_switch.emulation import Emulation  # noqa: E402
from vpclab.inspection.why import explain  # noqa: E402
from vpclab.intent.loader import load_topology  # noqa: E402

OUT = os.path.join(ROOT, "tests", "data", "ofproto-trace")
quiet = lambda line: None


class Recording:
    """A card whose every ofproto/trace answer is written down, in the order `why` asks."""

    def __init__(self, card, name: str, asked: list, prefix: str):
        self.card, self.name, self.asked, self.prefix = card, name, asked, prefix

    def appctl(self, *args: str) -> str:
        text = self.card.appctl(*args)
        path = os.path.join(OUT, f"{self.prefix}-{len(self.asked)}-{self.name}.txt")
        self.asked.append(path)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"# ovs-appctl {' '.join(args)}\n{text}")
        return text


def record_why() -> None:
    design = load_topology(os.path.join(ROOT, "topologies", "three-tier.yaml"))
    with Emulation(design, log=quiet) as lab:
        intent, asked = lab.applied_intent(), []
        cards = {name: Recording(card, name, asked, "web1-db1") for name, card in lab.servers_by_name.items()}
        found = explain(
            design, intent.data, cards, design.instance("web1"), design.instance("db1").ip, 6, 5432
        )
        print("\n".join(asked), "agree" if found.agree else "DISAGREE", sep="\n")


def record_inspection() -> None:
    design = load_topology(os.path.join(ROOT, "topologies", "inspection.yaml"))
    app1, data1 = design.instance("app1"), design.instance("data1")
    with Emulation(design, log=quiet) as lab:
        card = lab.servers_by_name[app1.server]
        flow = (
            f"icmp,in_port=1,dl_src=02:00:00:00:01:0a,dl_dst=02:00:00:00:00:01,nw_src={app1.ip},"
            f"nw_dst={data1.ip},nw_ttl=64,icmp_type=8,icmp_code=0"
        )
        args = ("ofproto/trace", "br-int", flow)
        path = os.path.join(OUT, f"inspection-app1-data1-{app1.server}.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"# ovs-appctl {' '.join(args)}\n{card.appctl(*args)}")
        print(path)


if __name__ == "__main__":
    record_why()
    record_inspection()
