"""VPC endpoints made, changed and deleted at run time (issue 35): CreateVpcEndpoint,
ModifyVpcEndpoint and DeleteVpcEndpoints through `vpclab serve` (boto3 against moto behind
vpclab's front), and the runtime changes they are. A gateway endpoint's route comes and goes
with the endpoint and its tables, and the service's host on the emulated internet with the
first endpoint to it and the last. An interface endpoint to an AWS service puts its stand-in at
each subnet's first free address, answered by the VPC's resolver under the service's name; no
other host moves when one comes or goes. One to a PrivateLink service comes from the design."""

import pytest
from test_ec2_api import api as api  # the fixture the tests take
from test_ec2_api_resources import _refused
from vpc_fixtures import verdict

from vpclab.intent.changes import Intent
from vpclab.intent.dns import resolve
from vpclab.intent.errors import ChangeError
from vpclab.layout.plan import SERVICE_HOST_PORTS, Plan

TWO_TIER = "topologies/two-tier.yaml"


def _hops(topology, source: str) -> list[str]:
    found = verdict(topology, source, "192.0.2.5", "tcp", 443)
    return [h.detail for h in found.hops if h.stage == "route" and h.direction == "forward"]


def test_a_gateway_endpoint_made_at_run_time_routes_its_tables_and_brings_its_service_s_host():
    intent = Intent.from_file(TWO_TIER)
    assert "s3-us-east-1" not in [h.name for h in intent.topology.internet_hosts]
    ports = {name: p.port for name, p in Plan(intent.topology).internet_hosts.items()}
    intent.apply("create-vpc-endpoint", vpc="shop", name="s3-ep", service="s3", route_tables=["private-a-rt"])
    assert intent.summary == "created gateway endpoint 's3-ep' of VPC 'shop' to s3 (routes in private-a-rt)"
    plan = Plan(intent.topology)
    assert {n: p.port for n, p in plan.internet_hosts.items() if n in ports} == ports  # nothing moves
    assert plan.internet_hosts["s3-us-east-1"].port == SERVICE_HOST_PORTS
    assert _hops(intent.topology, "app1") == [
        "192.0.2.0/28 (prefix list com.amazonaws.us-east-1.s3) -> gateway endpoint s3-ep"
    ]
    assert _hops(intent.topology, "app2")[0] == "0.0.0.0/0 -> NAT gateway nat-b"  # its table has no route
    intent.apply("modify-vpc-endpoint", name="s3-ep", add_route_tables=["private-b-rt"])
    assert _hops(intent.topology, "app2")[0].endswith("-> gateway endpoint s3-ep")
    with pytest.raises(ChangeError, match="is endpoint 's3-ep''s already"):
        intent.apply("modify-vpc-endpoint", name="s3-ep", add_route_tables=["private-b-rt"])
    intent.apply("delete-vpc-endpoint", name="s3-ep")
    assert _hops(intent.topology, "app1")[0] == "0.0.0.0/0 -> NAT gateway nat-a"
    assert "s3-us-east-1" not in [h.name for h in intent.topology.internet_hosts]


@pytest.mark.parametrize("api", [TWO_TIER], indirect=True)
def test_create_modify_and_delete_vpc_endpoint_through_the_api(api):
    running, ec2, _ = api
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shop"]}])["Vpcs"][0]["VpcId"]
    tables = {
        next(t["Value"] for t in table["Tags"] if t["Key"] == "Name"): table["RouteTableId"]
        for table in ec2.describe_route_tables()["RouteTables"]
        if table.get("Tags")
    }
    made = ec2.create_vpc_endpoint(
        VpcEndpointType="Gateway",
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.s3",
        RouteTableIds=[tables["private-a-rt"]],
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": [{"Key": "Name", "Value": "s3-ep"}]}],
    )["VpcEndpoint"]
    topology = running.intent.topology
    (endpoint,) = topology.gateway_endpoints
    assert (endpoint.name, endpoint.vpc) == ("s3-ep", "shop")
    assert _hops(topology, "app1")[0].endswith("-> gateway endpoint s3-ep")
    ec2.modify_vpc_endpoint(VpcEndpointId=made["VpcEndpointId"], AddRouteTableIds=[tables["private-b-rt"]])
    assert _hops(running.intent.topology, "app2")[0].endswith("-> gateway endpoint s3-ep")
    described = ec2.describe_vpc_endpoints(VpcEndpointIds=[made["VpcEndpointId"]])["VpcEndpoints"][0]
    assert sorted(described["RouteTableIds"]) == sorted([tables["private-a-rt"], tables["private-b-rt"]])
    before = running.intent.data
    assert (
        _refused(
            ec2.create_vpc_endpoint,
            VpcEndpointType="Interface",
            VpcId=vpc,
            ServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
        )
        == "UnsupportedOperation"
    )
    assert _refused(ec2.delete_vpc_endpoints, VpcEndpointIds=["vpce-0123456789abcdef0"]) == (
        "InvalidVpcEndpointId.NotFound"
    )
    assert running.intent.data == before
    ec2.delete_vpc_endpoints(VpcEndpointIds=[made["VpcEndpointId"]])
    assert not running.intent.topology.gateway_endpoints
    assert _hops(running.intent.topology, "app1")[0] == "0.0.0.0/0 -> NAT gateway nat-a"


def test_an_interface_endpoint_made_at_run_time_moves_no_other_host():
    intent = Intent.from_file(TWO_TIER)
    before = {
        name: (p.port, p.zone, str(p.instance.ip)) for name, p in Plan(intent.topology).instances.items()
    }
    sqs = "com.amazonaws.us-east-1.sqs"
    intent.apply(
        "create-vpc-endpoint",
        vpc="shop",
        name="sqs-ep",
        service=sqs,
        subnets=["app-a", "app-b"],
        interface=True,
    )
    intent.apply(
        "create-vpc-endpoint",
        vpc="shop",
        name="ssm-ep",
        service="com.amazonaws.us-east-1.ssm",
        subnets=["app-a"],
        security_groups=["app-sg"],
        interface=True,
    )
    placed = lambda: {i.name: str(i.ip) for i in intent.topology.instances if i.endpoint}
    assert placed() == {
        "sqs-ep-app-a": "10.40.11.5",
        "sqs-ep-app-b": "10.40.12.5",
        "ssm-ep-app-a": "10.40.11.6",
    }
    assert resolve(intent.topology, "shop", "sqs.us-east-1.amazonaws.com").records[0].values == (
        "10.40.11.5",
        "10.40.12.5",
    )
    ssm = {
        name: (p.port, p.zone)
        for name, p in Plan(intent.topology).instances.items()
        if name == "ssm-ep-app-a"
    }
    intent.apply("delete-vpc-endpoint", name="sqs-ep")
    plan = Plan(intent.topology)
    assert placed() == {"ssm-ep-app-a": "10.40.11.6"}  # it keeps its address
    assert {name: (p.port, p.zone) for name, p in plan.instances.items() if name == "ssm-ep-app-a"} == ssm
    assert {
        n: (p.port, p.zone, str(p.instance.ip)) for n, p in plan.instances.items() if n in before
    } == before
    assert not verdict(intent.topology, "app2", "10.40.11.6", "tcp", 443).accepted  # app-sg: from web-sg only
    intent.apply(
        "modify-vpc-endpoint",
        name="ssm-ep",
        add_subnets=["app-b"],
        add_security_groups=["web-sg"],
        remove_security_groups=["app-sg"],
    )
    assert placed() == {"ssm-ep-app-a": "10.40.11.6", "ssm-ep-app-b": "10.40.12.5"}
    assert verdict(intent.topology, "app2", "10.40.11.6", "tcp", 80).accepted  # web-sg lets it in
    with pytest.raises(ChangeError, match="keeps one subnet at least"):
        intent.apply("modify-vpc-endpoint", name="ssm-ep", remove_subnets=["app-a", "app-b"])


@pytest.mark.parametrize("api", [TWO_TIER], indirect=True)
def test_an_interface_endpoint_through_the_api_is_at_the_design_s_addresses_in_moto_too(api):
    running, ec2, _ = api
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shop"]}])["Vpcs"][0]["VpcId"]
    subnets = {
        next(t["Value"] for t in s["Tags"] if t["Key"] == "Name"): s["SubnetId"]
        for s in ec2.describe_subnets()["Subnets"]
        if s.get("Tags")
    }
    made = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.sqs",
        SubnetIds=[subnets["app-a"]],
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": [{"Key": "Name", "Value": "sqs-ep"}]}],
    )["VpcEndpoint"]
    (stand_in,) = [i for i in running.intent.topology.instances if i.endpoint == "sqs-ep"]
    (interface,) = ec2.describe_network_interfaces(NetworkInterfaceIds=made["NetworkInterfaceIds"])[
        "NetworkInterfaces"
    ]
    assert interface["PrivateIpAddress"] == str(stand_in.ip) == "10.40.11.5"
    ec2.modify_vpc_endpoint(VpcEndpointId=made["VpcEndpointId"], AddSubnetIds=[subnets["app-b"]])
    assert sorted(i.subnet for i in running.intent.topology.instances if i.endpoint == "sqs-ep") == [
        "app-a",
        "app-b",
    ]
    assert (
        _refused(
            ec2.modify_vpc_endpoint,
            VpcEndpointId=made["VpcEndpointId"],
            AddSubnetIds=["subnet-0123456789abcdef0"],
        )
        == "InvalidSubnetID.NotFound"
    )
    ec2.delete_vpc_endpoints(VpcEndpointIds=[made["VpcEndpointId"]])
    assert not [i for i in running.intent.topology.instances if i.endpoint]
