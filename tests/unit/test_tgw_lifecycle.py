"""Transit gateways, their VPC attachments and route tables created and deleted at run time
(issue 35): the runtime changes as the running design takes them, the shell's verbs, and the
EC2 API's calls (boto3 against a real moto server behind vpclab's front). AWS's defaults: a
new gateway's default route table takes every new attachment's association and propagation."""

from pathlib import Path

import pytest
from test_ec2_api import api as api  # the fixture the tests take
from test_ec2_api_resources import _refused
from test_shell import FakeEmulation, shell
from vpc_fixtures import verdict

from vpclab.intent.changes import Intent
from vpclab.intent.errors import DependencyViolation

ROOT = Path(__file__).resolve().parents[2]


def _hub() -> Intent:
    """flow-logs.yaml's prod and dev joined by a new TGW, dev admitting ICMP from prod."""
    intent = Intent.from_file(str(ROOT / "topologies" / "flow-logs.yaml"))
    intent.apply("create-transit-gateway", name="core", default_table="core-rt")
    intent.apply("create-tgw-attachment", tgw="core", name="prod-att", vpc="prod", subnets=["web"])
    intent.apply("create-tgw-attachment", tgw="core", name="dev-att", vpc="dev", subnets=["a"])
    for vpc, cidr in (("prod", "10.9.0.0/16"), ("dev", "10.0.0.0/16")):
        intent.apply(
            "add-route", vpc=vpc, table="main", destination=cidr, target="transit_gateway", name="core"
        )
    intent.apply(
        "add-sg-rule",
        security_group="dev/default",
        direction="ingress",
        rule={"protocol": "icmp", "cidr": "10.0.0.0/16"},
    )
    return intent


def test_a_new_gateways_default_table_takes_every_new_attachment_and_the_path_opens():
    intent = _hub()
    (tgw,) = intent.topology.transit_gateways
    (table,) = tgw.route_tables
    assert (sorted(table.associations), sorted(table.propagations)) == (["dev-att", "prod-att"],) * 2
    assert verdict(intent.topology, "web1", "dev1").accepted
    intent.apply("create-transit-gateway", name="edge", default_table="edge-rt")
    intent.apply("create-tgw-attachment", tgw="edge", name="edge-att", vpc="prod", subnets=["db"])
    assert intent.summary == (
        "attached VPC 'prod' to transit gateway 'edge' as 'edge-att' "
        "(association in 'edge-rt', propagation in 'edge-rt')"
    )


def test_deleting_an_attachment_blackholes_what_went_through_it_and_a_gateway_goes_last():
    intent = _hub()
    intent.apply("tgw-route", tgw="core", table="core-rt", cidr="10.9.1.0/24", attachment="dev-att")
    with pytest.raises(DependencyViolation, match="still has attachments prod-att, dev-att"):
        intent.apply("delete-transit-gateway", name="core")
    with pytest.raises(DependencyViolation, match="is still associated with prod-att, dev-att"):
        intent.apply("delete-tgw-route-table", tgw="core", name="core-rt")
    intent.apply("delete-tgw-attachment", tgw="core", name="dev-att")
    assert intent.summary.endswith("2 route(s) through it are blackholes now")  # the static one, dev's own
    assert verdict(intent.topology, "web1", "dev1").reason == "tgw-blackhole"
    intent.apply("delete-tgw-attachment", tgw="core", name="prod-att")
    with pytest.raises(DependencyViolation, match="is transit gateway 'core''s default route table"):
        intent.apply("delete-tgw-route-table", tgw="core", name="core-rt")
    intent.apply("delete-transit-gateway", name="core")
    assert intent.topology.transit_gateways == ()
    assert verdict(intent.topology, "web1", "dev1").reason == "blackhole"


def test_a_gateway_without_defaults_associates_nothing_by_itself():
    intent = Intent.from_file(str(ROOT / "topologies" / "flow-logs.yaml"))
    intent.apply("create-transit-gateway", name="core", default_table="t", associate=False, propagate=False)
    intent.apply("create-tgw-attachment", tgw="core", name="prod-att", vpc="prod", subnets=["web"])
    (table,) = intent.topology.transit_gateways[0].route_tables
    assert (table.associations, table.propagations) == ((), ())
    intent.apply("create-tgw-route-table", tgw="core", name="spare")
    intent.apply("delete-tgw-route-table", tgw="core", name="spare")
    assert [t.name for t in intent.topology.transit_gateways[0].route_tables] == ["t"]


def test_the_shell_makes_a_hub_and_takes_it_apart():
    emulation = FakeEmulation("flow-logs.yaml")
    text = shell(
        emulation,
        "tgw-create core",
        "tgw-attach core prod-att prod web",
        "tgw-attach core dev-att dev a",
        "tgw-attach core again dev a",
        "tgw-table-create core spare",
        "tgw-table-delete core spare",
        "tgw-delete core",
        "tgw-detach core dev-att",
        "tgw-detach core prod-att",
        "tgw-delete core",
    )
    assert [c[0] for c in emulation.api.changes] == [
        "create-transit-gateway",
        "create-tgw-attachment",
        "create-tgw-attachment",
        "create-tgw-route-table",
        "delete-tgw-route-table",
        "delete-tgw-attachment",
        "delete-tgw-attachment",
        "delete-transit-gateway",
    ]
    assert "created transit gateway 'core' (default route table 'core-rt')" in text
    assert "*** refused: VPC 'dev' is attached to transit gateway 'core' already" in text
    assert "*** refused: transit gateway 'core' still has attachments prod-att, dev-att" in text


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_the_api_builds_a_hub_as_aws_does_and_moto_describes_what_the_design_holds(api):
    running, ec2, served = api
    vpcs = {v["CidrBlock"]: v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    subnets = {s["CidrBlock"]: s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    made = ec2.create_transit_gateway(Description="core")["TransitGateway"]
    tgw, table = made["TransitGatewayId"], made["Options"]["AssociationDefaultRouteTableId"]
    attachments = [
        ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpcs[vpc], SubnetIds=[subnets[s]]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        for vpc, s in (("10.0.0.0/16", "10.0.1.0/24"), ("10.9.0.0/16", "10.9.1.0/24"))
    ]
    (gateway,) = running.intent.topology.transit_gateways
    assert gateway.name == tgw and [t.name for t in gateway.route_tables] == [table]
    assert sorted(gateway.route_tables[0].propagations) == sorted(attachments)  # named by their ids
    propagated = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=table)
    assert sorted(
        p["TransitGatewayAttachmentId"] for p in propagated["TransitGatewayRouteTablePropagations"]
    ) == sorted(attachments)
    for cidr, other in (("10.0.0.0/16", "10.9.0.0/16"), ("10.9.0.0/16", "10.0.0.0/16")):
        main = ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpcs[cidr]]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"][0]["RouteTableId"]
        ec2.create_route(RouteTableId=main, DestinationCidrBlock=other, TransitGatewayId=tgw)
    assert (
        verdict(running.intent.topology, "web1", "dev1").reason == "sg-ingress"
    )  # routed: dev's group decides
    assert _refused(ec2.delete_transit_gateway, TransitGatewayId=tgw) == "DependencyViolation"
    assert (
        _refused(
            ec2.create_transit_gateway_vpc_attachment,
            TransitGatewayId=tgw,
            VpcId=vpcs["10.0.0.0/16"],
            SubnetIds=[subnets["10.9.1.0/24"]],
        )
        == "InvalidParameterValue"
    )  # another VPC's subnet
    ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachments[1])
    assert verdict(running.intent.topology, "web1", "dev1").reason == "tgw-no-route"
    spare = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw)["TransitGatewayRouteTable"]
    ec2.delete_transit_gateway_route_table(TransitGatewayRouteTableId=spare["TransitGatewayRouteTableId"])
    bare = ec2.create_transit_gateway(
        Options={"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"}
    )["TransitGateway"]
    assert running.intent.topology.transit_gateway(bare["TransitGatewayId"]).route_tables == ()
    tables = ec2.describe_transit_gateway_route_tables(
        Filters=[{"Name": "transit-gateway-id", "Values": [bare["TransitGatewayId"]]}]
    )["TransitGatewayRouteTables"]
    assert [t["State"] for t in tables] in ([], ["deleted"])  # AWS makes none; moto's goes


def test_a_default_route_table_must_be_one_of_the_gateways():
    import yaml

    from vpclab.intent.errors import TopologyError
    from vpclab.intent.loader import topology_from_data

    data = yaml.safe_load((ROOT / "topologies" / "tgw-blackhole.yaml").read_text())
    data["transit_gateways"][0]["association_default_route_table"] = "nope"
    with pytest.raises(TopologyError) as refused:
        topology_from_data("tgw-blackhole.yaml", data)
    assert (
        "transit_gateways[0].association_default_route_table: no route table 'nope' in transit gateway"
        in (refused.value.render())
    )
