"""vpclab import: real account snapshots (Batfish's test data) become topologies that check,
trace and the rest take; what cannot be emulated is listed with its AWS id, never dropped."""

import json
import re
import shutil
from pathlib import Path

import pytest
from vpc_fixtures import verdict

from vpclab.aws_import import SnapshotError, import_directory, render
from vpclab.errors import InvalidInput
from vpclab.intent.loader import load_topology
from vpclab.ui.cli import main

AWS_ID_IN_BRACKETS = re.compile(r"\[[^\]]* [a-z]+(-[a-z]+)*-[0-9a-f]{8,17}\]")
SNAPSHOTS = Path(__file__).resolve().parents[1] / "data" / "aws-configs"
NAMES = sorted(p.name for p in SNAPSHOTS.iterdir() if p.is_dir())


def imported(name: str, top: bool = False):
    """A snapshot imported from its aws_configs folder (or, ``top``, its top folder)."""
    directory = str(SNAPSHOTS / name if top else SNAPSHOTS / name / "aws_configs")
    result = import_directory(directory)
    return result, load_topology(f"{name}.yaml", render(result, directory))


CONTRADICTORY = {"test": "Subnets.json: subnet-1f315846: 172.31.0.0/20 is outside its VPC vpc-b390fad5"}
NO_VPC = {"test-direct-connect-gateway-multi-region": "no VPC in the snapshot"}
IMPORTABLE = [name for name in NAMES if name not in CONTRADICTORY and name not in NO_VPC]


def files(name: str, file: str) -> list[dict]:
    """Every resource of ``file`` in every folder of a snapshot (each once)."""
    found: dict[str, dict] = {}
    for path in sorted((SNAPSHOTS / name).rglob(f"{file}.json")):
        answer = json.loads(path.read_text())
        for resource in next(v for v in answer.values() if isinstance(v, list)):
            found.setdefault(json.dumps(resource, sort_keys=True), resource)
    return list(found.values())


@pytest.mark.parametrize("name", IMPORTABLE)
def test_every_snapshot_imports_from_its_top_folder_with_its_running_instances(name):
    result, topology = imported(name, top=True)
    instances = {i["InstanceId"]: i for r in files(name, "Reservations") for i in r["Instances"]}
    running = [i for i in instances.values() if i["State"]["Name"] == "running" and i.get("SubnetId")]
    assert len(topology.senders) == len(running) == result.counts["instance"]  # not AWS's interfaces
    assert {str(i.ip) for i in topology.senders} == {i["PrivateIpAddress"] for i in running}
    assert {i.aws_id for i in topology.senders} == {i["InstanceId"] for i in running}


@pytest.mark.parametrize("name", sorted({**CONTRADICTORY, **NO_VPC}))
def test_a_snapshot_that_contradicts_itself_or_holds_no_vpc_says_so(name):
    with pytest.raises(SnapshotError, match=re.escape({**CONTRADICTORY, **NO_VPC}[name])):
        import_directory(str(SNAPSHOTS / name))


@pytest.mark.parametrize("name", IMPORTABLE)
def test_every_object_of_every_file_is_mapped_or_listed_with_its_id(name):
    """Nothing silently dropped: each object's id is in the written design (a description, or
    the listing of what was skipped or changed), or it belongs to an object that is."""
    result, _ = imported(name, top=True)
    text = render(result, name)
    missing = []
    for path in sorted((SNAPSHOTS / name).rglob("*.json")):
        answer = json.loads(path.read_text())
        for resource in next((v for v in answer.values() if isinstance(v, list)), []):
            ids = owned_ids(path.stem, resource)
            if ids and not any(i and i in text for i in ids):
                missing.append(f"{path.relative_to(SNAPSHOTS)}: {ids[0]}")
    assert not missing, missing


def owned_ids(file: str, resource: dict) -> list[str]:
    """The ids that stand for ``resource`` in an import's output: its own, or its owner's."""
    from vpclab.aws_import.snapshot import ID_KEYS
    from vpclab.aws_import.state import OTHER_FILES, object_id

    if file == "Reservations":
        return [i["InstanceId"] for i in resource["Instances"]][:1]
    if file == "NetworkInterfaces":  # an instance's, a NAT gateway's, an attachment's: theirs
        owner = (resource.get("Attachment") or {}).get("InstanceId")
        words = [w for w in (resource.get("Description") or "").split() if "-" in w]
        return [resource["NetworkInterfaceId"], *([owner] if owner else []), *words]
    if file == "Addresses":
        return [resource.get("AllocationId", ""), resource.get("PublicIp", "")]
    if file in ("TransitGatewayPropagations", "TransitGatewayStaticRoutes"):
        return [resource["TransitGatewayRouteTableId"]]
    key = ID_KEYS.get(file) or OTHER_FILES.get(file, ("", "", ""))[1]
    return [object_id(resource, key if isinstance(key, str) else key[0])]


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
    assert skipped[("instance", "i-04a292ff83b3aa833")] == "it is terminated, not running or stopped"
    text = render(result, "DIR")
    assert "#   VPN connection vpn-" in text
    assert "#   public IP 3.136.41.161 (i-0b14080af811fda3d): an address of 203.0.113.0/24" in text


def test_a_missing_or_broken_file_is_an_error_that_names_it(tmp_path, capsys):
    broken = tmp_path / "aws_configs"
    shutil.copytree(SNAPSHOTS / "test-subnet" / "aws_configs", broken)
    (broken / "Subnets.json").write_text('{"Subnets": [')
    with pytest.raises(SnapshotError, match="Subnets.json: not readable as JSON"):
        import_directory(str(broken))
    for name in list(broken.iterdir()):
        name.rename(tmp_path / name.name.replace(".json", ".txt"))  # no describe-* file left
    assert main(["import", str(broken), "-o", str(tmp_path / "t.yaml")]) == InvalidInput.exit_code
    said = capsys.readouterr().err
    assert "no describe-* file (Vpcs.json, ...) in any layout vpclab reads" in said
    assert "aws_configs/accounts/<account id>/<region>/*.json (a folder per account and Region)" in said
    assert not (tmp_path / "t.yaml").exists()


def test_the_command_writes_the_topology_and_says_what_it_imported_and_skipped(tmp_path, capsys):
    out = tmp_path / "tgw.yaml"
    assert main(["import", str(SNAPSHOTS / "test-transit-gateway" / "aws_configs"), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("imported: VPC 2, subnet 3, transit gateway 1")
    assert (
        "skipped: TGW vpn attachment 1, instance 1, VPN connection 1, customer gateway 1, availability zone 3"
    ) in said
    assert "emulated as: public IP 1" in said
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
    echo6 = {"IpProtocol": "58", "FromPort": 128, "ToPort": -1, "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]}
    echo6 |= {"IpRanges": [{"CidrIp": "10.9.0.0/16"}]}
    groups = [
        group("sg-d1", "default", "vpc-1"),
        group("sg-d2", "default", "vpc-2"),
        group("sg-web", "web", "vpc-1", [tcp, ping, udp, echo6]),
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
        {"protocol": "tcp", "ports": "8000-8080", "cidr": "::/0"},  # IPv6 rules stay (they run)
        {"protocol": "icmp", "icmp_type": 8, "security_group": "two-b/default"},
        {"protocol": "icmpv6", "icmp_type": 128, "cidr": "2001:db8::/32"},
    ]
    nacl = one["nacls"][0]
    assert nacl["ingress"] == [
        {"rule": 100, "protocol": "tcp", "ports": 22, "cidr": "10.2.0.0/16", "action": "deny"},
        {"rule": 110, "protocol": "all", "cidr": "::/0", "action": "allow"},
    ]
    assert one["subnets"][0]["nacl"] == nacl["name"] == "acl-1"
    assert one["route_tables"][0]["routes"] == [
        {"destination": "10.2.0.0/16", "peering": "pcx-1"},
        {"destination": "10.3.0.0/16", "peering": "pcx-2"},  # a blackhole until it is accepted
    ]
    assert result.data["peerings"][1] == {
        "name": "pcx-2",
        "description": "pcx-2",
        "requester": "one",
        "accepter": "two-b",
        "status": "pending-acceptance",
    }
    assert [s["name"] for s in result.data["servers"]] == ["srv1", "srv2", "srv3", "srv4"]
    assert sorted((s.kind, s.aws_id, s.reason) for s in result.skipped) == [
        ("SG rule", "sg-web ingress", "icmpv6 with 10.9.0.0/16: it matches no packet"),
        ("SG rule", "sg-web ingress", "it names sg-gone, which is not in the snapshot"),
        ("SG rule", "sg-web ingress", "its prefix list pl-1 is not in the snapshot"),
        ("route", "rtb-1 0.0.0.0/0", "its NAT gateway nat-1 was not imported"),
    ]
    imported = load_topology("t.yaml", render(result, "DIR"))  # and it is a valid topology
    assert not imported.ipv6_holders and imported.ipv6_origins  # IPv6 rules, nothing IPv6: it runs


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "t.yaml"
    assert (
        main(["import", str(SNAPSHOTS / "test-subnet" / "aws_configs"), "-o", str(out)])
        == InvalidInput.exit_code
    )
    assert f"{out}: cannot write it (No such file or directory)" in capsys.readouterr().err


def test_the_internet_edge_comes_in_with_public_ips_renumbered_into_the_documentation_range():
    result, topology = imported("test-transit-gateway")
    public = topology.instance("i-0b14080af811fda3d")
    assert public.public_ip is not None and str(public.public_ip).startswith("203.0.113.")
    vpc = topology.vpc(public.vpc)
    assert (
        vpc.internet_gateway is not None and vpc.internet_gateway.name == "transit-test-2"
    )  # the TGW has the name
    out = verdict(topology, "i-0b14080af811fda3d", "198.51.100.7", "tcp", 443)
    stages = [(h.stage, h.result) for h in out.hops]
    assert ("igw-outbound", "pass") in stages and out.reason == "no-route"  # no such internet host
    assert result.counts["internet gateway"] == 1


def test_nat_gateways_appliances_and_prefix_lists_map_and_what_does_not_is_listed():
    from vpclab.aws_import.mapping import Mapper

    subnet_2b = {
        "SubnetId": "subnet-3",
        "VpcId": "vpc-1",
        "CidrBlock": "10.1.2.0/24",
        "AvailabilityZone": "eu-west-1a",
    }
    allow_all = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    listed = [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-s3"}]}
    ]
    groups = [{"GroupId": "sg-fw", "GroupName": "fw", "VpcId": "vpc-1", "IpPermissions": allow_all,
               "IpPermissionsEgress": listed}]  # fmt: skip
    fw = {"InstanceId": "i-fw", "State": {"Name": "running"}, "SubnetId": "subnet-1",
          "PrivateIpAddress": "10.1.1.10", "SourceDestCheck": False, "SecurityGroups": [{"GroupId": "sg-fw"}],
          "NetworkInterfaces": [{"NetworkInterfaceId": "eni-fw",
                                 "Attachment": {"DeviceIndex": 0}}]}  # fmt: skip
    nats = [
        {"NatGatewayId": "nat-1", "State": "available", "SubnetId": "subnet-1",
         "NatGatewayAddresses": [{"PublicIp": "52.1.2.3", "NetworkInterfaceId": "eni-nat"}]},
        {"NatGatewayId": "nat-2", "State": "available", "SubnetId": "subnet-1",
         "ConnectivityType": "private"},
    ]  # fmt: skip
    igws = [
        {"InternetGatewayId": "igw-1", "Attachments": [{"State": "available", "VpcId": "vpc-1"}]},
        {"InternetGatewayId": "igw-loose", "Attachments": []},
    ]
    routes = [
        {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"},
        {"DestinationCidrBlock": "172.16.0.0/12", "InstanceId": "i-fw"},
        {"DestinationCidrBlock": "192.168.0.0/16", "NetworkInterfaceId": "eni-fw"},
        {"DestinationPrefixListId": "pl-s3", "GatewayId": "igw-1"},
        {"DestinationCidrBlock": "100.64.0.0/10", "InstanceId": "i-elsewhere"},
    ]
    tables = [
        {"RouteTableId": "rtb-private", "VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-3"}],
         "Routes": routes},
        {"RouteTableId": "rtb-public", "VpcId": "vpc-1", "Associations": [{"Main": True}],
         "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}]},
    ]  # fmt: skip
    addresses = [{"AllocationId": "eipalloc-idle", "PublicIp": "52.9.9.9"}]
    prefix_lists = [{"PrefixListId": "pl-s3", "Cidrs": ["52.216.0.0/15", "3.5.0.0/20"]}]
    base = snapshot()
    result = Mapper(
        base
        | {
            "Subnets": base["Subnets"] + [subnet_2b],
            "SecurityGroups": groups,
            "Reservations": [{"Instances": [fw]}],
            "NatGateways": nats,
            "InternetGateways": igws,
            "RouteTables": tables,
            "Addresses": addresses,
            "PrefixLists": prefix_lists,
        },
        "edge",
    ).run()
    one = result.data["vpcs"][0]
    assert one["internet_gateway"] == "igw-1" and one["nat_gateways"] == [
        {"name": "nat-1", "description": "nat-1", "subnet": "subnet-1", "aws_public_ip": "52.1.2.3"}
    ]
    assert one["instances"][0] == {
        "name": "i-fw", "description": "i-fw", "subnet": "subnet-1", "ip": "10.1.1.10",
        "security_groups": ["fw"], "source_dest_check": False,
    }  # fmt: skip
    private = next(t for t in one["route_tables"] if t["name"] == "rtb-private")
    assert private["routes"] == [
        {"destination": "0.0.0.0/0", "nat_gateway": "nat-1"},
        {"destination": "172.16.0.0/12", "instance": "i-fw"},
        {"destination": "192.168.0.0/16", "instance": "i-fw"},
        {"destination": "52.216.0.0/15", "internet_gateway": "igw-1"},
        {"destination": "3.5.0.0/20", "internet_gateway": "igw-1"},
    ]
    fw_group = one["security_groups"][0]
    assert [r["cidr"] for r in fw_group["egress"]] == ["52.216.0.0/15", "3.5.0.0/20"]
    assert sorted((s.kind, s.aws_id, s.reason) for s in result.skipped) == [
        ("Elastic IP", "eipalloc-idle", "associated with no imported instance or NAT gateway"),
        ("NAT gateway", "nat-2", "private NAT gateways are not emulated"),
        ("internet gateway", "igw-loose", "attached to no VPC of the snapshot"),
        (
            "route",
            "rtb-private 100.64.0.0/10",
            "its target i-elsewhere is no imported instance of this VPC (or not its primary interface)",
        ),
    ]
    assert [(c.kind, c.aws_id) for c in result.changed] == [
        ("Elastic IP", "52.1.2.3 (nat-1)"),
        ("prefix list", "pl-s3"),  # its CIDRs, in the route and the rule that name it
    ]
    topology = load_topology("edge.yaml", render(result, "DIR"))
    assert not topology.instance("i-fw").source_dest_check
    assert str(topology.vpc("one").nat_gateway("nat-1").public_ip).startswith("203.0.113.")
    assert [r.instance for r in topology.vpc("one").route_table("rtb-private").routes if r.instance] == [
        "i-fw"
    ] * 2


def test_trace_names_the_aws_id_next_to_each_object_of_an_imported_topology(tmp_path, capsys):
    out = tmp_path / "tgw.yaml"
    assert main(["import", str(SNAPSHOTS / "test-transit-gateway" / "aws_configs"), "-o", str(out)]) == 0
    capsys.readouterr()
    command = [
        "trace",
        str(out),
        "i-075e846ed41670385",
        "i-0b14080af811fda3d",
        "--protocol",
        "tcp",
        "--port",
        "22",
    ]
    assert main(command) == 1
    said = capsys.readouterr().out.splitlines()
    assert said[-1] == (
        "DROPPED: tgw-az-not-attached on the forward path "
        "(decided by transit_gateways[0].attachments[0] tgw-attach-07f5ec59e9f540021)"
    )
    assert said[3].endswith("[vpcs[1].route_tables[0].routes[0] rtb-0891861fffaea6d52]")  # the route's table
    assert main([*command, "--json"]) == 1
    hops = json.loads(capsys.readouterr().out)["hops"]
    assert hops[0]["aws_id"] == "i-075e846ed41670385"
    plain = main(["trace", "topologies/three-tier.yaml", "web1", "app1", "--port", "8080"])
    assert plain == 0 and not AWS_ID_IN_BRACKETS.search(capsys.readouterr().out)  # nothing was imported


def test_input_that_contradicts_itself_stops_the_import_naming_the_file_and_the_id(tmp_path, capsys):
    from vpclab.aws_import.mapping import Mapper

    outside = snapshot()
    outside["Subnets"][1] = {**outside["Subnets"][1], "CidrBlock": "10.9.1.0/24"}
    with pytest.raises(SnapshotError) as caught:
        Mapper(outside, "t").run()
    assert str(caught.value) == "Subnets.json: subnet-2: 10.9.1.0/24 is outside its VPC vpc-2 (10.2.0.0/16)"
    table = {
        "RouteTableId": "rtb-1",
        "VpcId": "vpc-1",
        "Associations": [{"Main": True}],
        "Routes": [{"DestinationCidrBlock": "10.2.0.0/16", "VpcPeeringConnectionId": "pcx-9"}],
    }
    with pytest.raises(
        SnapshotError, match=r"^RouteTables.json: rtb-1 10.2.0.0/16: a route to peering pcx-9, "
    ):
        Mapper(snapshot(RouteTables=[table]), "t").run()
    broken = tmp_path / "aws_configs"
    shutil.copytree(SNAPSHOTS / "test-vpc-peering" / "aws_configs", broken)
    tables = json.loads((broken / "RouteTables.json").read_text())
    route = next(r for t in tables["RouteTables"] for r in t["Routes"] if "VpcPeeringConnectionId" in r)
    route["VpcPeeringConnectionId"] = "pcx-0000000000000000f"
    (broken / "RouteTables.json").write_text(json.dumps(tables))
    assert main(["import", str(broken), "-o", str(tmp_path / "t.yaml")]) == InvalidInput.exit_code
    assert "a route to peering pcx-0000000000000000f, which is not in the snapshot" in capsys.readouterr().err
    assert not (tmp_path / "t.yaml").exists()


def test_quotas_the_snapshot_shows_raised_are_raised_in_the_design_and_listed():
    """An account whose NACL holds 30 inbound rules had AWS raise that quota: the design says
    so under quotas: (listed as changed), and checks."""
    from vpclab.aws_import.mapping import Mapper

    rules = [
        {"RuleNumber": n, "Egress": False, "Protocol": "6", "RuleAction": "allow",
         "PortRange": {"From": n, "To": n}, "CidrBlock": "10.0.0.0/8"}
        for n in range(1, 31)
    ]  # fmt: skip
    acl = {"NetworkAclId": "acl-1", "VpcId": "vpc-1", "Entries": rules, "Associations": []}
    result = Mapper(snapshot(NetworkAcls=[acl]), "t").run()
    assert result.data["quotas"] == {"rules_per_network_acl": 30}
    assert ("quota", "rules_per_network_acl") in {(c.kind, c.aws_id) for c in result.changed}
    assert load_topology("t.yaml", render(result, "t")).vpc("one").nacl("acl-1").ingress[29].number == 30


def test_a_vpn_to_a_vgw_becomes_a_site_that_announces_what_the_snapshot_shows():
    """PublicPrivateSubnet: a static VPN to the VGW that the private subnet's default route
    names; its customer gateway (at 1.1.1.1) becomes a site at an emulated address."""
    result, topology = imported("test-public-private-subnet")
    (site,) = topology.hybrid.sites
    assert (str(site.public_ip), [str(c) for c in site.cidrs], site.asn, site.hosts) == (
        "198.51.100.200",
        ["19.168.0.0/16"],
        65000,
        (),
    )
    (connection,) = topology.hybrid.vpn_connections
    (vgw,) = topology.hybrid.vpn_gateways
    assert (connection.routing, connection.vpn_gateway, connection.customer_gateway) == (
        "static",
        vgw.name,
        site.name,
    )
    private = next(t for vpc in topology.vpcs for t in vpc.route_tables if t.propagating_vgws)
    assert [r.vpn_gateway for r in private.routes if not r.local] == [vgw.name]
    changed = {(c.kind, c.aws_id): c.reason for c in result.changed}
    assert "were DOWN when the snapshot was taken" in changed[("VPN connection", "vpn-05044757278685fd3")]
    assert changed[("customer gateway", "1.1.1.1 (cgw-0e0d620a3ae284684)")] == "the address 198.51.100.200"
    out = verdict(topology, "i-099cf38911942421c", "19.168.0.0")
    assert out.accepted and out.left_network == "19.168.0.0"


def test_a_bgp_vpn_whose_site_announces_nothing_the_snapshot_shows_is_listed():
    result, _ = imported("test-vpn-gateway")
    skipped = {(s.kind, s.aws_id): s.reason for s in result.skipped}
    assert skipped[("VPN connection", "vpn-03701a53bba3c48b7")].startswith(
        "the snapshot shows no prefix its site announces"
    )
