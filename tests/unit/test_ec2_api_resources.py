"""The EC2 API's calls that create, delete and attach objects (issue 35): boto3 against a real
moto server behind vpclab's front, each call a runtime change of the running design (or an
AWS-style refusal that changes nothing)."""

import pytest
from botocore.exceptions import ClientError
from test_ec2_api import _group
from test_ec2_api import api as api  # the fixture the tests take

from vpclab.intent.changes import Intent
from vpclab.intent.errors import CannotDelete, DependencyViolation
from vpclab.intent.loader import load_topology


def _vpc(ec2, cidr: str) -> str:
    return next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == cidr)


def _subnet(ec2, cidr: str) -> str:
    return next(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == cidr)


def _instance(ec2, name: str) -> dict:
    return next(
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if {"Key": "Name", "Value": name} in i.get("Tags", [])
    )


def _refused(call, **arguments) -> str:
    with pytest.raises(ClientError) as refused:
        call(**arguments)
    return refused.value.response["Error"]["Code"]


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_a_new_group_given_to_an_instance_and_deleted_once_nothing_uses_it(api):
    running, ec2, _ = api
    prod = _vpc(ec2, "10.0.0.0/16")
    made = ec2.create_security_group(GroupName="ping-sg", Description="pings", VpcId=prod)["GroupId"]
    assert running.applied[-1] == ("create-security-group", {"vpc": "prod", "name": "ping-sg"})
    ec2.authorize_security_group_ingress(
        GroupId=made,
        IpPermissions=[
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
        ],
    )
    db1 = _instance(ec2, "db1")["InstanceId"]
    ec2.modify_instance_attribute(InstanceId=db1, Groups=[made, _group(ec2, "db-sg")["GroupId"]])
    assert running.applied[-1] == ("set-instance-groups", {"instance": "db1", "groups": ["ping-sg", "db-sg"]})
    topology = running.intent.topology
    assert [ref.name for ref in topology.instance("db1").security_groups] == ["ping-sg", "db-sg"]
    before = list(running.applied)
    assert _refused(ec2.delete_security_group, GroupId=made) == "DependencyViolation"
    assert running.applied == before and any(
        g["GroupId"] == made for g in ec2.describe_security_groups()["SecurityGroups"]
    )
    dev = _vpc(ec2, "10.9.0.0/16")
    other = ec2.create_security_group(GroupName="dev-sg", Description="x", VpcId=dev)["GroupId"]
    assert _refused(ec2.modify_instance_attribute, InstanceId=db1, Groups=[other]) == "InvalidParameterValue"
    ec2.modify_instance_attribute(InstanceId=db1, Groups=[_group(ec2, "db-sg")["GroupId"]])
    ec2.delete_security_group(GroupId=made)
    assert running.applied[-1] == ("delete-security-group", {"vpc": "prod", "name": "ping-sg"})
    default = next(
        g["GroupId"]
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g["GroupName"] == "default" and g["VpcId"] == prod
    )
    assert _refused(ec2.delete_security_group, GroupId=default) == "CannotDelete"


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_route_tables_and_nacls_created_associated_and_deleted(api):
    running, ec2, _ = api
    prod, web = _vpc(ec2, "10.0.0.0/16"), _subnet(ec2, "10.0.1.0/24")
    table = ec2.create_route_table(
        VpcId=prod,
        TagSpecifications=[{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "web-rt"}]}],
    )["RouteTable"]["RouteTableId"]
    assert running.applied[-1] == ("create-route-table", {"vpc": "prod", "name": "web-rt"})
    association = ec2.associate_route_table(RouteTableId=table, SubnetId=web)["AssociationId"]
    assert running.intent.topology.vpc("prod").subnet("web").route_table == "web-rt"
    assert _refused(ec2.delete_route_table, RouteTableId=table) == "DependencyViolation"
    ec2.disassociate_route_table(AssociationId=association)
    assert running.applied[-1] == ("associate-route-table", {"vpc": "prod", "subnet": "web", "name": None})
    assert running.intent.topology.vpc("prod").subnet("web").route_table == "main"
    ec2.delete_route_table(RouteTableId=table)
    assert "web-rt" not in [t.name for t in running.intent.topology.vpc("prod").route_tables]
    # a NACL without a Name tag is named by the id moto answers; a new NACL denies everything
    acl = ec2.create_network_acl(VpcId=prod)["NetworkAcl"]["NetworkAclId"]
    assert running.applied[-1] == ("create-nacl", {"vpc": "prod", "name": acl})
    web_association = next(
        a["NetworkAclAssociationId"]
        for n in ec2.describe_network_acls()["NetworkAcls"]
        for a in n["Associations"]
        if a["SubnetId"] == web
    )
    new = ec2.replace_network_acl_association(AssociationId=web_association, NetworkAclId=acl)[
        "NewAssociationId"
    ]
    subnet = running.intent.topology.vpc("prod").subnet("web")
    assert subnet.nacl == acl and [
        r.describe() for r in running.intent.topology.vpc("prod").nacl(acl).ingress
    ] == ["rule * deny all 0.0.0.0/0"]
    default = next(
        n["NetworkAclId"]
        for n in ec2.describe_network_acls()["NetworkAcls"]
        if n["IsDefault"] and n["VpcId"] == prod
    )
    ec2.replace_network_acl_association(AssociationId=new, NetworkAclId=default)  # the new association's id
    assert running.intent.topology.vpc("prod").subnet("web").nacl == "default"
    ec2.delete_network_acl(NetworkAclId=acl)
    assert running.applied[-1] == ("delete-nacl", {"vpc": "prod", "name": acl})


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_source_dest_check_through_the_instance_or_its_interface(api):
    running, ec2, _ = api
    web1 = _instance(ec2, "web1")
    ec2.modify_instance_attribute(InstanceId=web1["InstanceId"], SourceDestCheck={"Value": False})
    assert running.intent.topology.instance("web1").source_dest_check is False
    interface = web1["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=interface, SourceDestCheck={"Value": True})
    assert running.applied[-1] == ("set-source-dest-check", {"instance": "web1", "enabled": True})
    assert running.intent.topology.instance("web1").source_dest_check is True


def test_the_resource_changes_refuse_what_aws_refuses():
    intent = Intent(*_design("flow-logs.yaml"))
    with pytest.raises(CannotDelete):
        intent.apply("delete-nacl", vpc="prod", name="default")
    with pytest.raises(DependencyViolation, match="still in use by subnet web"):
        intent.apply("delete-nacl", vpc="prod", name="web-nacl")
    with pytest.raises(DependencyViolation, match="instance db1"):
        intent.apply("delete-security-group", vpc="prod", name="db-sg")
    intent.apply("create-security-group", vpc="prod", name="ref-sg")
    intent.apply(
        "add-sg-rule",
        security_group="ref-sg",
        direction="ingress",
        rule={"protocol": "all", "security_group": "db-sg"},
    )
    intent.apply("set-instance-groups", instance="db1", groups=["ref-sg"])
    with pytest.raises(DependencyViolation, match="a rule of group ref-sg"):
        intent.apply("delete-security-group", vpc="prod", name="db-sg")
    with pytest.raises(Exception, match="already has a security group named 'ref-sg'"):
        intent.apply("create-security-group", vpc="prod", name="ref-sg")


def _design(name: str) -> tuple[str, dict]:
    import yaml

    topology = load_topology(f"topologies/{name}")
    with open(topology.source, encoding="utf-8") as handle:
        return topology.source, yaml.safe_load(handle)
