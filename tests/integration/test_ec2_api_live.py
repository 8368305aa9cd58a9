"""The EC2 API of a running design, live (issue 35): an SG rule authorized through boto3 is on
the cards when the API answers, a revoked one is gone; `vpclab serve` answers Debian's AWS CLI
(the real `aws`, not the venv's) and tears everything down on SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError
from live_helpers import ROOT, leftovers, live, topology

from nitro_switch.emulation import Emulation
from vpclab import designs
from vpclab.api.backend import ec2_client, serve_emulation
from vpclab.intent.loader import load_topology
from vpclab.layout.names import Names

pytestmark = live
IMAGE = "ami-03cf127a"  # one of the images moto knows
AWS_CLI = "/usr/bin/aws"  # Debian's awscli (make install); a pyenv's aws may be first on PATH


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _instance(ec2, name: str) -> dict:
    """An instance as the API describes it, by its Name tag (the seed tags each)."""
    return next(
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if {"Key": "Name", "Value": name} in i.get("Tags", [])
    )


def _pings(lab, source: str, target: str) -> bool:
    address = str(lab.topology.instance(target).ip)
    out = lab.hosts.hosts[source].cmd(f"ping -c 1 -W 1 {address}")
    return " 1 received" in out


@contextmanager
def _served(name):
    """A design built (one of topologies/, or a path), and its EC2 API on a free port: (the
    emulation, a boto3 EC2 client)."""
    design = load_topology(str(name)) if os.path.sep in str(name) else topology(name)
    with Emulation(design, log=lambda line: None) as lab:
        port = _free_port()
        served = serve_emulation(lab, port, log=lambda line: None)
        try:
            yield lab, ec2_client(f"http://127.0.0.1:{port}", "us-east-1")
        finally:
            served.stop()


def test_a_rule_the_api_authorizes_is_on_the_cards_when_it_answers_and_goes_with_revoke():
    with _served("flow-logs.yaml") as (lab, ec2):
        group = next(
            g["GroupId"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] == "db-sg"
        )
        assert not _pings(lab, "web1", "db1")  # db-sg admits 3306 only
        ping = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=ping)
        answered = time.monotonic()
        assert _pings(lab, "web1", "db1")
        assert time.monotonic() - answered < 1.0
        changes = [c["operation"] for c in lab.api.call("changes")["changes"]]
        assert changes == ["add-sg-rule"]
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=ping)
        assert not _pings(lab, "web1", "db1")


def test_the_peering_seeds_steps_through_the_api_connect_two_vpcs_live():
    """Request, accept, a route each way, an SG rule: web1 (prod) pings dev1 (dev) only once
    every step is done, each through the EC2 API."""
    with _served("flow-logs.yaml") as (lab, ec2):
        vpcs = {v["CidrBlock"]: v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        prod, dev = vpcs["10.0.0.0/16"], vpcs["10.9.0.0/16"]
        pcx = ec2.create_vpc_peering_connection(VpcId=prod, PeerVpcId=dev)["VpcPeeringConnection"][
            "VpcPeeringConnectionId"
        ]
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        for vpc, other in ((prod, "10.9.0.0/16"), (dev, "10.0.0.0/16")):
            at = [{"Name": "vpc-id", "Values": [vpc]}]
            table = ec2.describe_route_tables(Filters=at)["RouteTables"][0]["RouteTableId"]
            ec2.create_route(RouteTableId=table, DestinationCidrBlock=other, VpcPeeringConnectionId=pcx)
        assert not _pings(lab, "web1", "dev1")  # dev's default SG admits its own members only
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [dev]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"]
        ping = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
        ec2.authorize_security_group_ingress(GroupId=groups[0]["GroupId"], IpPermissions=ping)
        assert _pings(lab, "web1", "dev1")
        operations = [c["operation"] for c in lab.api.call("changes")["changes"]]
        assert operations == [
            "request-peering",
            "accept-peering",
            "add-route",
            "add-route",
            "add-sg-rule",
        ]


def test_a_group_and_a_nacl_made_through_the_api_take_effect_live():
    """A new group given to db1 admits web1's ping; a new NACL (it denies everything) on db's
    subnet stops it; the default NACL back lets it through again: each a call, then a ping."""
    with _served("flow-logs.yaml") as (lab, ec2):
        prod = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.0.0.0/16")
        db_subnet = next(
            s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.0.2.0/24"
        )
        db1 = _instance(ec2, "db1")
        assert not _pings(lab, "web1", "db1")
        made = ec2.create_security_group(GroupName="ping-sg", Description="pings", VpcId=prod)["GroupId"]
        ping = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}]
        ec2.authorize_security_group_ingress(GroupId=made, IpPermissions=ping)
        assert not _pings(lab, "web1", "db1")  # nobody has the group yet
        kept = [g["GroupId"] for g in db1["SecurityGroups"]]
        ec2.modify_instance_attribute(InstanceId=db1["InstanceId"], Groups=[made, *kept])
        assert _pings(lab, "web1", "db1")
        acl = ec2.create_network_acl(VpcId=prod)["NetworkAcl"]["NetworkAclId"]
        association = next(
            a["NetworkAclAssociationId"]
            for n in ec2.describe_network_acls()["NetworkAcls"]
            for a in n["Associations"]
            if a["SubnetId"] == db_subnet
        )
        new = ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)[
            "NewAssociationId"
        ]
        assert not _pings(lab, "web1", "db1")
        default = next(
            n["NetworkAclId"]
            for n in ec2.describe_network_acls()["NetworkAcls"]
            if n["IsDefault"] and n["VpcId"] == prod
        )
        ec2.replace_network_acl_association(AssociationId=new, NetworkAclId=default)
        assert _pings(lab, "web1", "db1")
        operations = [c["operation"] for c in lab.api.call("changes")["changes"]]
        assert operations == [
            "create-security-group",
            "add-sg-rule",
            "set-instance-groups",
            "create-nacl",
            "associate-nacl",
            "associate-nacl",
        ]


def test_a_subnet_a_cidr_and_a_gateway_added_through_the_api_leave_the_cards_carrying():
    """Calls that change the design's frame (a new subnet and CIDR: new ids, every card
    compiled again; a gateway attached, routed to, detached): dev1 still reaches dev2 after
    each, and the controller logged each change. From the empty design (it has the internet's
    card: a design without one refuses a gateway, which would lead nowhere)."""
    with _served(designs.bundled(designs.EMPTY)) as (lab, ec2):
        dev = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=dev, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [dev]}])["SecurityGroups"][
            0
        ]
        for name in ("dev1", "dev2"):
            tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
            ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=tags)
        assert group["GroupName"] == "default" and _pings(lab, "dev1", "dev2")  # the default group's members
        ec2.associate_vpc_cidr_block(VpcId=dev, CidrBlock="10.1.0.0/16")
        ec2.create_subnet(VpcId=dev, CidrBlock="10.1.1.0/24")
        assert _pings(lab, "dev1", "dev2") and _pings(lab, "dev2", "dev1")
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=dev)
        table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [dev]}])["RouteTables"][0]
        ec2.create_route(
            RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway
        )
        assert _pings(lab, "dev1", "dev2")
        ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=dev)
        assert _pings(lab, "dev1", "dev2")
        operations = [c["operation"] for c in lab.api.call("changes")["changes"]]
        assert operations == [
            "create-vpc",
            "create-subnet",
            "launch-instance",
            "launch-instance",
            "add-vpc-cidr",
            "create-subnet",
            "attach-internet-gateway",
            "add-route",
            "detach-internet-gateway",
        ]


def test_a_gateway_is_refused_where_the_run_has_no_internet_card():
    """flow-logs.yaml came up without an internet gateway, host or site: no card for the
    internet was built, so a gateway would lead nowhere; AWS-style refusal, nothing changes."""
    with _served("flow-logs.yaml") as (lab, ec2):
        dev = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16")
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        with pytest.raises(ClientError) as refused:
            ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=dev)
        assert "has no internet card" in refused.value.response["Error"]["Message"]
        assert lab.api.call("changes")["changes"] == []


def test_an_elastic_ip_moved_through_the_api_is_where_the_internet_reaches_the_instance():
    """web1's address on the internet becomes the Elastic IP the API allocated and associated:
    the client pings it there, not at the old one; disassociated, at neither."""
    with _served("two-tier.yaml") as (lab, ec2):
        client = lab.hosts.hosts["client"]
        old = str(lab.topology.instance("web1").public_ip)
        reaches = lambda address: " 1 received" in client.cmd(f"ping -c 1 -W 1 {address}")
        assert reaches(old)
        allocated = ec2.allocate_address(Domain="vpc")
        web1 = _instance(ec2, "web1")["InstanceId"]
        association = ec2.associate_address(AllocationId=allocated["AllocationId"], InstanceId=web1)
        assert reaches(allocated["PublicIp"]) and not reaches(old)
        ec2.disassociate_address(AssociationId=association["AssociationId"])
        assert not reaches(allocated["PublicIp"]) and not reaches(old)


def test_vpclab_serve_answers_the_aws_cli_and_tears_down_on_sigterm():
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vpclab.ui.cli",
            "serve",
            os.path.join(ROOT, "topologies", "peering.yaml"),
            "--port",
            str(port),
            "--no-cli",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    said = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            said.append(line)
            if line.startswith("*** EC2 API on"):
                break
        assert any(line.startswith("*** EC2 API on") for line in said), "".join(said)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        aws = [AWS_CLI, "--endpoint-url", f"http://127.0.0.1:{port}", "--output", "json", "ec2"]
        found = subprocess.run([*aws, "describe-vpcs"], capture_output=True, text=True, env=env, timeout=60)
        assert found.returncode == 0, found.stderr
        assert sorted(v["CidrBlock"] for v in json.loads(found.stdout)["Vpcs"]) == [
            "10.0.0.0/16",
            "10.1.0.0/16",
        ]
        refused = subprocess.run(
            [*aws, "create-vpn-gateway", "--type", "ipsec.1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert refused.returncode != 0 and "UnsupportedOperation" in refused.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        rest, _ = server.communicate(timeout=120)
    assert "*** tearing down" in rest and server.returncode == 0
    assert leftovers(Names(topology("peering.yaml").name).short) == {"namespaces": [], "interfaces": []}
