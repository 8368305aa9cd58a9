"""An SG rule through the EC2 API vs through Hyperplane's own change API (same run).

The rule is authorized (revoked) through boto3 against `vpclab serve`'s API, and through
Hyperplane's change API (the shell's path), in the same run.

flow-logs.yaml: web1 sends UDP probes to db1:7 at 500/s; db-sg admits tcp/3306 only. Each round
authorizes udp/7 from web's subnet and revokes it, once through the EC2 API and once directly.
Measured per change: the call's round trip, and for an authorize, from the call's answer to the
first probe sent after it that is answered; a negative figure means the effect came before the
answer (the API answers once the cards have the flows). A revoke has no effect to time: the
probes' flow is tracked, and a tracked connection outlives the rule that admitted it (AWS's
security groups are stateful so; `vpclab experiment` has SG changes under live streams). Target
(issue 35): the rule effective <= 200 ms after the API answers. Writes results/ec2_api.{json,png}.
Usage: python bench/ec2_api.py [--rounds 8]   (as root)
"""

import argparse
import json
import socket
import statistics
import time

from _lib import ROOT, save, udp_probes

from nitro_switch.emulation import Emulation
from vpclab.api.backend import ec2_client, serve_emulation
from vpclab.intent.loader import load_topology

RATE, SETTLE = 500.0, 0.4
RULE = {"protocol": "udp", "ports": "7", "cidr": "10.0.1.0/24"}
PERMISSION = [{"IpProtocol": "udp", "FromPort": 7, "ToPort": 7, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}]


def effect_ms(samples, called_at: float, answered_at: float):
    """Milliseconds from the answer to the first probe sent after the call that is answered:
    negative if the cards had the rule before the answer came back. Probes go every 2 ms."""
    for _, sent, rtt in samples:
        if sent >= called_at and rtt is not None:
            return round((sent - answered_at) * 1000, 1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    design = load_topology(f"{ROOT}/topologies/flow-logs.yaml")
    duration = 2.0 + args.rounds * 4 * SETTLE + 1.0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    calls = []  # (path, operation, called, answered)
    with Emulation(design, log=lambda line: None) as lab:
        served = serve_emulation(lab, port, log=lambda line: None)
        ec2 = ec2_client(f"http://127.0.0.1:{port}", "us-east-1")
        group = next(
            g["GroupId"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] == "db-sg"
        )
        listener, prober = udp_probes(
            lab.hosts.hosts["db1"], lab.hosts.hosts["web1"], "10.0.2.4", RATE, duration
        )
        time.sleep(1.0)
        direct = {"security_group": "db-sg", "direction": "ingress", "rule": RULE}
        steps = (
            (
                "ec2 api",
                "authorize",
                lambda: ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=PERMISSION),
            ),
            (
                "ec2 api",
                "revoke",
                lambda: ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=PERMISSION),
            ),
            ("hyperplane", "authorize", lambda: lab.api.change("add-sg-rule", **direct)),
            ("hyperplane", "revoke", lambda: lab.api.change("remove-sg-rule", **direct)),
        )
        for _ in range(args.rounds):
            for path, operation, call in steps:
                called = time.time()
                call()
                calls.append((path, operation, called, time.time()))
                time.sleep(SETTLE)
        samples = json.loads(prober.communicate(timeout=60)[0].strip().splitlines()[-1])
        listener.kill()
        listener.wait()
        served.stop()
    found: dict = {}
    effects: dict = {}
    for path, operation, called, answered in calls:
        found.setdefault(f"{path} {operation}", []).append(round((answered - called) * 1000, 1))
        if operation == "authorize":
            effect = effect_ms(samples, called, answered)
            effects.setdefault(path, []).append(effect)
    for name, trips in found.items():
        median, most = statistics.median(trips), max(trips)
        print(f"{name}: answered in median {median:.1f} ms (max {most:.1f}, n={len(trips)})")
    for path, values in effects.items():
        seen = [v for v in values if v is not None]
        print(
            f"{path} authorize -> first answered probe: median {statistics.median(seen):.1f} ms after the "
            f"answer, max {max(seen):.1f} ms ({len(seen)}/{len(values)} seen; target <= 200 ms, probes every "
            f"{1000 / RATE:.0f} ms)"
        )

    def plot(axes):
        names = list(found)
        axes[0].boxplot([found[n] for n in names], tick_labels=[n.replace(" ", "\n", 1) for n in names])
        axes[0].set_ylabel("ms from the call to its answer")
        axes[0].set_title("The call's round trip (the answer waits for the cards)")
        paths = list(effects)
        axes[1].boxplot([[v for v in effects[p] if v is not None] for p in paths], tick_labels=paths)
        axes[1].axhline(200, color="#d62728", linestyle="--", linewidth=1)
        axes[1].axhline(0, color="#444444", linewidth=0.8)
        axes[1].set_ylabel("ms after the answer (first answered probe)")
        axes[1].set_title("An authorized SG rule on the cards (target <= 200 ms)")

    print(
        save("ec2_api", {"round_trip_ms": found, "authorize_effect_after_answer_ms": effects}, plot, panels=2)
    )


if __name__ == "__main__":
    main()
