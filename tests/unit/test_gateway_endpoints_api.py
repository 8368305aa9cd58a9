"""Gateway endpoints made, changed and deleted at run time (issue 35): CreateVpcEndpoint,
ModifyVpcEndpoint and DeleteVpcEndpoints through `vpclab serve` (boto3 against moto behind
vpclab's front), and the runtime changes they are. The route AWS adds comes and goes with the
endpoint and its tables, and the service's host on the emulated internet with the first
endpoint to it and the last; an interface endpoint is refused (it comes from the design file)."""

import pytest
from test_ec2_api import api as api  # the fixture the tests take
from test_ec2_api_resources import _refused
from vpc_fixtures import verdict

from vpclab.intent.changes import Intent
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
            ServiceName="com.amazonaws.us-east-1.sqs",
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
