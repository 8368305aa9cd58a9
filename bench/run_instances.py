"""An instance launched through the EC2 API vs through the shell's launch (same run): how long
until it answers a ping.

`vpclab serve`'s empty design; through boto3 a VPC, a subnet, a group that admits ICMP from the
VPC, and web1, the pinger. Each round launches an instance at a known address twice: once
with RunInstances, once with the shell's path (Hyperplane's change API, then the host), then
terminates it. web1 pings that address every 10 ms from before the call (``ping -D -O``:
each reply timestamped). Measured per launch: the call's round trip, and from the call to
the first answered ping. Target (issue 35): a run-instances host answers ping <= 2 s after the
call. Writes results/run_instances.{json,png}.
Usage: python bench/run_instances.py [--rounds 6]   (as root)
"""

import argparse
import re
import signal
import statistics
import time

from _lib import save

from nitro_switch.emulation import Emulation
from vpclab import designs
from vpclab.api.backend import ec2_client, serve_emulation
from vpclab.intent.loader import load_topology

IMAGE = "ami-03cf127a"
ADDRESS = "10.0.1.50"


def first_reply_after(output: str, called: float):
    """Seconds from ``called`` to the first reply ``ping -D`` printed after it (None: none)."""
    for stamp in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", output, re.M):
        if float(stamp) >= called:
            return float(stamp) - called
    return None


def timed_launch(lab, launch, terminate) -> tuple[float, float]:
    """(the call's round trip, the time to the first answered ping), in seconds."""
    pinger = lab.hosts.hosts["web1"].popen(
        ["ping", "-D", "-O", "-i", "0.01", "-W", "0.2", ADDRESS], text=True
    )
    time.sleep(0.3)
    called = time.time()
    launch()
    answered = time.time()
    time.sleep(2.5)
    pinger.send_signal(signal.SIGINT)
    output = pinger.communicate(timeout=10)[0]
    terminate()
    time.sleep(0.3)
    reply = first_reply_after(output, called)
    return answered - called, float("nan") if reply is None else reply


def api_round(lab, ec2, subnet: str, group: str) -> tuple[float, float]:
    """RunInstances at ADDRESS, timed; then TerminateInstances."""
    launched = {}

    def run() -> None:
        answer = ec2.run_instances(
            ImageId=IMAGE,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            SecurityGroupIds=[group],
            PrivateIpAddress=ADDRESS,
        )
        launched["id"] = answer["Instances"][0]["InstanceId"]

    return timed_launch(lab, run, lambda: ec2.terminate_instances(InstanceIds=[launched["id"]]))


def shell_round(lab, vpc: str, subnet: str, name: str) -> tuple[float, float]:
    """The shell's launch at ADDRESS (Hyperplane's change API, then the host), timed; then terminate."""
    arguments = {"vpc": vpc, "subnet": subnet, "name": name, "security_groups": ["ping-sg"], "ip": ADDRESS}
    return timed_launch(
        lab,
        lambda: lab.change("launch-instance", **arguments),
        lambda: lab.change("terminate-instance", instance=name),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with Emulation(load_topology(str(designs.bundled(designs.EMPTY))), log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        ec2 = ec2_client(served.endpoint, "us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
        subnet_id = subnet["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="ping-sg", Description="ping", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group, IpProtocol="icmp", FromPort=-1, ToPort=-1, CidrIp="10.0.0.0/16"
        )
        tag = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web1"}]}]
        ec2.run_instances(
            ImageId=IMAGE,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_id,
            SecurityGroupIds=[group],
            TagSpecifications=tag,
        )
        vpc_name, subnet_name = lab.topology.vpcs[0].name, lab.topology.vpcs[0].subnets[0].name
        found: dict = {"ec2 api": [], "shell": []}
        for round_number in range(args.rounds):
            found["ec2 api"].append(api_round(lab, ec2, subnet_id, group))
            found["shell"].append(shell_round(lab, vpc_name, subnet_name, f"direct{round_number}"))
        served.stop()
    for path, rounds in found.items():
        trips = [trip * 1000 for trip, _ in rounds]
        pings = [reply * 1000 for _, reply in rounds]
        answered = [p for p in pings if p == p]
        print(
            f"{path} launch: answered in median {statistics.median(trips):.0f} ms (max {max(trips):.0f}); "
            f"first ping answered median {statistics.median(answered):.0f} ms after the call, max "
            f"{max(answered):.0f} ms ({len(answered)}/{len(pings)} answered within 2.5 s; target <= 2000 ms)"
        )

    def plot(axes):
        names = list(found)
        axes[0].boxplot([[t * 1000 for t, _ in found[n]] for n in names], tick_labels=names)
        axes[0].set_ylabel("ms from the call to its answer")
        axes[0].set_title("The launch call's round trip (it waits for the host)")
        axes[1].boxplot([[r * 1000 for _, r in found[n] if r == r] for n in names], tick_labels=names)
        axes[1].axhline(2000, color="#d62728", linestyle="--", linewidth=1)
        axes[1].set_ylabel("ms from the call to the first answered ping")
        axes[1].set_title("A launched instance answering ping (target <= 2000 ms)")

    print(save("run_instances", found, plot, panels=2))


if __name__ == "__main__":
    main()
