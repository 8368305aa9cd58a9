"""vpclab import: real account snapshots (Batfish's test data) become topologies that check,
trace and the rest take; what cannot be emulated is listed with its AWS id, never dropped."""

import json
import shutil
from pathlib import Path

import pytest
from vpc_fixtures import verdict

from vpclab.aws_import import SnapshotError, import_directory, render
from vpclab.cli import EXIT_INVALID, main
from vpclab.intent.loader import load_topology

SNAPSHOTS = Path(__file__).resolve().parents[1] / "data" / "aws-configs"
NAMES = sorted(p.name for p in SNAPSHOTS.iterdir() if p.is_dir())


def imported(name: str):
    directory = str(SNAPSHOTS / name / "aws_configs")
    result = import_directory(directory)
    return result, load_topology(f"{name}.yaml", render(result, directory))


@pytest.mark.parametrize("name", NAMES)
def test_every_snapshot_imports_as_a_valid_topology_with_its_running_instances(name):
    result, topology = imported(name)
    reservations = json.loads((SNAPSHOTS / name / "aws_configs" / "Reservations.json").read_text())
    running = [
        i["InstanceId"]
        for r in reservations["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    assert len(topology.instances) == len(running) == result.counts["instance"]
    assert {str(i.ip) for i in topology.instances} == {
        i["PrivateIpAddress"]
        for r in reservations["Reservations"]
        for i in r["Instances"]
        if i["InstanceId"] in running
    }


def test_an_instance_in_an_az_the_tgw_attachment_does_not_cover_cannot_use_the_tgw():
    _, topology = imported("test-transit-gateway")
    stuck = verdict(topology, "i-075e846ed41670385", "i-0b14080af811fda3d", "tcp", 22)
    assert (stuck.accepted, stuck.reason) == (False, "tgw-az-not-attached")
    assert verdict(topology, "i-06ba034d88c84ef07", "i-0b14080af811fda3d", "tcp", 22).accepted


def test_peerings_route_to_two_vpcs_that_reuse_one_range_and_are_not_transitive():
    _, topology = imported("test-vpc-peering")
    for target in ("i-0b14080af811fda3d", "i-04a292ff83b3aa833"):  # 192.168.1.x and 192.168.2.x
        assert verdict(topology, "i-06ba034d88c84ef07", target, "tcp", 22).accepted
    across = verdict(topology, "i-0b14080af811fda3d", "i-04a292ff83b3aa833", "tcp", 22)
    assert (across.accepted, across.reason) == (False, "no-route")
    assert any(r.blackhole for t in topology.vpc("VPC-B").route_tables for r in t.routes)  # igw gone


def test_what_cannot_be_emulated_is_listed_with_its_id_and_reason_in_the_file_too():
    result, _ = imported("test-transit-gateway")
    skipped = {(s.kind, s.aws_id): s.reason for s in result.skipped}
    assert skipped[("route", "rtb-017c36290c9baf017 0.0.0.0/0")].startswith("a route to an internet gateway")
    assert skipped[("instance", "i-04a292ff83b3aa833")] == "it is terminated, not running"
    text = render(result, "DIR")
    assert "#   internet gateway igw-0a4895a3c58cac8cb: internet gateways are not emulated yet" in text


def test_a_missing_or_broken_file_is_an_error_that_names_it(tmp_path, capsys):
    broken = tmp_path / "aws_configs"
    shutil.copytree(SNAPSHOTS / "test-subnet" / "aws_configs", broken)
    (broken / "Subnets.json").write_text('{"Subnets": [')
    with pytest.raises(SnapshotError, match="Subnets.json: not readable as JSON"):
        import_directory(str(broken))
    (broken / "Subnets.json").unlink()
    assert main(["import", str(broken), "-o", str(tmp_path / "t.yaml")]) == EXIT_INVALID
    assert "Subnets.json: missing" in capsys.readouterr().err
    assert not (tmp_path / "t.yaml").exists()


def test_the_command_writes_the_topology_and_says_what_it_imported_and_skipped(tmp_path, capsys):
    out = tmp_path / "tgw.yaml"
    assert main(["import", str(SNAPSHOTS / "test-transit-gateway" / "aws_configs"), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("imported: VPC 2, subnet 3, transit gateway 1")
    assert "skipped: route 1, instance 1, internet gateway 1, VPN connection 1" in said
    assert f"{out}: ok: topology 'test-transit-gateway'" in said
    assert load_topology(str(out)).transit_gateways[0].name == "transit-test"


def snapshot(**files) -> dict:
    """A small snapshot: two VPCs with a subnet each, plus the resources given."""
    from vpclab.aws_import.snapshot import FILES

    base = {name: [] for name in FILES}
    base["Vpcs"] = [
        {"VpcId": "vpc-1", "CidrBlock": "10.1.0.0/16", "Tags": [{"Key": "Name", "Value": "one"}]},
        {"VpcId": "vpc-2", "CidrBlock": "10.2.0.0/16", "Tags": [{"Key": "Name", "Value": "two/b"}]},
    ]
    base["Subnets"] = [
        {
            "SubnetId": "subnet-1",
            "VpcId": "vpc-1",
            "CidrBlock": "10.1.1.0/24",
            "AvailabilityZone": "eu-west-1a",
        },
        {
            "SubnetId": "subnet-2",
            "VpcId": "vpc-2",
            "CidrBlock": "10.2.1.0/24",
            "AvailabilityZone": "eu-west-1b",
        },
    ]
    return base | files


def test_rules_routes_and_peerings_map_as_aws_means_them_or_are_listed():
    from vpclab.aws_import.mapping import Mapper

    def group(group_id, name, vpc, ingress=()):
        return {"GroupId": group_id, "GroupName": name, "VpcId": vpc, "IpPermissions": list(ingress)}

    tcp = {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    tcp |= {"Ipv6Ranges": [{"CidrIpv6": "::/0"}], "PrefixListIds": [{"PrefixListId": "pl-1"}]}
    ping = {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "UserIdGroupPairs": [{"GroupId": "sg-d2"}]}
    udp = {"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": "sg-gone"}]}
    groups = [
        group("sg-d1", "default", "vpc-1"),
        group("sg-d2", "default", "vpc-2"),
        group("sg-web", "web", "vpc-1", [tcp, ping, udp]),
    ]

    def entry(number, protocol, action, **more):
        return {"RuleNumber": number, "Egress": False, "Protocol": protocol, "RuleAction": action} | more

    entries = [
        entry(100, "6", "deny", PortRange={"From": 22, "To": 22}, CidrBlock="10.2.0.0/16"),
        entry(110, "-1", "allow", Ipv6CidrBlock="::/0"),
        entry(32767, "-1", "deny", CidrBlock="0.0.0.0/0"),
    ]
    acls = [
        {
            "NetworkAclId": "acl-1",
            "VpcId": "vpc-1",
            "IsDefault": False,
            "Associations": [{"SubnetId": "subnet-1"}],
            "Entries": entries,
        }
    ]
    tables = [
        {
            "RouteTableId": "rtb-1",
            "VpcId": "vpc-1",
            "Associations": [{"Main": True}],
            "Routes": [
                {"DestinationCidrBlock": "10.1.0.0/16", "GatewayId": "local"},
                {"DestinationCidrBlock": "10.2.0.0/16", "VpcPeeringConnectionId": "pcx-1"},
                {"DestinationCidrBlock": "10.3.0.0/16", "VpcPeeringConnectionId": "pcx-2"},
                {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"},
            ],
        }
    ]
    peerings = [
        {"VpcPeeringConnectionId": "pcx-1", "Status": {"Code": "active"},
         "RequesterVpcInfo": {"VpcId": "vpc-1"}, "AccepterVpcInfo": {"VpcId": "vpc-2"}},
        {"VpcPeeringConnectionId": "pcx-2", "Status": {"Code": "pending-acceptance"},
         "RequesterVpcInfo": {"VpcId": "vpc-1"}, "AccepterVpcInfo": {"VpcId": "vpc-2"}},
    ]  # fmt: skip
    result = Mapper(
        snapshot(SecurityGroups=groups, NetworkAcls=acls, RouteTables=tables, VpcPeeringConnections=peerings),
        "t",
        servers_per_az=2,
    ).run()
    one = result.data["vpcs"][0]
    web = next(g for g in one["security_groups"] if g["name"] == "web")
    assert web["ingress"] == [
        {"protocol": "tcp", "ports": "8000-8080", "cidr": "10.0.0.0/8"},
        {"protocol": "icmp", "icmp_type": 8, "security_group": "two-b/default"},
    ]
    nacl = one["nacls"][0]
    assert nacl["ingress"] == [
        {"rule": 100, "protocol": "tcp", "ports": 22, "cidr": "10.2.0.0/16", "action": "deny"}
    ]
    assert one["subnets"][0]["nacl"] == nacl["name"] == "acl-1"
    assert one["route_tables"][0]["routes"] == [{"destination": "10.2.0.0/16", "peering": "pcx-1"}]
    assert [s["name"] for s in result.data["servers"]] == ["srv1", "srv2", "srv3", "srv4"]
    assert sorted((s.kind, s.aws_id, s.reason) for s in result.skipped) == [
        ("NACL rule", "acl-1 ingress rule 110", "IPv6 is not emulated"),
        ("SG rule", "sg-web ingress", "IPv6 is not emulated"),
        ("SG rule", "sg-web ingress", "it names sg-gone, which is not in the snapshot"),
        ("SG rule", "sg-web ingress", "prefix lists are not imported yet"),
        ("peering", "pcx-2", "its state is pending-acceptance, not active"),
        ("route", "rtb-1 0.0.0.0/0", "a route to a NAT gateway (not emulated yet)"),
        ("route", "rtb-1 10.3.0.0/16", "its peering pcx-2 was not imported"),
    ]
    load_topology("t.yaml", render(result, "DIR"))  # and it is a valid topology


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "t.yaml"
    assert main(["import", str(SNAPSHOTS / "test-subnet" / "aws_configs"), "-o", str(out)]) == EXIT_INVALID
    assert f"{out}: cannot write it (No such file or directory)" in capsys.readouterr().err
