"""A server's underlay link goes down, then up."""

from experiments.harness import INTERRUPTED, Probe, Scenario
from nitro_switch.faults import link_down, link_up

SCENARIO = Scenario(
    name="link-down",
    description="srv2's underlay link goes down, then up",
    topology="topologies/peering.yaml",
    probes=[
        Probe("web2", "build1", expect=INTERRUPTED, why="web2 lives on srv2"),
        Probe("web1", "build1", why="both on srv1"),
    ],
    inject=lambda lab: link_down(lab, "srv2"),
    restore=lambda lab: link_up(lab, "srv2"),
    fault="srv2 link down",
    repair="srv2 link up",
)
