"""Issue 35's "done when", live: from `vpclab serve`'s empty design, a script that uses only
boto3 builds two VPCs, a peering (pending, then accepted), routes, an SG rule and two
instances; a ping crosses only once all are in place, and stops when the rule is revoked or
the instance terminated. A launched instance is a host with everything an instance has (its
card's metadata service answers with the API's instance id; the VPC's resolver knows its name);
a terminated one is gone from the machine."""

import os
import time

from live_helpers import ROOT, live

from nitro_switch.emulation import Emulation
from vpclab import designs
from vpclab.api.backend import ec2_client, serve_emulation
from vpclab.intent.loader import load_topology

pytestmark = live
IMAGE = "ami-03cf127a"


def _tags(name: str, kind: str) -> list:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _pings(lab, source: str, address: str) -> bool:
    return " 1 received" in lab.hosts.hosts[source].cmd(f"ping -c 1 -W 1 {address}")


def test_a_boto3_script_builds_two_connected_vpcs_from_nothing_and_the_ping_follows_every_step():
    empty = load_topology(str(designs.bundled(designs.EMPTY)))
    with Emulation(empty, log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        try:
            _build_and_ping(lab, ec2_client(served.endpoint, "us-east-1"))
        finally:
            served.stop()


def _build_and_ping(lab, ec2) -> None:
    vpcs, subnets, groups = {}, {}, {}
    for name, cidr, az in (("prod", "10.0", "a"), ("dev", "10.1", "b")):
        vpcs[name] = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16", TagSpecifications=_tags(name, "vpc"))["Vpc"][
            "VpcId"
        ]
        subnets[name] = ec2.create_subnet(
            VpcId=vpcs[name], CidrBlock=f"{cidr}.1.0/24", AvailabilityZone=f"us-east-1{az}"
        )["Subnet"]["SubnetId"]
        groups[name] = ec2.create_security_group(GroupName=f"{name}-sg", Description=name, VpcId=vpcs[name])[
            "GroupId"
        ]
    launched = {}
    for instance, vpc in (("web1", "prod"), ("build1", "dev")):
        asked = time.monotonic()
        launched[instance] = ec2.run_instances(
            ImageId=IMAGE,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnets[vpc],
            SecurityGroupIds=[groups[vpc]],
            TagSpecifications=_tags(instance, "instance"),
        )["Instances"][0]
        assert time.monotonic() - asked < 2.0  # the host is up when the API answers
    build1 = launched["build1"]["PrivateIpAddress"]
    seen = [("launched", _pings(lab, "web1", build1))]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpcs["prod"], PeerVpcId=vpcs["dev"])["VpcPeeringConnection"]
    peering = pcx["VpcPeeringConnectionId"]
    (asked,) = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering])[
        "VpcPeeringConnections"
    ]
    assert asked["Status"]["Code"] == "pending-acceptance"
    seen.append(("requested", _pings(lab, "web1", build1)))
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering)
    seen.append(("accepted", _pings(lab, "web1", build1)))
    for vpc, other in (("prod", "10.1.0.0/16"), ("dev", "10.0.0.0/16")):
        main = ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpcs[vpc]]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"][0]["RouteTableId"]
        ec2.create_route(RouteTableId=main, DestinationCidrBlock=other, VpcPeeringConnectionId=peering)
        seen.append((f"route in {vpc}", _pings(lab, "web1", build1)))
    ping = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
    ec2.authorize_security_group_ingress(GroupId=groups["dev"], IpPermissions=ping)
    seen.append(("rule", _pings(lab, "web1", build1)))
    ec2.revoke_security_group_ingress(GroupId=groups["dev"], IpPermissions=ping)
    seen.append(("revoked", _pings(lab, "web1", build1)))
    ec2.authorize_security_group_ingress(GroupId=groups["dev"], IpPermissions=ping)
    seen.append(("rule again", _pings(lab, "web1", build1)))
    assert seen == [
        ("launched", False),
        ("requested", False),
        ("accepted", False),
        ("route in prod", False),
        ("route in dev", False),
        ("rule", True),
        ("revoked", False),
        ("rule again", True),
    ]
    # what an instance has: the metadata service knows the API's id, the resolver its name
    asked = "curl -s -m 2 http://169.254.169.254/latest/meta-data/instance-id"
    assert lab.hosts.hosts["build1"].cmd(asked).strip() == launched["build1"]["InstanceId"]
    assert build1 in lab.hosts.hosts["web1"].cmd("getent hosts web1.vpclab.internal build1.vpclab.internal")
    host_pid, card = (
        lab.hosts.hosts["build1"].pid,
        lab.servers_by_name[lab.plan.instances["build1"].instance.server],
    )
    ec2.terminate_instances(InstanceIds=[launched["build1"]["InstanceId"]])
    assert not _pings(lab, "web1", build1)
    assert "build1" not in lab.hosts.hosts and not os.path.exists(f"/proc/{host_pid}")
    assert "build1" not in card.vsctl("list-ports", "br-int").split()


def test_a_nat_gateway_made_through_the_api_carries_the_private_subnets_traffic_until_deleted():
    """two-tier.yaml: app1 (private) reaches the internet through nat-a. A NAT gateway made
    through the API (a new Elastic IP) and the private table's default route moved to it: the
    client sees app1's pings come from the new address; deleted, the route is a blackhole."""
    two_tier = load_topology(os.path.join(ROOT, "topologies", "two-tier.yaml"))
    with Emulation(two_tier, log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        try:
            ec2 = ec2_client(served.endpoint, "us-east-1")
            subnet = next(
                s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.40.1.0/24"
            )
            allocated = ec2.allocate_address(Domain="vpc")
            nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocated["AllocationId"])[
                "NatGateway"
            ]
            table = next(
                t["RouteTableId"]
                for t in ec2.describe_route_tables()["RouteTables"]
                if {"Key": "Name", "Value": "private-a-rt"} in t.get("Tags", [])
            )
            ec2.replace_route(
                RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"]
            )
            client = lab.hosts.hosts["client"]
            listening = client.popen(
                ["tcpdump", "-n", "-l", "-c", "1", "-i", "eth0", "icmp[icmptype] == 8"], text=True
            )
            time.sleep(1.0)
            assert _pings(lab, "app1", "198.51.100.10")
            seen = listening.communicate(timeout=10)[0]
            assert f"IP {allocated['PublicIp']} > 198.51.100.10" in seen, seen
            ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
            assert not _pings(lab, "app1", "198.51.100.10")
        finally:
            served.stop()


def test_a_transit_gateway_made_through_the_api_joins_two_vpcs_until_an_attachment_goes():
    """From the empty design: two VPCs with an instance each, a TGW with AWS's defaults (its
    default route table takes both attachments' associations and propagations), a route to it
    in each VPC: the ping crosses; the second attachment deleted, it stops."""
    empty = load_topology(str(designs.bundled(designs.EMPTY)))
    with Emulation(empty, log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        try:
            ec2 = ec2_client(served.endpoint, "us-east-1")
            vpcs, subnets = {}, {}
            for name, cidr, az in (("prod", "10.0", "a"), ("dev", "10.1", "b")):
                vpcs[name] = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
                subnets[name] = ec2.create_subnet(
                    VpcId=vpcs[name], CidrBlock=f"{cidr}.1.0/24", AvailabilityZone=f"us-east-1{az}"
                )["Subnet"]["SubnetId"]
                group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpcs[name]]}])
                ec2.authorize_security_group_ingress(
                    GroupId=group["SecurityGroups"][0]["GroupId"],
                    IpProtocol="icmp",
                    FromPort=-1,
                    ToPort=-1,
                    CidrIp="10.0.0.0/8",
                )
                ec2.run_instances(
                    ImageId=IMAGE,
                    MinCount=1,
                    MaxCount=1,
                    SubnetId=subnets[name],
                    TagSpecifications=_tags(f"{name}1", "instance"),
                )
            tgw = ec2.create_transit_gateway(Description="core")["TransitGateway"]["TransitGatewayId"]
            attachments = {
                name: ec2.create_transit_gateway_vpc_attachment(
                    TransitGatewayId=tgw, VpcId=vpcs[name], SubnetIds=[subnets[name]]
                )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
                for name in vpcs
            }
            assert not _pings(lab, "prod1", "10.1.1.4")  # no VPC route to the TGW yet
            for name, other in (("prod", "10.1.0.0/16"), ("dev", "10.0.0.0/16")):
                main = ec2.describe_route_tables(
                    Filters=[
                        {"Name": "vpc-id", "Values": [vpcs[name]]},
                        {"Name": "association.main", "Values": ["true"]},
                    ]
                )["RouteTables"][0]["RouteTableId"]
                ec2.create_route(RouteTableId=main, DestinationCidrBlock=other, TransitGatewayId=tgw)
            assert _pings(lab, "prod1", "10.1.1.4") and _pings(lab, "dev1", "10.0.1.4")
            ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachments["dev"])
            assert not _pings(lab, "prod1", "10.1.1.4")
        finally:
            served.stop()


def test_a_stopped_instance_is_gone_from_the_network_until_started_and_comes_back_with_a_new_public_ip():
    """two-tier.yaml: StopInstances takes web1 off the network (what ran in it ends) until
    StartInstances; an instance launched with an automatic public IP loses it on a stop and
    answers the client at a new one after its start, as AWS does; the old one leads nowhere."""
    two_tier = load_topology(os.path.join(ROOT, "topologies", "two-tier.yaml"))
    with Emulation(two_tier, log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        try:
            ec2 = ec2_client(served.endpoint, "us-east-1")
            ids = {
                next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i["InstanceId"]
                for r in ec2.describe_instances()["Reservations"]
                for i in r["Instances"]
            }
            web1 = str(lab.topology.instance("web1").ip)
            sleeper = lab.hosts.hosts["web1"].popen(["sleep", "600"])
            assert _pings(lab, "web2", web1)
            ec2.stop_instances(InstanceIds=[ids["web1"]])
            assert not _pings(lab, "web2", web1)
            assert sleeper.wait(timeout=5) is not None  # shut down with its OS
            ec2.start_instances(InstanceIds=[ids["web1"]])
            assert _pings(lab, "web2", web1)
            subnet = next(
                s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.40.1.0/24"
            )
            web3 = ec2.run_instances(
                ImageId=IMAGE,
                MinCount=1,
                MaxCount=1,
                NetworkInterfaces=[
                    {
                        "DeviceIndex": 0,
                        "SubnetId": subnet,
                        "AssociatePublicIpAddress": True,
                        "Groups": [
                            ec2.describe_instances(InstanceIds=[ids["web1"]])["Reservations"][0]["Instances"][
                                0
                            ]["SecurityGroups"][0]["GroupId"]
                        ],
                    }
                ],
                TagSpecifications=_tags("web3", "instance"),
            )["Instances"][0]
            first = web3["PublicIpAddress"]
            assert _pings(lab, "client", first)
            ec2.stop_instances(InstanceIds=[web3["InstanceId"]])
            assert not _pings(lab, "client", first)
            ec2.start_instances(InstanceIds=[web3["InstanceId"]])
            (again,) = ec2.describe_instances(InstanceIds=[web3["InstanceId"]])["Reservations"][0][
                "Instances"
            ]
            assert again["PublicIpAddress"] != first
            assert _pings(lab, "client", again["PublicIpAddress"]) and not _pings(lab, "client", first)
        finally:
            served.stop()


def test_a_gateway_endpoint_made_through_the_api_takes_s3_traffic_from_its_private_address():
    """two-tier.yaml names no AWS service: a gateway endpoint to S3 made through the API brings
    S3's host on the emulated internet, and app1's packets reach it from its private address
    through the endpoint (no NAT); deleted, the host goes and nothing answers."""
    two_tier = load_topology(os.path.join(ROOT, "topologies", "two-tier.yaml"))
    with Emulation(two_tier, log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        try:
            ec2 = ec2_client(served.endpoint, "us-east-1")
            assert not _pings(lab, "app1", "192.0.2.5")  # no S3 in the design yet
            table = next(
                t["RouteTableId"]
                for t in ec2.describe_route_tables()["RouteTables"]
                if {"Key": "Name", "Value": "private-a-rt"} in t.get("Tags", [])
            )
            vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
            made = ec2.create_vpc_endpoint(
                VpcEndpointType="Gateway",
                VpcId=vpc,
                ServiceName="com.amazonaws.us-east-1.s3",
                RouteTableIds=[table],
            )["VpcEndpoint"]
            listening = lab.hosts.hosts["s3-us-east-1"].popen(
                ["tcpdump", "-n", "-l", "-c", "1", "-i", "eth0", "icmp[icmptype] == 8"], text=True
            )
            time.sleep(1.0)
            assert _pings(lab, "app1", "192.0.2.5")
            seen = listening.communicate(timeout=10)[0]
            assert f"IP {lab.topology.instance('app1').ip} > 192.0.2.5" in seen, seen
            ec2.delete_vpc_endpoints(VpcEndpointIds=[made["VpcEndpointId"]])
            assert "s3-us-east-1" not in lab.hosts.hosts and not _pings(lab, "app1", "192.0.2.5")
        finally:
            served.stop()


def test_an_interface_endpoint_made_through_the_api_answers_at_its_private_dns_name_until_deleted():
    """two-tier.yaml: an interface endpoint to SQS in web-b (web-sg lets ICMP in): web1's
    resolver answers sqs.us-east-1.amazonaws.com with the interface's address, which answers
    a ping; modified into web-a too, deleted, nothing answers there and no other host moved."""
    two_tier = load_topology(os.path.join(ROOT, "topologies", "two-tier.yaml"))
    with Emulation(two_tier, log=lambda line: None) as lab:
        served = serve_emulation(lab, 0, log=lambda line: None)
        try:
            ec2 = ec2_client(served.endpoint, "us-east-1")
            vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
            subnets = {s["CidrBlock"]: s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
            group = next(
                g["GroupId"]
                for g in ec2.describe_security_groups()["SecurityGroups"]
                if g["GroupName"] == "web-sg"
            )
            places = {name: str(local.instance.ip) for name, local in lab.plan.instances.items()}
            made = ec2.create_vpc_endpoint(
                VpcEndpointType="Interface",
                VpcId=vpc,
                ServiceName="com.amazonaws.us-east-1.sqs",
                SubnetIds=[subnets["10.40.2.0/24"]],
                SecurityGroupIds=[group],
            )["VpcEndpoint"]
            answered = lab.hosts.hosts["web1"].cmd("getent hosts sqs.us-east-1.amazonaws.com").split()
            assert answered[:1] == ["10.40.2.6"], answered  # after web2 and nat-b
            assert _pings(lab, "web1", "10.40.2.6")
            ec2.modify_vpc_endpoint(
                VpcEndpointId=made["VpcEndpointId"], AddSubnetIds=[subnets["10.40.1.0/24"]]
            )
            assert _pings(lab, "web2", "10.40.1.6")
            ec2.delete_vpc_endpoints(VpcEndpointIds=[made["VpcEndpointId"]])
            assert not _pings(lab, "web1", "10.40.2.6") and not _pings(lab, "web2", "10.40.1.6")
            assert {name: str(local.instance.ip) for name, local in lab.plan.instances.items()} == places
        finally:
            served.stop()
