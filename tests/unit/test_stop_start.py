"""Instances stopped and started (StopInstances, StartInstances; the shell's stop and start):
a stopped instance keeps its interface, private addresses, server and card port, and sends and
answers nothing; its automatic public IP is released and its start gives it a new one, while an
Elastic IP stays, as AWS documents. trace says why a packet to or from it goes nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_ec2_api import api as api  # the fixture the tests take
from test_ec2_api_lifecycle import EMPTY, IMAGE, _tags, _vpc_and_subnet
from vpc_fixtures import load, problems, verdict

from controller.compiler import compile_topology, recompile
from vpclab.intent.changes import Intent
from vpclab.layout.plan import Plan

ROOT = Path(__file__).resolve().parents[2]


def numbers(intent: Intent) -> dict:
    return {
        name: (p.instance.server, str(p.instance.ip), p.port, p.zone, p.mac)
        for name, p in Plan(intent.topology).instances.items()
    }


def test_a_stopped_instance_keeps_its_place_and_sends_and_answers_nothing():
    intent = Intent.from_file(str(ROOT / "topologies" / "two-tier.yaml"))
    before, compiled = numbers(intent), compile_topology(intent.topology)
    public = str(intent.topology.instance("web1").public_ip)
    assert verdict(intent.topology, "web2", "web1", "tcp", 80).accepted
    intent.apply("stop-instance", instance="web1")
    assert intent.summary == f"stopped instance 'web1'; its public IP {public} is released"
    topology = intent.topology
    assert numbers(intent) == before and topology.instance("web1").public_ip is None
    into = verdict(topology, "web2", "web1", "tcp", 80)
    assert (into.accepted, into.reason, into.hops[-1].stage) == (False, "instance-stopped", "deliver")
    assert "web1 is stopped: its interface keeps" in into.hops[-1].detail
    out = verdict(topology, "web1", "web2", "tcp", 80)
    assert (out.reason, out.hops[0].stage) == ("instance-stopped", "source-check")
    assert (
        verdict(topology, "web2", "app1", "tcp", 8080).accepted
        == verdict(
            Intent.from_file(str(ROOT / "topologies" / "two-tier.yaml")).topology, "web2", "app1", "tcp", 8080
        ).accepted
    )  # nobody else changes
    changed = recompile(compiled, topology).changed  # no flow of another instance goes
    assert all(not any("web2" in str(f) or "app1" in str(f) for f in d.delete) for d in changed.values())
    intent.apply("stop-instance", instance="web1")
    assert intent.summary == "instance 'web1' is stopped already"
    intent.apply("start-instance", instance="web1")
    assert intent.summary == "started instance 'web1'"
    started = intent.topology.instance("web1")
    assert numbers(intent) == before and started.state == "running"
    assert started.public_ip is not None and str(started.public_ip) != public  # AWS: a new one
    assert verdict(intent.topology, "web2", "web1", "tcp", 80).accepted
    intent.apply("start-instance", instance="web1")
    assert intent.summary == "instance 'web1' is running already"


def test_an_elastic_ip_stays_through_a_stop_and_the_design_keeps_public_ip_true():
    intent = Intent.from_file(str(ROOT / "topologies" / "two-tier.yaml"))
    intent.apply("set-public-ip", instance="web2", address="203.0.113.99")
    intent.apply("stop-instance", instance="web2")
    assert str(intent.topology.instance("web2").public_ip) == "203.0.113.99"
    intent.apply("stop-instance", instance="web1")
    assert intent.summary.endswith("is released")
    entries = {i["name"]: i for v in intent.data["vpcs"] for i in v.get("instances", [])}
    assert (entries["web1"]["public_ip"], entries["web1"]["state"]) == (True, "stopped")
    assert entries["web2"]["public_ip"] == "203.0.113.99"
    saved = yaml.safe_load(yaml.safe_dump({k: v for k, v in intent.data.items() if k != "numbering"}))
    again = load(yaml.safe_dump(saved))  # a new run of the saved design: stopped, no public IP
    assert again.instance("web1").stopped and again.instance("web1").public_ip is None


def test_state_is_running_or_stopped_and_a_pinned_public_ip_needs_public_ip_true():
    design = """
        name: t
        vpcs:
          - name: prod
            cidr: 10.0.0.0/16
            internet_gateway: igw
            subnets: [{name: web, cidr: 10.0.1.0/24}]
            instances:
              - {name: a, subnet: web, state: STATE}
              - {name: b, subnet: web}
        numbering: {public_ips: {NAME: 203.0.113.7}}
    """
    found = problems(design.replace("STATE", "hibernating").replace("NAME", "a"))
    assert found == [
        "test.yaml:9: vpcs[0].instances[0].state: expected 'running' or 'stopped', got 'hibernating'"
    ]
    found = problems(design.replace("STATE", "stopped").replace("NAME", "b"))
    assert found == [
        "test.yaml:11: numbering.public_ips.b: no instance 'b' with public_ip: true to keep one for"
    ]


@pytest.mark.parametrize("api", [EMPTY], indirect=True)
def test_stop_and_start_instances_through_the_api_follow_aws_and_moto_agrees(api):
    running, ec2, _ = api
    vpc, subnet = _vpc_and_subnet(ec2, "prod", "10.0.0.0/16", "10.0.1.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    launched = ec2.run_instances(
        ImageId=IMAGE,
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": True}],
        TagSpecifications=_tags("web1", "instance"),
    )["Instances"][0]
    first = str(running.intent.topology.instance("web1").public_ip)
    assert launched.get("PublicIpAddress") == first and first.startswith("203.0.113.")

    def described() -> dict:
        return ec2.describe_instances(InstanceIds=[launched["InstanceId"]])["Reservations"][0]["Instances"][0]

    assert described()["PublicIpAddress"] == first
    stopped = ec2.stop_instances(InstanceIds=[launched["InstanceId"]])["StoppingInstances"][0]
    assert stopped["CurrentState"]["Name"] in ("stopping", "stopped")
    web1 = running.intent.topology.instance("web1")
    assert web1.stopped and web1.public_ip is None and "PublicIpAddress" not in described()
    assert described()["State"]["Name"] == "stopped" and described()["PrivateIpAddress"] == "10.0.1.4"
    ec2.start_instances(InstanceIds=[launched["InstanceId"]])
    web1 = running.intent.topology.instance("web1")
    assert not web1.stopped and str(web1.ip) == "10.0.1.4"
    assert web1.public_ip is not None and str(web1.public_ip) != first
    assert described()["PublicIpAddress"] == str(web1.public_ip)  # the design's, told to moto
    with pytest.raises(Exception, match="InvalidInstanceID.NotFound"):
        ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"])


@pytest.mark.parametrize("api", ["topologies/two-tier.yaml"], indirect=True)
def test_a_design_s_public_ip_is_an_elastic_ip_in_the_api_and_stays_through_a_stop(api):
    running, ec2, _ = api
    web1 = running.intent.topology.instance("web1")
    (address,) = ec2.describe_addresses(Filters=[{"Name": "public-ip", "Values": [str(web1.public_ip)]}])[
        "Addresses"
    ]
    ec2.stop_instances(InstanceIds=[address["InstanceId"]])
    stopped = running.intent.topology.instance("web1")
    assert stopped.stopped and stopped.public_ip == web1.public_ip
    entry = next(
        i for v in running.intent.data["vpcs"] for i in v.get("instances", []) if i["name"] == "web1"
    )
    assert entry["public_ip"] == str(web1.public_ip)  # an Elastic IP in the design too, from now on
    ec2.start_instances(InstanceIds=[address["InstanceId"]])
    (described,) = ec2.describe_instances(InstanceIds=[address["InstanceId"]])["Reservations"][0]["Instances"]
    assert (
        described["PublicIpAddress"]
        == str(web1.public_ip)
        == str(running.intent.topology.instance("web1").public_ip)
    )


def test_a_stopped_instance_of_a_snapshot_or_a_plan_is_imported_stopped(tmp_path):
    """Its address stays taken (AWS keeps it), it answers nothing; a snapshot's stopped
    instance with an Elastic IP is listed: the address is not kept while it is stopped."""
    import json
    import shutil

    from vpclab.aws_import import import_directory, import_plan, render

    folder = tmp_path / "snapshot"
    shutil.copytree(ROOT / "tests" / "data" / "aws-configs" / "test-public-subnet" / "aws_configs", folder)
    reservations = json.loads((folder / "Reservations.json").read_text())
    (instance,) = reservations["Reservations"][0]["Instances"]
    instance["State"] = {"Code": 80, "Name": "stopped"}
    (folder / "Reservations.json").write_text(json.dumps(reservations))
    result = import_directory(str(folder))
    topology = load(render(result, str(folder)))
    (imported,) = topology.senders
    assert (
        imported.stopped and str(imported.ip) == instance["PrivateIpAddress"] and imported.public_ip is None
    )
    assert [c.reason for c in result.changed if c.kind == "public IP"] == [
        "a stopped instance's Elastic IP: not kept (its start takes one from 203.0.113.0/24)"
    ]
    plan = json.loads((ROOT / "tests" / "data" / "terraform" / "seed-hub-and-bank" / "plan.json").read_text())
    plan["planned_values"]["root_module"]["resources"].append(
        {
            "address": "aws_ec2_instance_state.waf",
            "mode": "managed",
            "type": "aws_ec2_instance_state",
            "name": "waf",
            "values": {"state": "stopped"},
        }
    )
    plan["configuration"]["root_module"]["resources"].append(
        {
            "address": "aws_ec2_instance_state.waf",
            "mode": "managed",
            "type": "aws_ec2_instance_state",
            "name": "waf",
            "expressions": {"instance_id": {"references": ["aws_instance.waf.id", "aws_instance.waf"]}},
        }
    )
    plan["resource_changes"].append(
        {"address": "aws_ec2_instance_state.waf", "change": {"after_unknown": {"instance_id": True}}}
    )
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    waf = load(render(import_plan(str(path)), str(path))).instance("waf")
    assert waf.stopped and waf.public_ip is None
