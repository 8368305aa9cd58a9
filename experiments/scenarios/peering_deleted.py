"""A VPC peering is deleted under traffic, then re-created."""

from experiments.harness import INTERRUPTED, Probe, Scenario

SCENARIO = Scenario(
    name="peering-deleted",
    description="peering prod-dev is deleted (its routes become blackholes), then restored",
    topology="topologies/peering.yaml",
    probes=[
        Probe("web1", "build1", expect=INTERRUPTED, why="across the peering"),
        Probe("web2", "build1", expect=INTERRUPTED, why="across the peering"),
        Probe("web1", "web2", "tcp", 443, why="inside prod"),
    ],
    inject=lambda lab: lab.api.change("delete-peering", peering="prod-dev"),
    restore=lambda lab: lab.api.change("restore-peering", peering="prod-dev"),
    fault="peering prod-dev deleted",
    repair="peering re-created",
)
