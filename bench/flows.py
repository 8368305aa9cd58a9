"""Flows per Nitro card as a function of SG and NACL rule count (should grow linearly).

Pure: compiles generated topologies, no switch. Writes results/flows.{json,png}.
Usage: python bench/flows.py
"""

import yaml
from _lib import save

from controller.compiler import compile_topology
from vpclab.intent.loader import load_topology

COUNTS = (0, 10, 20, 40, 80, 160)


SUBNETS = "abcd"  # one instance in each, each with its own NACL


def topology_text(sg_rules: int, nacl_rules: int) -> str:
    """One VPC, four subnets, an instance in each; N single-port SG rules, and N NACL rules
    spread over the subnets' four NACLs (AWS allows 40 inbound rules a NACL: 160 fit)."""
    sg = [{"protocol": "tcp", "ports": 1000 + n, "cidr": f"10.9.{n % 250}.0/24"} for n in range(sg_rules)]
    nacls: list[list] = [[] for _ in SUBNETS]
    for n in range(nacl_rules):
        nacls[n % len(SUBNETS)].append(
            {
                "rule": n + 1,
                "protocol": "tcp",
                "ports": 2000 + n,
                "cidr": f"10.{n % 250}.0.0/16",
                "action": "allow",
            }
        )
    vpc = {
        "name": "v",
        "cidr": "10.0.0.0/16",
        "subnets": [
            {"name": s, "cidr": f"10.0.{n + 1}.0/24", "nacl": f"n{s}"} for n, s in enumerate(SUBNETS)
        ],
        "security_groups": [{"name": "g", "ingress": sg}],
        "nacls": [{"name": f"n{s}", "ingress": rules} for s, rules in zip(SUBNETS, nacls, strict=True)],
        "instances": [{"name": f"i{s}", "subnet": s, "security_groups": ["g"]} for s in SUBNETS],
    }
    # raised as far as AWS raises them: 160 SG rules fit, and 40 rules a NACL
    quotas = {"rules_per_security_group": 1000, "rules_per_network_acl": 40}
    return yaml.safe_dump({"name": "bench-flows", "servers": 1, "quotas": quotas, "vpcs": [vpc]})


def flows_for(sg_rules: int, nacl_rules: int) -> int:
    compiled = compile_topology(load_topology("bench-flows.yaml", topology_text(sg_rules, nacl_rules)))
    return len(compiled.flows["srv1"])


def main() -> None:
    series = {
        "SG rules": [flows_for(n, 0) for n in COUNTS],
        "NACL rules": [flows_for(0, n) for n in COUNTS],
        "both": [flows_for(n, n) for n in COUNTS],
    }
    print("rules  " + "  ".join(f"{name:>10s}" for name in series))
    for index, count in enumerate(COUNTS):
        print(f"{count:5d}  " + "  ".join(f"{values[index]:10d}" for values in series.values()))
    slopes = {name: (values[-1] - values[0]) / COUNTS[-1] for name, values in series.items()}
    print("flows per added rule: " + ", ".join(f"{n} {s:.1f}" for n, s in slopes.items()))

    def plot(axes):
        for name, values in series.items():
            axes.plot(COUNTS, values, marker="o", label=name)
        axes.set_xlabel("rules added")
        axes.set_ylabel("flows on the Nitro card")
        axes.set_title("Flows per card vs rule count (4 instances on the card)")
        axes.legend()

    print(save("flows", {"rule_counts": list(COUNTS), "flows": series, "slopes": slopes}, plot))


if __name__ == "__main__":
    main()
