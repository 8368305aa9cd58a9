"""A Nitro card crashes (its ovs-vswitchd dies) and is restarted."""

from experiments.harness import INTERRUPTED, Probe, Scenario
from nitro_switch.faults import crash_card, recover_card

SCENARIO = Scenario(
    name="nitro-crash",
    description="srv2's Nitro card crashes, then restarts and is reconciled by Hyperplane",
    topology="topologies/peering.yaml",
    probes=[
        Probe("web2", "build1", expect=INTERRUPTED, why="web2 lives on srv2"),
        Probe("web1", "build1", why="both on srv1"),
    ],
    inject=lambda lab: crash_card(lab, "srv2"),
    restore=lambda lab: recover_card(lab, "srv2"),
    fault="srv2 Nitro card crashed",
    repair="srv2 card restarted",
)
