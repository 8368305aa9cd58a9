"""A server's underlay link goes down, then up."""

from experiments.harness import Probe, Scenario
from nitro_switch.faults import link_down, link_up

SCENARIO = Scenario(
    name="link-down",
    description="srv2's underlay link goes down, then up",
    topology="topologies/peering.yaml",
    probes=[Probe("web2", "build1"), Probe("web1", "build1")],
    inject=lambda lab: link_down(lab, "srv2"),
    restore=lambda lab: link_up(lab, "srv2"),
    expect={"web2->build1 icmp": "lost while the link is down", "web1->build1 icmp": "unaffected"},
)
