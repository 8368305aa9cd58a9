"""The EC2 API of a design (issue 35): moto's EC2 backend seeded with the design answers the
describe calls; the calls the emulation follows become the shell's runtime changes, tried on
the design before anything changes; the rest get AWS-style errors and change nothing. Real
boto3 against a real moto server (no emulation: the changes go to an Intent here)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from vpclab.api import calls
from vpclab.api import params as query
from vpclab.api.backend import ec2_client, serve
from vpclab.intent.changes import Intent
from vpclab.intent.loader import load_topology

ROOT = Path(__file__).resolve().parents[2]


class Running:
    """A design that takes changes as the emulation does (Intent.apply), and remembers them."""

    def __init__(self, name: str):
        path = ROOT / name if "/" in name else ROOT / "topologies" / name  # else a bundled design
        self.topology = load_topology(str(path))
        self.intent = Intent(self.topology.source, yaml.safe_load(path.read_text()))
        self.applied: list = []

    def apply(self, operation: str, arguments: dict) -> None:
        self.intent.apply(operation, **arguments)
        self.applied.append((operation, arguments))


@pytest.fixture
def api(request):
    running = Running(request.param)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = serve(running.topology, port, lambda: running.intent.data, running.apply, lambda line: None)
    yield running, ec2_client(f"http://127.0.0.1:{port}", "us-east-1"), served
    served.stop()


def _group(ec2, name: str) -> dict:
    return next(g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == name)


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_describe_answers_what_the_design_holds(api):
    running, ec2, served = api
    assert sorted(v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]) == ["10.0.0.0/16", "10.9.0.0/16"]
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    named = {
        next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i["PrivateIpAddress"] for i in instances
    }
    assert named == {str(i.name): str(i.ip) for i in running.topology.instances}
    db = _group(ec2, "db-sg")
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], p["IpRanges"]) for p in db["IpPermissions"]] == [
        ("tcp", 3306, 3306, [{"CidrIp": "10.0.1.0/24"}])
    ]
    denied = [
        e
        for acl in ec2.describe_network_acls()["NetworkAcls"]
        for e in acl["Entries"]
        if e["RuleAction"] == "deny" and e["RuleNumber"] < 32767
    ]
    assert [(e["RuleNumber"], e["CidrBlock"], e["PortRange"]) for e in denied] == [
        (10, "10.0.2.0/24", {"From": 5432, "To": 5432})
    ]
    assert served.not_served == []


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_a_rule_authorized_or_revoked_is_a_runtime_change_and_a_missing_one_changes_nothing(api):
    running, ec2, _ = api
    db = _group(ec2, "db-sg")["GroupId"]
    ping = [{"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}]
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=ping)
    rule = {"protocol": "icmp", "icmp_type": 8, "cidr": "10.0.1.0/24"}
    assert running.applied == [
        ("add-sg-rule", {"security_group": "db-sg", "direction": "ingress", "rule": rule})
    ]
    assert len(_group(ec2, "db-sg")["IpPermissions"]) == 2
    # the design's own rule, as the file writes it, revoked through the API's form of it
    mysql = [{"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}]
    ec2.revoke_security_group_ingress(GroupId=db, IpPermissions=mysql)
    written = {"protocol": "tcp", "ports": 3306, "cidr": "10.0.1.0/24"}
    assert running.applied[-1] == (
        "remove-sg-rule",
        {"security_group": "db-sg", "direction": "ingress", "rule": written},
    )
    before = list(running.applied)
    with pytest.raises(ClientError) as refused:
        ec2.revoke_security_group_ingress(GroupId=db, IpPermissions=mysql)
    assert refused.value.response["Error"]["Code"] == "InvalidPermission.NotFound"
    assert running.applied == before and len(_group(ec2, "db-sg")["IpPermissions"]) == 1
    ec2.authorize_security_group_egress(  # the older flat form the CLI's --protocol/--port/--cidr sends
        GroupId=db, IpProtocol="udp", FromPort=53, ToPort=53, CidrIp="10.0.0.2/32"
    )
    assert running.applied[-1][1]["rule"] == {"protocol": "udp", "ports": "53", "cidr": "10.0.0.2/32"}


@pytest.mark.parametrize("api", ["peering.yaml"], indirect=True)
def test_routes_and_nacl_entries_follow_and_what_the_design_refuses_changes_nothing(api):
    running, ec2, _ = api
    tables = ec2.describe_route_tables()["RouteTables"]
    pcx = ec2.describe_vpc_peering_connections()["VpcPeeringConnections"][0]["VpcPeeringConnectionId"]
    table = tables[0]["RouteTableId"]
    vpc, name = served_key(api, table)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="172.31.0.0/16", VpcPeeringConnectionId=pcx)
    peering = running.topology.peerings[0].name
    added = {"vpc": vpc, "table": name, "destination": "172.31.0.0/16", "target": "peering", "name": peering}
    assert running.applied[-1] == ("add-route", added)
    before = list(running.applied)
    routes = len(ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"])
    with pytest.raises(ClientError) as refused:  # the design has a route there already
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="172.31.0.0/16", VpcPeeringConnectionId=pcx)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "already has a route to 172.31.0.0/16" in refused.value.response["Error"]["Message"]
    assert running.applied == before
    assert len(ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]) == routes
    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="172.31.0.0/16")
    assert running.applied[-1] == (
        "remove-route",
        {"vpc": vpc, "table": name, "destination": "172.31.0.0/16"},
    )
    with pytest.raises(ClientError) as unknown:
        ec2.create_route(RouteTableId="rtb-0000000000", DestinationCidrBlock="1.0.0.0/8", GatewayId="igw-1")
    assert unknown.value.response["Error"]["Code"] == "InvalidRouteTableID.NotFound"
    acl = ec2.describe_network_acls()["NetworkAcls"][0]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=50,
        Protocol="6",
        RuleAction="deny",
        Egress=False,
        CidrBlock="0.0.0.0/0",
        PortRange={"From": 22, "To": 22},
    )
    operation, arguments = running.applied[-1]
    assert operation == "add-nacl-rule" and arguments["rule"] == {
        "rule": 50,
        "protocol": "tcp",
        "ports": "22",
        "cidr": "0.0.0.0/0",
        "action": "deny",
    }


def served_key(api, aws_id: str):
    _, _, served = api
    return served.ids.by_id[aws_id][1]


@pytest.mark.parametrize("api", ["peering.yaml"], indirect=True)
def test_a_call_the_emulation_cannot_follow_is_refused_aws_style_and_changes_nothing(api):
    running, ec2, _ = api
    gateways = len(ec2.describe_vpn_gateways()["VpnGateways"])
    with pytest.raises(ClientError) as refused:
        ec2.create_vpn_gateway(Type="ipsec.1")
    error = refused.value.response["Error"]
    assert error["Code"] == "UnsupportedOperation" and "CreateVpnGateway" in error["Message"]
    assert len(ec2.describe_vpn_gateways()["VpnGateways"]) == gateways and running.applied == []
    ec2.create_tags(Resources=[ec2.describe_vpcs()["Vpcs"][0]["VpcId"]], Tags=[{"Key": "team", "Value": "x"}])
    assert running.applied == []  # a tag changes nothing emulated: moto keeps it


def test_the_query_apis_flat_parameters_become_vpclab_rules():
    ids = query.Ids()
    ids.add("security_group", ("prod", "web-sg"), "sg-1")
    ids.add("security_group", ("prod", "lb-sg"), "sg-2")
    params = {
        "GroupId": "sg-1",
        "IpPermissions.1.IpProtocol": "tcp",
        "IpPermissions.1.FromPort": "443",
        "IpPermissions.1.ToPort": "443",
        "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0",
        "IpPermissions.1.IpRanges.2.CidrIp": "10.1.2.3/16",
        "IpPermissions.1.Groups.1.GroupId": "sg-2",
        "IpPermissions.2.IpProtocol": "-1",
        "IpPermissions.2.IpRanges.1.CidrIp": "10.0.0.0/8",
    }
    assert calls.sg_rules(params, ids) == [
        {"protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0"},
        {"protocol": "tcp", "ports": "443", "cidr": "10.1.0.0/16"},
        {"protocol": "tcp", "ports": "443", "security_group": "lb-sg"},
        {"protocol": "all", "cidr": "10.0.0.0/8"},
    ]
    assert calls.same_rule(
        {"protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
        {"protocol": "6", "ports": "443-443", "cidr": "0.0.0.0/0"},
    )
    assert not calls.same_rule(
        {"protocol": "tcp", "cidr": "0.0.0.0/0"}, {"protocol": "udp", "cidr": "0.0.0.0/0"}
    )
    ipv6 = calls.sg_rules(  # IPv6 ranges are rules too (Terraform's usual ::/0 egress)
        {
            "GroupId": "sg-1",
            "IpPermissions.1.IpProtocol": "58",
            "IpPermissions.1.FromPort": "128",
            "IpPermissions.1.ToPort": "-1",
            "IpPermissions.1.Ipv6Ranges.1.CidrIpv6": "::/0",
        },
        ids,
    )
    assert ipv6 == [{"protocol": "icmpv6", "icmp_type": 128, "cidr": "::/0"}]


def test_a_vpcs_default_group_is_named_as_the_shell_names_it_and_its_implicit_rules_can_be_revoked():
    ids = query.Ids()
    ids.add("security_group", ("prod", "default"), "sg-p")
    ids.add("security_group", ("dev", "default"), "sg-d")
    running = {"vpcs": [{"name": "prod"}, {"name": "dev"}]}  # neither writes its default group
    dev_default = {
        "GroupId": "sg-p",
        "IpPermissions.1.IpProtocol": "-1",
        "IpPermissions.1.Groups.1.GroupId": "sg-d",
    }
    ((operation, arguments),) = calls.changes("AuthorizeSecurityGroupIngress", dev_default, ids, running)
    assert (operation, arguments["security_group"]) == ("add-sg-rule", "prod/default")
    assert arguments["rule"] == {"protocol": "all", "security_group": "dev/default"}
    itself = {
        "GroupId": "sg-p",
        "IpPermissions.1.IpProtocol": "-1",
        "IpPermissions.1.Groups.1.GroupId": "sg-p",
    }
    ((operation, arguments),) = calls.changes("RevokeSecurityGroupIngress", itself, ids, running)
    assert operation == "remove-sg-rule" and arguments["rule"] == {
        "protocol": "all",
        "security_group": "default",
    }
    with pytest.raises(query.ApiRefusal) as unknown:
        calls.changes("RevokeSecurityGroupIngress", {**itself, "GroupId": "sg-nope"}, ids, running)
    assert unknown.value.code == "InvalidGroup.NotFound"


def _named(items: list, name: str, key: str) -> str:
    return next(i[key] for i in items if {"Key": "Name", "Value": name} in i.get("Tags", []))


@pytest.mark.parametrize("api", ["flow-logs.yaml"], indirect=True)
def test_the_peering_seeds_steps_through_the_api_request_accept_route_rule(api):
    """The seed's steps, each an API call: request a peering (pending until accepted), accept
    it, route to it, admit the other VPC; then delete it (its routes become blackholes)."""
    running, ec2, _ = api
    vpcs = {v["CidrBlock"]: v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    made = ec2.create_vpc_peering_connection(
        VpcId=vpcs["10.0.0.0/16"],
        PeerVpcId=vpcs["10.9.0.0/16"],
        TagSpecifications=[
            {"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "Name", "Value": "prod-dev"}]}
        ],
    )["VpcPeeringConnection"]
    pcx = made["VpcPeeringConnectionId"]
    assert running.applied[-1] == (
        "request-peering",
        {"peering": "prod-dev", "requester": "prod", "accepter": "dev"},
    )
    assert running.intent.topology.peering("prod-dev").status == "pending-acceptance"
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert running.intent.topology.peering("prod-dev").status == "active"
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpcs["10.0.0.0/16"]]}])[
        "RouteTables"
    ][0]
    ec2.create_route(
        RouteTableId=table["RouteTableId"], DestinationCidrBlock="10.9.0.0/16", VpcPeeringConnectionId=pcx
    )
    assert running.applied[-1][1]["name"] == "prod-dev"
    db = _group(ec2, "db-sg")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}
        ],
    )
    assert [op for op, _ in running.applied] == [
        "request-peering",
        "accept-peering",
        "add-route",
        "add-sg-rule",
    ]
    with pytest.raises(ClientError) as again:  # only a pending peering can be accepted
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert again.value.response["Error"]["Code"] == "InvalidParameterValue"
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert running.intent.topology.peering("prod-dev").status == "deleted"
    unnamed = ec2.create_vpc_peering_connection(VpcId=vpcs["10.9.0.0/16"], PeerVpcId=vpcs["10.0.0.0/16"])
    new_id = unnamed["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    assert running.applied[-1][1]["peering"] == new_id  # no Name tag: the design names it by its id


@pytest.mark.parametrize("api", ["tgw-blackhole.yaml"], indirect=True)
def test_a_tgw_route_tables_routes_propagations_and_associations_follow(api):
    running, ec2, served = api
    tables = ec2.describe_transit_gateway_route_tables()["TransitGatewayRouteTables"]
    spokes = _named(tables, "spokes", "TransitGatewayRouteTableId")
    attachments = ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]
    shared = _named(attachments, "shared-att", "TransitGatewayAttachmentId")
    ec2.create_transit_gateway_route(
        DestinationCidrBlock="10.0.0.0/16",
        TransitGatewayRouteTableId=spokes,
        TransitGatewayAttachmentId=shared,
    )
    where = {"tgw": "core", "table": "spokes"}
    assert running.applied[-1] == ("tgw-route", {**where, "cidr": "10.0.0.0/16", "attachment": "shared-att"})
    ec2.delete_transit_gateway_route(DestinationCidrBlock="10.0.0.0/8", TransitGatewayRouteTableId=spokes)
    assert running.applied[-1] == ("remove-tgw-route", {**where, "cidr": "10.0.0.0/8"})
    ec2.disable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=spokes, TransitGatewayAttachmentId=shared
    )
    assert running.applied[-1] == ("remove-propagation", {**where, "attachment": "shared-att"})
    table = running.intent.topology.transit_gateway("core").route_tables[1]
    assert (table.name, table.propagations, [str(r.destination) for r in table.static_routes]) == (
        "spokes",
        (),
        ["10.0.0.0/16"],
    )
    before = list(running.applied)
    with pytest.raises(ClientError) as refused:  # the design has no such propagation any more
        ec2.disable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=spokes, TransitGatewayAttachmentId=shared
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue" and running.applied == before


def test_a_taken_port_is_said_and_nothing_is_left_listening():
    from vpclab.errors import OperationFailed

    running = Running("peering.yaml")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OperationFailed, match=f"cannot answer on 127.0.0.1:{port}: .*--port"):
            serve(running.topology, port, lambda: running.intent.data, running.apply, lambda line: None)
