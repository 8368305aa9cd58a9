"""A NACL deny is added under a live TCP stream: NACLs are stateless, the stream dies."""

from experiments.harness import INTERRUPTED, Probe, Scenario

DENY = {"rule": 50, "protocol": "tcp", "ports": 8080, "cidr": "10.20.1.0/24", "action": "deny"}

SCENARIO = Scenario(
    name="nacl-deny-added",
    description="app-nacl gets rule 50: deny tcp 8080 from the web subnet, under a TCP stream",
    topology="topologies/three-tier.yaml",
    probes=[
        Probe("web1", "app1", "tcp", 8080, expect=INTERRUPTED, why="NACLs are stateless"),
    ],
    inject=lambda lab: lab.api.change(
        "add-nacl-rule", vpc="shop", nacl="app-nacl", direction="ingress", rule=DENY
    ),
    restore=lambda lab: lab.api.change(
        "remove-nacl-rule", vpc="shop", nacl="app-nacl", direction="ingress", number=50
    ),
    fault="app-nacl rule 50 deny tcp 8080 added",
    repair="rule 50 removed",
)
