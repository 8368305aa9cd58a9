"""An SG rule is removed under a live TCP stream: AWS keeps tracked connections alive, and
refuses new ones until the rule is back."""

from experiments.harness import INTERRUPTED, Probe, Scenario

RULE = {"protocol": "tcp", "ports": 8080, "security_group": "web-sg"}

SCENARIO = Scenario(
    name="sg-rule-removed",
    description="app-sg's ingress rule for 8080 from web-sg is removed under a TCP stream",
    topology="topologies/three-tier.yaml",
    probes=[
        Probe("web1", "app1", "tcp", 8080, why="a tracked connection outlives the rule"),
        Probe("web1", "app1", "tcp-new", 8080, expect=INTERRUPTED, why="a new connection needs the rule"),
    ],
    inject=lambda lab: lab.api.change(
        "remove-sg-rule", security_group="app-sg", direction="ingress", rule=RULE
    ),
    restore=lambda lab: lab.api.change(
        "add-sg-rule", security_group="app-sg", direction="ingress", rule=RULE
    ),
    fault="app-sg: tcp 8080 from web-sg removed",
    repair="rule added back",
)
