"""A Nitro card crashes (its ovs-vswitchd dies) and is restarted."""

from experiments.harness import Probe, Scenario
from nitro_switch.faults import crash_card, recover_card

SCENARIO = Scenario(
    name="nitro-crash",
    description="srv2's Nitro card crashes, then restarts and is reconciled by Hyperplane",
    topology="topologies/peering.yaml",
    probes=[Probe("web2", "build1"), Probe("web1", "build1")],
    inject=lambda lab: crash_card(lab, "srv2"),
    restore=lambda lab: recover_card(lab, "srv2"),
    expect={
        "web2->build1 icmp": "lost while srv2's card is down (web2 lives on srv2)",
        "web1->build1 icmp": "unaffected (both on srv1)",
    },
)
