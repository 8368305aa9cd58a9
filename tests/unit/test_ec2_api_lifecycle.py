"""RunInstances, TerminateInstances, CreateVpc and DeleteVpc (issue 35): boto3 against a real
moto server behind vpclab's front, starting from the empty design `vpclab serve` starts from.
What AWS would answer is what moto answers, and what the design holds agrees with it: each
launched instance's address (the design's lowest free one, told to moto), its id (the
metadata service's instance-id), the VPC's defaults by their ids."""

import pytest
from test_ec2_api import api as api  # the fixture the tests take
from test_ec2_api_resources import _refused
from vpc_fixtures import verdict

from vpclab.api.backend import ec2_client

EMPTY = "vpclab/designs/empty.yaml"
IMAGE = "ami-03cf127a"


def _tags(name: str, kind: str) -> list:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _vpc_and_subnet(ec2, name: str, cidr: str, subnet: str) -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_tags(name, "vpc"))["Vpc"]["VpcId"]
    made = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=subnet,
        AvailabilityZone="us-east-1a",
        TagSpecifications=_tags(f"{name}-a", "subnet"),
    )["Subnet"]
    assert (made["DefaultForAz"], made["MapPublicIpOnLaunch"]) == (False, False)  # no default VPC's
    return vpc, made["SubnetId"]


def _main_table(ec2, vpc: str) -> str:
    at = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
    return ec2.describe_route_tables(Filters=at)["RouteTables"][0]["RouteTableId"]


@pytest.mark.parametrize("api", [EMPTY], indirect=True)
def test_a_boto3_script_builds_two_vpcs_a_peering_and_two_instances_and_the_path_opens_last(api):
    running, ec2, _ = api
    prod, web = _vpc_and_subnet(ec2, "prod", "10.0.0.0/16", "10.0.1.0/24")
    dev, build = _vpc_and_subnet(ec2, "dev", "10.1.0.0/16", "10.1.1.0/24")
    build_sg = ec2.create_security_group(GroupName="build-sg", Description="b", VpcId=dev)["GroupId"]
    web1 = ec2.run_instances(
        ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=web, TagSpecifications=_tags("web1", "instance")
    )["Instances"][0]
    build1 = ec2.run_instances(
        ImageId=IMAGE,
        MinCount=1,
        MaxCount=1,
        SubnetId=build,
        SecurityGroupIds=[build_sg],
        TagSpecifications=_tags("build1", "instance"),
    )["Instances"][0]
    topology = running.intent.topology
    assert (str(topology.instance("web1").ip), str(topology.instance("build1").ip)) == (
        "10.0.1.4",
        "10.1.1.4",
    )
    assert (web1["PrivateIpAddress"], build1["PrivateIpAddress"]) == ("10.0.1.4", "10.1.1.4")
    assert topology.instance("build1").aws_id == build1["InstanceId"]
    assert [g.name for g in topology.instance("build1").security_groups] == ["build-sg"]
    opened = []

    def step(what: str) -> None:
        opened.append((what, verdict(running.intent.topology, "web1", "build1").accepted))

    pcx = ec2.create_vpc_peering_connection(VpcId=prod, PeerVpcId=dev)["VpcPeeringConnection"]
    step("requested")
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    step("accepted")
    for vpc, cidr in ((prod, "10.1.0.0/16"), (dev, "10.0.0.0/16")):
        ec2.create_route(
            RouteTableId=_main_table(ec2, vpc),
            DestinationCidrBlock=cidr,
            VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"],
        )
        step(f"route to {cidr}")
    ping = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
    ec2.authorize_security_group_ingress(GroupId=build_sg, IpPermissions=ping)
    step("rule")
    ec2.revoke_security_group_ingress(GroupId=build_sg, IpPermissions=ping)
    step("revoked")
    assert opened == [
        ("requested", False),
        ("accepted", False),
        ("route to 10.1.0.0/16", False),
        ("route to 10.0.0.0/16", False),
        ("rule", True),
        ("revoked", False),
    ]
    ec2.authorize_security_group_ingress(GroupId=build_sg, IpPermissions=ping)
    ec2.terminate_instances(InstanceIds=[build1["InstanceId"]])
    assert [i.name for i in running.intent.topology.instances] == ["web1"]
    (gone,) = ec2.describe_instances(InstanceIds=[build1["InstanceId"]])["Reservations"][0]["Instances"]
    assert gone["State"]["Name"] == "terminated"
    assert (
        _refused(ec2.terminate_instances, InstanceIds=[build1["InstanceId"]]) == "InvalidInstanceID.NotFound"
    )
    assert [op for op, _ in running.applied if op in ("launch-instance", "terminate-instance")] == [
        "launch-instance",
        "launch-instance",
        "terminate-instance",
    ]


@pytest.mark.parametrize("api", ["two-tier.yaml"], indirect=True)
def test_run_instances_gives_the_designs_lowest_free_address_and_moto_agrees(api):
    running, ec2, _ = api
    subnet = next(
        s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.40.1.0/24"
    )
    made = ec2.run_instances(ImageId=IMAGE, MinCount=2, MaxCount=2, SubnetId=subnet)["Instances"]
    # web1 holds .4 and the NAT gateway nat-a .5 (which moto does not place there)
    assert [i["PrivateIpAddress"] for i in made] == ["10.40.1.6", "10.40.1.7"]
    for instance in made:  # named by their ids, in the VPC's default group
        launched = running.intent.topology.instance(instance["InstanceId"])
        assert (str(launched.ip), [g.name for g in launched.security_groups]) == (
            instance["PrivateIpAddress"],
            ["default"],
        )
    given = ec2.run_instances(
        ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress="10.40.1.99"
    )
    assert given["Instances"][0]["PrivateIpAddress"] == "10.40.1.99"
    assert str(running.intent.topology.instance(given["Instances"][0]["InstanceId"]).ip) == "10.40.1.99"
    ec2.terminate_instances(InstanceIds=[given["Instances"][0]["InstanceId"]])  # its address is free again
    again = ec2.run_instances(
        ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress="10.40.1.99"
    )
    assert again["Instances"][0]["PrivateIpAddress"] == "10.40.1.99"


@pytest.mark.parametrize("api", ["two-tier.yaml"], indirect=True)
def test_run_instances_refuses_what_aws_refuses_and_changes_nothing(api):
    running, ec2, _ = api
    subnet = next(
        s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.40.1.0/24"
    )
    count = len(ec2.describe_instances()["Reservations"])
    before = running.intent.data
    run = ec2.run_instances
    assert _refused(run, ImageId=IMAGE, MinCount=1, MaxCount=1) == "VPCIdNotSpecified"
    assert (
        _refused(run, ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId="subnet-0000")
        == "InvalidSubnetID.NotFound"
    )
    assert (
        _refused(run, ImageId=IMAGE, MinCount=2, MaxCount=2, SubnetId=subnet, PrivateIpAddress="10.40.1.50")
        == "InvalidParameterCombination"
    )
    assert _refused(
        run, ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress="10.40.1.4"
    ) == (
        "InvalidParameterValue"  # web1's
    )
    assert _refused(run, ImageId=IMAGE, MinCount=1, MaxCount=50, SubnetId=subnet) == "InstanceLimitExceeded"
    assert _refused(ec2.stop_instances, InstanceIds=["i-0"]) == "InvalidInstanceID.NotFound"
    assert len(ec2.describe_instances()["Reservations"]) == count
    assert running.intent.data == before


@pytest.mark.parametrize("api", [EMPTY], indirect=True)
def test_a_vpcs_defaults_are_known_by_their_ids_and_a_vpc_goes_once_empty(api):
    running, ec2, _ = api
    vpc, subnet = _vpc_and_subnet(ec2, "prod", "10.0.0.0/16", "10.0.1.0/24")
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=default, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0"
    )
    rules = running.intent.topology.vpc("prod").security_groups[0].ingress
    assert [(r.traffic.ports, str(r.cidr)) for r in rules if r.cidr is not None] == [((22, 22), "0.0.0.0/0")]
    assert _refused(ec2.delete_vpc, VpcId=vpc) == "DependencyViolation"  # its subnet
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
    assert running.intent.topology.vpcs == ()
    assert ec2.describe_vpcs()["Vpcs"] == []


@pytest.mark.parametrize("api", [EMPTY], indirect=True)
def test_a_vpc_is_made_in_a_region_the_design_has(api):
    running, ec2, served = api
    west = ec2_client(ec2.meta.endpoint_url, "us-west-2")
    assert _refused(west.create_vpc, CidrBlock="10.0.0.0/16") == "UnsupportedOperation"
    assert _refused(ec2.create_vpc, CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True) == (
        "UnsupportedOperation"
    )
    made = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]  # no Name tag: named by its id
    assert [v.name for v in running.intent.topology.vpcs] == [made]
    assert served.ids.id_of("route_table", (made, "main")) is not None


@pytest.mark.parametrize("api", ["two-tier.yaml"], indirect=True)
def test_a_nat_gateway_made_and_deleted_through_the_api_is_the_designs(api):
    running, ec2, _ = api
    subnet = next(
        s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.40.1.0/24"
    )
    allocated = ec2.allocate_address(Domain="vpc")
    made = ec2.create_nat_gateway(
        SubnetId=subnet,
        AllocationId=allocated["AllocationId"],
        TagSpecifications=_tags("nat-c", "natgateway"),
    )["NatGateway"]
    nat = running.intent.topology.vpc("shop").nat_gateway("nat-c")
    assert (str(nat.ip), str(nat.public_ip)) == ("10.40.1.6", allocated["PublicIp"])
    assert made["NatGatewayAddresses"][0]["PublicIp"] == allocated["PublicIp"]
    table = next(
        t["RouteTableId"]
        for t in ec2.describe_route_tables()["RouteTables"]
        if {"Key": "Name", "Value": "private-a-rt"} in t.get("Tags", [])
    )
    ec2.replace_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=made["NatGatewayId"])
    assert verdict(running.intent.topology, "app1", "198.51.100.10", "tcp", 443).accepted
    again = {"SubnetId": subnet, "AllocationId": allocated["AllocationId"]}
    assert _refused(ec2.create_nat_gateway, **again) == "Resource.AlreadyAssociated"
    assert _refused(ec2.create_nat_gateway, **again, ConnectivityType="private") == "UnsupportedOperation"
    ec2.delete_nat_gateway(NatGatewayId=made["NatGatewayId"])
    assert [n.name for n in running.intent.topology.nat_gateways] == ["nat-a", "nat-b"]
    assert verdict(running.intent.topology, "app1", "198.51.100.10", "tcp", 443).reason == "blackhole"
    assert _refused(ec2.delete_nat_gateway, NatGatewayId=made["NatGatewayId"]) == "NatGatewayNotFound"


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_an_instance_attribute_no_packet_meets_goes_to_moto_and_changes_nothing_emulated(api):
    running, ec2, _ = api
    web1 = next(
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if {"Key": "Name", "Value": "web1"} in i["Tags"]
    )
    ec2.modify_instance_attribute(InstanceId=web1, DisableApiTermination={"Value": True})  # as Terraform does
    kept = ec2.describe_instance_attribute(InstanceId=web1, Attribute="disableApiTermination")
    assert kept["DisableApiTermination"]["Value"] is True and running.applied == []
