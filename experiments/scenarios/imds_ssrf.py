"""The seed's 2019 breach: an SSRF through a web server that is an open proxy, to the
instance metadata service's IAM credentials; with IMDSv1, with IMDSv2 behind a container at
hop limits 1 and 2, and with the web subnet's NACL narrowed to the customers' network."""

from experiments.breach import BLOCKED, HOP_LIMIT, LEAKED, Attack, BreachScenario

NARROW = [
    {"rule": 10, "protocol": "tcp", "ports": 80, "cidr": "198.51.100.0/24", "action": "allow"},
    {"rule": 20, "protocol": "tcp", "ports": 80, "cidr": "0.0.0.0/0", "action": "deny"},
]
WEB_NACL = {"vpc": "bank", "nacl": "web-nacl", "direction": "ingress"}

SCENARIO = BreachScenario(
    name="imds-ssrf",
    description="an internet host steals IAM credentials through an open proxy on a web server (2019)",
    topology="topologies/breach-2019.yaml",
    attacker="attacker",
    customer="customer",
    attacks=[
        Attack(
            "IMDSv1, proxy on the instance",
            "waf",
            LEAKED,
            why="IMDSv1 answers any GET the instance makes, the proxy's too",
        ),
        Attack(
            "IMDSv2, hop limit 1, proxy in a container",
            "hardened",
            BLOCKED,
            HOP_LIMIT,
            behind="container",
            why="the token's IP TTL 1 does not survive the hop to the container",
        ),
        Attack(
            "IMDSv2, hop limit 2, proxy in a container",
            "relaxed",
            LEAKED,
            behind="container",
            why="IMDSv2 alone does not stop a proxy that forwards PUT and headers",
        ),
        Attack(
            "IMDSv1, web NACL admits customers only",
            "waf",
            BLOCKED,
            "nacl-ingress",
            changes=[("add-nacl-rule", {**WEB_NACL, "rule": rule}) for rule in NARROW],
            undo=[("remove-nacl-rule", {**WEB_NACL, "number": rule["rule"]}) for rule in NARROW],
            why="defence in depth: the subnet refuses port 80 from outside 198.51.100.0/24",
        ),
    ],
)
