"""The EC2 API's calls that create, delete and attach objects (issue 35): boto3 against a real
moto server behind vpclab's front, each call a runtime change of the running design (or an
AWS-style refusal that changes nothing)."""

import socket

import pytest
import yaml
from botocore.exceptions import ClientError
from test_ec2_api import _group
from test_ec2_api import api as api  # the fixture the tests take

from vpclab.api.backend import ec2_client, serve
from vpclab.intent.changes import Intent
from vpclab.intent.errors import CannotDelete, DependencyViolation, GatewayNotAttached
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
    topology = load_topology(f"topologies/{name}")
    with open(topology.source, encoding="utf-8") as handle:
        return topology.source, yaml.safe_load(handle)


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_subnets_further_cidrs_and_an_internet_gateway_through_the_api(api):
    running, ec2, _ = api
    prod, dev = _vpc(ec2, "10.0.0.0/16"), _vpc(ec2, "10.9.0.0/16")
    named = [{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "extra"}]}]
    extra = ec2.create_subnet(
        VpcId=prod, CidrBlock="10.0.3.0/24", AvailabilityZone="us-east-1a", TagSpecifications=named
    )["Subnet"]["SubnetId"]
    assert running.applied[-1] == (
        "create-subnet",
        {"vpc": "prod", "name": "extra", "cidr": "10.0.3.0/24", "az": "us-east-1a"},
    )
    assert running.intent.topology.vpc("prod").subnet("extra").az == "us-east-1a"
    assert _refused(ec2.delete_subnet, SubnetId=_subnet(ec2, "10.0.1.0/24")) == "DependencyViolation"
    ec2.delete_subnet(SubnetId=extra)
    assert "extra" not in [s.name for s in running.intent.topology.vpc("prod").subnets]
    association = ec2.associate_vpc_cidr_block(VpcId=prod, CidrBlock="10.1.0.0/16")["CidrBlockAssociation"][
        "AssociationId"
    ]
    assert [str(c) for c in running.intent.topology.vpc("prod").cidrs] == ["10.0.0.0/16", "10.1.0.0/16"]
    inner = ec2.create_subnet(VpcId=prod, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    assert running.applied[-1][1]["name"] == inner  # no Name tag: the id moto answered
    assert _refused(ec2.disassociate_vpc_cidr_block, AssociationId=association) == "DependencyViolation"
    ec2.delete_subnet(SubnetId=inner)
    ec2.disassociate_vpc_cidr_block(AssociationId=association)
    assert [str(c) for c in running.intent.topology.vpc("prod").cidrs] == ["10.0.0.0/16"]
    primary = next(
        a["AssociationId"]
        for v in ec2.describe_vpcs(VpcIds=[prod])["Vpcs"]
        for a in v["CidrBlockAssociationSet"]
        if a["CidrBlock"] == "10.0.0.0/16"
    )
    assert _refused(ec2.disassociate_vpc_cidr_block, AssociationId=primary) == "CannotDelete"
    # an internet gateway: nothing until attached; a route to it; detached, the route is a blackhole
    tagged = [{"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "igw-dev"}]}]
    before = len(running.applied)
    gateway = ec2.create_internet_gateway(TagSpecifications=tagged)["InternetGateway"]["InternetGatewayId"]
    assert len(running.applied) == before
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=dev)
    assert running.intent.topology.vpc("dev").internet_gateway.name == "igw-dev"
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [dev]}])["RouteTables"][0]
    ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    assert _refused(ec2.delete_internet_gateway, InternetGatewayId=gateway) == "DependencyViolation"
    ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=dev)
    dev_vpc = running.intent.topology.vpc("dev")
    assert dev_vpc.internet_gateway is None
    assert [r.describe() for r in dev_vpc.main_route_table.routes if not r.local] == [
        "0.0.0.0/0 -> blackhole"
    ]
    ec2.delete_internet_gateway(InternetGatewayId=gateway)


def test_a_gateway_with_mapped_public_addresses_does_not_detach():
    intent = Intent(*_design("dual-stack.yaml"))
    with pytest.raises(DependencyViolation, match=r"mapped public addresses \(web1\)"):
        intent.apply("detach-internet-gateway", vpc="prod", name="igw-prod")


@pytest.mark.parametrize("api", ["two-tier.yaml"], indirect=True)
def test_an_elastic_ip_comes_from_the_emulations_block_and_moves_with_its_association(api):
    running, ec2, _ = api
    taken = {str(i.public_ip) for i in running.intent.topology.instances if i.public_ip}
    taken |= {str(n.public_ip) for n in running.intent.topology.nat_gateways}
    web1 = _instance(ec2, "web1")["InstanceId"]
    held = {a["PublicIp"]: a.get("InstanceId") for a in ec2.describe_addresses()["Addresses"]}
    assert held[str(running.intent.topology.instance("web1").public_ip)] == web1  # the design's, as EIPs
    assert taken <= set(held)
    allocated = ec2.allocate_address(Domain="vpc")
    assert allocated["PublicIp"].startswith("203.0.113.") and allocated["PublicIp"] not in taken
    others = lambda t: (t.instance("web2").public_ip, [n.public_ip for n in t.nat_gateways])
    before = others(running.intent.topology)
    association = ec2.associate_address(AllocationId=allocated["AllocationId"], InstanceId=web1)[
        "AssociationId"
    ]
    assert str(running.intent.topology.instance("web1").public_ip) == allocated["PublicIp"]
    assert others(running.intent.topology) == before  # the pool does not hand web1's old one to web2
    assert _refused(ec2.release_address, AllocationId=allocated["AllocationId"]) == "InvalidIPAddress.InUse"
    app1 = _instance(ec2, "app1")["InstanceId"]
    assert _refused(ec2.associate_address, AllocationId=allocated["AllocationId"], InstanceId=app1) == (
        "Resource.AlreadyAssociated"
    )
    ec2.disassociate_address(AssociationId=association)
    assert running.intent.topology.instance("web1").public_ip is None
    ec2.release_address(AllocationId=allocated["AllocationId"])
    assert _refused(ec2.allocate_address, Domain="vpc", Address="54.1.2.3") == "InvalidParameterValue"


def test_an_elastic_ip_needs_an_internet_gateway():
    intent = Intent(*_design("flow-logs.yaml"))
    with pytest.raises(GatewayNotAttached):
        intent.apply("set-public-ip", instance="web1", address="203.0.113.9")


@pytest.mark.parametrize("api", ["two-tier.yaml"], indirect=True)
def test_a_designs_public_ip_moves_to_another_instance_only_when_reassociation_is_allowed(api):
    running, ec2, _ = api
    address = str(running.intent.topology.instance("web2").public_ip)
    allocation = next(
        a["AllocationId"] for a in ec2.describe_addresses()["Addresses"] if a["PublicIp"] == address
    )
    app1 = _instance(ec2, "app1")["InstanceId"]
    assert (
        _refused(ec2.associate_address, AllocationId=allocation, InstanceId=app1)
        == "Resource.AlreadyAssociated"
    )
    ec2.associate_address(AllocationId=allocation, InstanceId=app1, AllowReassociation=True)
    topology = running.intent.topology
    assert (topology.instance("web2").public_ip, str(topology.instance("app1").public_ip)) == (None, address)
    assert str(topology.instance("web1").public_ip) != address  # web1's own address stays its own


IPV6_RULES = """\
name: v6rules
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets: [{name: a, cidr: 10.0.1.0/24, nacl: n}]
    nacls:
      - name: n
        ingress:
          - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
          - {rule: 101, protocol: icmpv6, cidr: "::/0", action: allow}
    security_groups:
      - name: web-sg
        egress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, cidr: "::/0"}]
    instances: [{name: web1, subnet: a, security_groups: [web-sg]}]
"""


def test_ipv6_rules_without_ipv6_addresses_are_served_and_taken(tmp_path):
    """Terraform's usual ::/0 egress: with no IPv6 address in the design the rules decide
    nothing, so the design runs, the API holds them, and an IPv6 rule is a change like any."""
    path = tmp_path / "v6rules.yaml"
    path.write_text(IPV6_RULES)
    topology = load_topology(str(path))
    assert topology.ipv6_origins and not topology.ipv6_holders
    intent = Intent(str(path), yaml.safe_load(IPV6_RULES))
    applied = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = serve(
        topology, port, lambda: intent.data, lambda o, a: applied.append(intent.apply(o, **a)), print
    )
    try:
        ec2 = ec2_client(f"http://127.0.0.1:{port}", "us-east-1")
        group = _group(ec2, "web-sg")
        assert [r["CidrIpv6"] for p in group["IpPermissionsEgress"] for r in p.get("Ipv6Ranges", [])] == [
            "::/0"
        ]
        entries = [
            e
            for n in ec2.describe_network_acls()["NetworkAcls"]
            for e in n["Entries"]
            if "Ipv6CidrBlock" in e
        ]
        assert [(e["RuleNumber"], e["Protocol"]) for e in entries if e["RuleNumber"] < 32767] == [(101, "58")]
        ping6 = [
            {"IpProtocol": "58", "FromPort": 128, "ToPort": -1, "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]}
        ]
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=ping6)
        rules = intent.topology.security_group(intent.topology.instance("web1").security_groups[0]).ingress
        assert [r.describe() for r in rules] == ["icmpv6 type 128 2001:db8::/32"]
        acl = next(
            n["NetworkAclId"] for n in ec2.describe_network_acls()["NetworkAcls"] if not n["IsDefault"]
        )
        ec2.create_network_acl_entry(
            NetworkAclId=acl, RuleNumber=90, Protocol="6", RuleAction="deny", Egress=False,
            Ipv6CidrBlock="2001:db8:bad::/48", PortRange={"From": 22, "To": 22},
        )  # fmt: skip
        ingress = intent.topology.vpc("prod").nacl("n").ingress
        assert ingress[0].describe() == "rule 90 deny tcp/22 2001:db8:bad::/48"
    finally:
        served.stop()


def test_a_group_another_vpcs_rule_names_is_in_use():
    intent = Intent(*_design("peering.yaml"))
    intent.apply("create-security-group", vpc="dev", name="ci-sg")
    intent.apply(
        "add-sg-rule",
        security_group="web-sg",
        direction="ingress",
        rule={"protocol": "tcp", "ports": 22, "security_group": "ci-sg"},
    )
    with pytest.raises(DependencyViolation, match="a rule of group web-sg"):
        intent.apply("delete-security-group", vpc="dev", name="ci-sg")
