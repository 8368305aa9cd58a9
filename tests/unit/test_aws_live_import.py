"""vpclab import --region --endpoint: an account built with boto3 in moto's EC2 server on
127.0.0.1 comes back as a topology that check and trace take, with AWS's verdicts."""

import pytest
from moto.server import ThreadedMotoServer
from vpc_fixtures import verdict

from vpclab.aws_import import SnapshotError, import_account, render
from vpclab.errors import InvalidInput
from vpclab.intent.loader import load_topology
from vpclab.ui.cli import main

REGION = "us-east-1"


@pytest.fixture
def api(monkeypatch):
    """moto's EC2 server, and a boto3 client of it (fake credentials, no retries)."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    yield url, boto3.client("ec2", endpoint_url=url, region_name=REGION)
    server.stop()


def tag(kind: str, name: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def build_account(ec2) -> dict:
    """Two VPCs joined by a TGW (its default table: both associated and propagated, and a
    blackhole), an internet gateway
    for one, an instance in each; returns their ids."""
    ids = {}
    for name, second in (("app", 1), ("data", 2)):
        vpc = ec2.create_vpc(CidrBlock=f"10.{second}.0.0/16", TagSpecifications=tag("vpc", name))["Vpc"][
            "VpcId"
        ]
        subnet = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=f"10.{second}.1.0/24",
            AvailabilityZone=f"{REGION}a",
            TagSpecifications=tag("subnet", f"{name}-a"),
        )["Subnet"]["SubnetId"]
        ids[name] = (vpc, subnet)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    app_sg = ec2.create_security_group(GroupName="app-sg", Description="app", VpcId=ids["app"][0])["GroupId"]
    data_sg = ec2.create_security_group(GroupName="data-sg", Description="data", VpcId=ids["data"][0])[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=data_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
        ],
    )
    for name, group, address in (("app1", app_sg, "10.1.1.10"), ("data1", data_sg, "10.2.1.20")):
        subnet = ids["app" if name == "app1" else "data"][1]
        ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            PrivateIpAddress=address,
            SecurityGroupIds=[group],
            TagSpecifications=tag("instance", name),
        )
    tgw = ec2.create_transit_gateway(Description="core", TagSpecifications=tag("transit-gateway", "core"))
    tgw_id = tgw["TransitGateway"]["TransitGatewayId"]
    table = tgw["TransitGateway"]["Options"]["AssociationDefaultRouteTableId"]  # attachments join it
    for name, (vpc, subnet) in ids.items():
        attachment = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw_id,
            VpcId=vpc,
            SubnetIds=[subnet],
            TagSpecifications=tag("transit-gateway-attachment", f"{name}-att"),
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        ec2.enable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=attachment
        )
        main_table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][
            0
        ]
        ec2.create_route(
            RouteTableId=main_table["RouteTableId"],
            DestinationCidrBlock="10.0.0.0/8",
            TransitGatewayId=tgw_id,
        )
    ec2.create_transit_gateway_route(
        DestinationCidrBlock="10.9.0.0/16", TransitGatewayRouteTableId=table, Blackhole=True
    )
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=ids["app"][0])
    return {"igw": igw, "tgw": tgw_id}


def test_an_account_built_in_moto_imports_and_traces_as_aws_decides(api):
    url, ec2 = api
    build_account(ec2)
    result = import_account(REGION, url)
    topology = load_topology("account.yaml", render(result, url))
    assert {"app1", "data1"} <= {i.name for i in topology.instances}
    assert topology.vpc("app").internet_gateway is not None
    assert verdict(topology, "app1", "data1", "tcp", 5432).accepted
    denied = verdict(topology, "app1", "data1", "tcp", 22)
    assert (denied.accepted, denied.reason) == (False, "sg-ingress")
    black = verdict(topology, "app1", "10.9.0.5", "tcp", 5432)
    assert (black.accepted, black.reason) == (False, "tgw-blackhole")
    assert result.counts["transit gateway"] == 1 and result.counts["TGW attachment"] == 2


def test_the_command_imports_from_the_endpoint_and_an_unreachable_one_is_an_error(api, tmp_path, capsys):
    url, ec2 = api
    build_account(ec2)
    out = tmp_path / "account.yaml"
    assert main(["import", "--region", REGION, "--endpoint", url, "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("imported: VPC ") and f"{out}: ok: topology 'account-us-east-1'" in said
    assert out.read_text().startswith(f"# Imported by `vpclab import` from the EC2 API at {url} (us-east-1)")
    assert (
        main(
            ["import", "--region", REGION, "--endpoint", "http://127.0.0.1:9", "-o", str(tmp_path / "x.yaml")]
        )
        == InvalidInput.exit_code
    )
    assert "http://127.0.0.1:9: Could not connect to the endpoint URL" in capsys.readouterr().err
    assert (
        main(["import", "-o", str(tmp_path / "y.yaml")]) == InvalidInput.exit_code
    )  # neither DIR nor --region
    with pytest.raises(SnapshotError):
        import_account(REGION, "http://127.0.0.1:9")


def test_two_regions_import_as_one_design_with_their_inter_region_peering(api, tmp_path, capsys):
    """--region twice: each Region's describe-* answers, one design; a peering requested from
    us-east-1 and accepted in eu-west-1 joins the two Regions' VPCs (inter-Region: 8500 bytes)."""
    import boto3

    url, ec2 = api
    build_account(ec2)
    eu = boto3.client("ec2", endpoint_url=url, region_name="eu-west-1")
    vpc = eu.create_vpc(CidrBlock="10.5.0.0/16", TagSpecifications=tag("vpc", "eu-data"))["Vpc"]["VpcId"]
    subnet = eu.create_subnet(VpcId=vpc, CidrBlock="10.5.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]
    group = eu.create_security_group(GroupName="eu-sg", Description="eu", VpcId=vpc)["GroupId"]
    eu.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
        ],
    )
    eu.run_instances(
        ImageId=eu.describe_images()["Images"][0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet["SubnetId"],
        PrivateIpAddress="10.5.1.30",
        SecurityGroupIds=[group],
        TagSpecifications=tag("instance", "eu1"),
    )
    app = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["app"]}])["Vpcs"][0]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=app, PeerVpcId=vpc, PeerRegion="eu-west-1")
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    eu.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    for client, owner, destination in ((ec2, app, "10.5.0.0/16"), (eu, vpc, "10.1.0.0/16")):
        table = client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [owner]}])["RouteTables"][
            0
        ]
        client.create_route(
            RouteTableId=table["RouteTableId"],
            DestinationCidrBlock=destination,
            VpcPeeringConnectionId=pcx_id,
        )
    out = tmp_path / "two.yaml"
    assert (
        main(["import", "--region", REGION, "--region", "eu-west-1", "--endpoint", url, "-o", str(out)]) == 0
    )
    assert f"{out}: ok: topology 'account-us-east-1-eu-west-1'" in capsys.readouterr().out
    topology = load_topology(str(out))
    assert [r.name for r in topology.regions] == ["us-east-1", "eu-west-1"]
    assert topology.vpc("eu-data").region == "eu-west-1" and topology.vpc("app").region == "us-east-1"
    peering = next(p for p in topology.peerings if {p.requester, p.accepter} == {"app", "eu-data"})
    assert peering.inter_region and peering.active
    assert verdict(topology, "app1", "eu1", "tcp", 443).accepted
    assert verdict(topology, "app1", "eu1", "tcp", 443, size=8501).reason == "packet-too-big"
    assert topology.instance("eu1").server in {s.name for s in topology.servers if s.region == "eu-west-1"}


def test_a_dual_stack_vpc_built_with_boto3_imports_into_the_documentation_space(api):
    """AmazonProvidedIpv6CidrBlock: moto hands out a /56 of its own; the import moves it (and
    the subnet's /64, the instance's address, the routes) into 2001:db8::/32, and trace -6
    follows it out through the egress-only internet gateway."""
    url, ec2 = api
    vpc = ec2.create_vpc(
        CidrBlock="10.7.0.0/16", AmazonProvidedIpv6CidrBlock=True, TagSpecifications=tag("vpc", "six")
    )["Vpc"]["VpcId"]
    block = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    base = block.split("::/")[0]
    subnet = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock="10.7.1.0/24",
        Ipv6CidrBlock=f"{base}::/64",
        AvailabilityZone=f"{REGION}a",
        TagSpecifications=tag("subnet", "six-a"),
    )["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=tag("instance", "six1")
    )["Instances"][0]
    interface = launched["NetworkInterfaces"][0]["NetworkInterfaceId"]  # (moto's RunInstances takes
    ec2.assign_ipv6_addresses(NetworkInterfaceId=interface, Ipv6Addresses=[f"{base}::10"])  # no IPv6)
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc)["EgressOnlyInternetGateway"]
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]
    ec2.create_route(
        RouteTableId=table["RouteTableId"],
        DestinationIpv6CidrBlock="::/0",
        EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGatewayId"],
    )
    result = import_account(REGION, url)
    topology = load_topology("account.yaml", render(result, url))
    six = topology.vpc("six")
    assert str(six.ipv6_cidr).startswith("2001:db8:") and six.egress_only_internet_gateway is not None
    (instance,) = [i for i in topology.instances if i.name == "six1"]
    assert instance.ipv6 == six.ipv6_cidr.network_address + 0x10  # the interface bits kept
    assert any(c.kind == "VPC IPv6 CIDR" and block in c.aws_id for c in result.changed)
