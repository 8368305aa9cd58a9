"""A VPC peering is deleted under traffic, then re-created."""

from experiments.harness import Probe, Scenario

SCENARIO = Scenario(
    name="peering-deleted",
    description="peering prod-dev is deleted (its routes become blackholes), then restored",
    topology="topologies/peering.yaml",
    probes=[Probe("web1", "build1"), Probe("web2", "build1"), Probe("web1", "web2", "tcp", 443)],
    inject=lambda lab: lab.api.change("delete-peering", peering="prod-dev"),
    restore=lambda lab: lab.api.change("restore-peering", peering="prod-dev"),
    expect={
        "web1->build1 icmp": "lost",
        "web2->build1 icmp": "lost",
        "web1->web2 tcp/443": "unaffected (inside prod)",
    },
)
