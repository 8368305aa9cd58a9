"""`vpclab import` of a dual-stack account (issue 34): its IPv6 blocks, subnets, addresses,
routes and rules, moved into the documentation space 2001:db8::/32 (nothing real is routed).
The snapshot is test-public-subnet's (Batfish's, see tests/data/aws-configs/LICENSE) with IPv6
added as EC2's describe calls write it."""

import json
import shutil
from pathlib import Path

from controller.compiler.matches import uncarried
from vpclab.aws_import import import_directory, render
from vpclab.intent.loader import load_topology

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "aws-configs" / "test-public-subnet" / "aws_configs"
REAL = "2600:1f16:1234:5600::/56"


def _edit(folder: Path, name: str, change) -> None:
    path = folder / f"{name}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def dual_stack_snapshot(tmp_path: Path) -> Path:
    folder = tmp_path / "aws_configs"
    shutil.copytree(SNAPSHOT, folder)
    associated = {"State": "associated"}
    _edit(
        folder,
        "Vpcs",
        lambda d: d["Vpcs"][0].update(
            Ipv6CidrBlockAssociationSet=[{"Ipv6CidrBlock": REAL, "Ipv6CidrBlockState": associated}]
        ),
    )

    def subnets(d):
        public = d["Subnets"][0]
        public["Ipv6CidrBlockAssociationSet"] = [
            {"Ipv6CidrBlock": "2600:1f16:1234:5601::/64", "Ipv6CidrBlockState": associated}
        ]
        only = {**public, "SubnetId": "subnet-0v6only", "Tags": [{"Key": "Name", "Value": "v6only"}]}
        only.pop("CidrBlock")
        only.update(
            Ipv6Native=True,
            Ipv6CidrBlockAssociationSet=[
                {"Ipv6CidrBlock": "2600:1f16:1234:5602::/64", "Ipv6CidrBlockState": associated}
            ],
        )
        d["Subnets"].append(only)

    _edit(folder, "Subnets", subnets)

    def instance(d):
        primary = d["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]
        primary["Ipv6Addresses"] = [{"Ipv6Address": "2600:1f16:1234:5601::abcd"}]

    _edit(folder, "Reservations", instance)

    def routes(d):
        for table in d["RouteTables"]:
            table["Routes"].append(
                {"DestinationIpv6CidrBlock": REAL, "GatewayId": "local", "State": "active"}
            )
            main = any(a.get("Main") for a in table["Associations"])
            igw = next(
                r["GatewayId"]
                for t in d["RouteTables"]
                for r in t["Routes"]
                if "igw-" in r.get("GatewayId", "")
            )
            table["Routes"].append(
                {
                    "DestinationIpv6CidrBlock": "::/0",
                    "EgressOnlyInternetGatewayId": "eigw-0123",
                    "State": "active",
                }
                if main
                else {"DestinationIpv6CidrBlock": "::/0", "GatewayId": igw, "State": "active"}
            )

    _edit(folder, "RouteTables", routes)

    def groups(d):
        wizard = next(g for g in d["SecurityGroups"] if g["GroupName"] == "launch-wizard-1")
        wizard["IpPermissions"].append(
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [],
                "Ipv6Ranges": [{"CidrIpv6": REAL}, {"CidrIpv6": "2a05:d018::/36"}],
                "PrefixListIds": [],
                "UserIdGroupPairs": [],
            }
        )

    _edit(folder, "SecurityGroups", groups)

    def nacls(d):
        for acl in d["NetworkAcls"]:
            for egress in (False, True):
                acl["Entries"].append(
                    {
                        "RuleNumber": 101,
                        "Protocol": "-1",
                        "RuleAction": "allow",
                        "Egress": egress,
                        "Ipv6CidrBlock": "::/0",
                    }
                )

    _edit(folder, "NetworkAcls", nacls)
    return folder


def test_a_dual_stack_account_imports_into_the_documentation_space(tmp_path):
    folder = dual_stack_snapshot(tmp_path)
    imported = import_directory(str(folder))
    path = tmp_path / "imported.yaml"
    path.write_text(render(imported, str(folder)))
    topology = load_topology(str(path))  # it validates: the loader's own rules hold
    (vpc,) = topology.vpcs
    assert str(vpc.ipv6_cidr) == "2001:db8:100::/56"
    assert vpc.egress_only_internet_gateway is not None
    subnets = {s.name: s for s in vpc.subnets}
    assert str(subnets["Public-subnet"].ipv6_cidr) == "2001:db8:100:1::/64"
    assert subnets["v6only"].ipv6_native and str(subnets["v6only"].ipv6_cidr) == "2001:db8:100:2::/64"
    (instance,) = topology.instances
    assert str(instance.ipv6) == "2001:db8:100:1::abcd"  # the interface bits kept
    routes = [r.describe() for t in vpc.route_tables for r in t.routes if r.destination.version == 6]
    assert "::/0 -> egress-only internet gateway eigw-0123" in routes
    assert any(r.startswith("::/0 -> internet gateway") for r in routes)
    rules = [str(r.cidr) for g in vpc.security_groups for r in g.ingress if r.cidr and r.cidr.version == 6]
    assert rules == ["2001:db8:100::/56", "2a05:d018::/36"]  # inside the VPC: moved; a partner's: kept
    changed = [(c.kind, c.aws_id, c.reason) for c in imported.changed]
    assert (
        "VPC IPv6 CIDR",
        f"{REAL} (vpc-0672bce73895d7252)",
        "2001:db8:100::/56, in 2001:db8::/32",
    ) in changed
    assert not [s for s in imported.skipped if "IPv6" in s.reason]
    assert uncarried(topology) is None  # the cards carry it
