"""vpclab import --terraform: a plan (`terraform show -json`) is the network it leaves once
applied, references followed through count, for_each, modules and data sources; what it cannot
emulate is listed with the resource's address, never dropped."""

import json
from pathlib import Path

import pytest
from vpc_fixtures import verdict

from vpclab.aws_import import SnapshotError, import_directory, import_plan, render
from vpclab.aws_import.terraform_plan import Plan
from vpclab.intent.loader import load_topology
from vpclab.ui.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
PLANS = DATA / "terraform"
PUBLIC = sorted([*(PLANS / "terraform-compliance").glob("*.plan.json"), PLANS / "checkov" / "tfplan.json"])
OBJECTS = {  # resource types that become an object of the design (with its id in description)
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_nat_gateway",
    "aws_route_table",
    "aws_security_group",
    "aws_network_acl",
    "aws_instance",
    "aws_vpc_peering_connection",
    "aws_ec2_transit_gateway",
    "aws_ec2_transit_gateway_vpc_attachment",
    "aws_ec2_transit_gateway_route_table",
}


def design(path: Path):
    result = import_plan(str(path))
    return result, load_topology(f"{path.stem}.yaml", render(result, str(path)))


def hops(found) -> list[tuple]:
    """A trace's hops without their places in the file (two imports order VPCs differently)."""
    return [(h.direction, h.stage, h.at, h.result, h.detail) for h in found.hops]


def test_batfish_s_terraform_plans_trace_hop_by_hop_as_the_snapshots_they_built():
    _, planned = design(PLANS / "batfish-tgw-asymmetric-paths" / "plan.json")
    snapshot = import_directory(str(DATA / "aws-configs" / "test-transit-gateway-asymmetric-paths"))
    applied = load_topology("applied.yaml", render(snapshot, "applied"))
    names = sorted(i.name for i in planned.senders)
    assert names == sorted(i.name for i in applied.senders) == ["bat-web01", "fish-web01"]
    verdicts = []
    for source in names:
        for target in names:
            for protocol, port in (("icmp", None), ("tcp", 22), ("udp", 33434), ("tcp", 80)):
                if source != target:
                    ours = verdict(planned, source, target, protocol, port)
                    assert hops(ours) == hops(verdict(applied, source, target, protocol, port))
                    verdicts.append(ours.accepted)
    assert True in verdicts and False in verdicts  # tcp 80: no rule lets it in


def test_a_nat_gateway_named_as_gateway_id_is_the_nat_gateway_aws_files_it_as():
    result, topology = design(PLANS / "batfish-nat-gateway" / "plan.json")
    vpc = result.data["vpcs"][0]
    tables = {t["name"]: t["routes"] for t in vpc["route_tables"]}
    assert tables == {
        "vpc-a-public": [{"destination": "0.0.0.0/0", "internet_gateway": "vpc-a"}],
        "vpc-a-public-2": [{"destination": "0.0.0.0/0", "nat_gateway": "test-nat"}],
    }
    snapshot = import_directory(str(DATA / "aws-configs" / "test-nat-gateway"))
    applied = {t["name"]: t["routes"] for t in snapshot.data["vpcs"][0]["route_tables"] if t["routes"]}
    assert [list(r[0]) for r in applied.values()] == [list(r[0]) for r in tables.values()]
    # a group whose name Terraform makes on apply (name unset) takes its Name tag
    assert {g["name"] for g in vpc["security_groups"]} == {"vpc-a-jump", "vpc-a-ssh"}
    out = verdict(topology, "test1", "198.51.100.7", "tcp", 443)  # out by the NAT, then the IGW
    assert [h.stage for h in out.hops if h.result == "pass"][-3:] == ["nacl-egress", "route", "igw-outbound"]
    assert ("nat-gateway", "test-nat") in [(h.stage, h.at) for h in out.hops]
    jump = next(i for i in vpc["instances"] if i["name"] == "Jump-Host")
    assert jump["public_ip"] is True and "ip" not in jump  # the subnet maps public IPs; AWS picks


def test_the_seed_s_hub_plan_with_modules_and_for_each_traces_as_the_incident_design():
    result, planned = design(PLANS / "seed-hub-and-bank" / "plan.json")
    incident = load_topology(str(Path(__file__).resolve().parents[2] / "topologies" / "tgw-incident.yaml"))
    names = ["svc1", "app1", "db1"]
    for source in names:
        for target in names:
            if source != target:
                ours = verdict(planned, source, target)
                assert ours.accepted and hops(ours) == hops(verdict(incident, source, target))
    tgw = result.data["transit_gateways"][0]
    assert [
        (t["name"], t.get("associations"), t.get("propagations"), t.get("routes"))
        for t in tgw["route_tables"]
    ] == [
        ("hub", ["shared-att"], ["app-att", "data-att"], None),
        (
            "spokes",
            ["app-att", "data-att"],
            ["app-att", "data-att"],
            [{"destination": "10.0.0.0/8", "attachment": "shared-att"}],
        ),
    ]  # no default table: the plan disables AWS's default association and propagation
    assert [a["description"] for a in tgw["attachments"]][1] == (
        'tgw-attach-aws_ec2_transit_gateway_vpc_attachment.spoke["app"]'
    )


def test_the_seed_s_bank_plan_holds_the_2019_rules_the_breach_design_has():
    result, _ = design(PLANS / "seed-hub-and-bank" / "plan.json")
    bank = next(v for v in result.data["vpcs"] if v["name"] == "bank")
    breach = load_topology(str(Path(__file__).resolve().parents[2] / "topologies" / "breach-2019.yaml"))
    assert next(g for g in bank["security_groups"] if g["name"] == "waf-sg")["ingress"] == [
        {"protocol": "tcp", "ports": 80, "cidr": "0.0.0.0/0"}
    ]
    nacl = next(n for n in bank["nacls"] if n["name"] == "web-nacl")
    rule = {"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}
    assert nacl["ingress"] == nacl["egress"] == [rule]
    assert bank["subnets"][0]["nacl"] == "web-nacl" and bank["subnets"][0]["route_table"] == "public-rt"
    assert bank["route_tables"][0]["routes"] == [{"destination": "0.0.0.0/0", "internet_gateway": "igw-bank"}]
    waf = next(i for i in bank["instances"] if i["name"] == "waf")
    assert waf["public_ip"] is True and waf["security_groups"] == ["waf-sg"]
    assert breach.instance("waf").public_ip  # as the breach design has it


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.name)
def test_every_resource_of_a_public_plan_is_imported_or_listed_with_its_address(path):
    plan = Plan(json.loads(path.read_text()), str(path))
    try:
        result = import_plan(str(path))
    except SnapshotError as error:  # no VPC: the message lists what the plan holds
        assert "no VPC in the plan" in str(error)
        assert not plan.of_type("aws_vpc")
        return
    text = render(result, str(path))
    listed = {s.aws_id for s in result.skipped}
    for resource in (r for r in plan.resources if r.mode == "managed"):
        if resource.type in OBJECTS:
            assert f"-{resource.address}" in text or resource.address in listed, resource.address
        elif not resource.type.startswith(("aws_route", "aws_security_group_rule", "aws_eip")):
            assert resource.address in listed, resource.address
    load_topology("imported.yaml", text)


def test_terragoat_s_network_comes_in_with_references_through_attributes():
    result, topology = design(PLANS / "checkov" / "tfplan.json")
    web = next(v for v in result.data["vpcs"] if v["cidr"] == "172.16.0.0/16")
    groups = {g["description"]: g for g in web["security_groups"]}
    # cidr_blocks = [aws_vpc.web_vpc.cidr_block]: known in the plan
    assert groups["sg-aws_security_group.default"]["ingress"] == [
        {"protocol": "tcp", "ports": 3306, "cidr": "172.16.0.0/16"}
    ]
    assert {s["route_table"] for s in web["subnets"]} == {"123456789123-acme-corp-rtb"}
    assert all(i["public_ip"] for i in web["instances"])  # the subnet maps public IPs
    out = verdict(topology, "123456789123-acme-corp-ec2", "198.51.100.7", "tcp", 443)
    assert ("igw-outbound", "pass") in [(h.stage, h.result) for h in out.hops]  # its public IP


def test_count_index_picks_the_same_instance_and_a_local_is_guessed_and_said():
    result, topology = design(PLANS / "terraform-compliance" / "test_issue-158.plan.json")
    vpc = result.data["vpcs"][0]
    nats = {n["name"]: n["subnet"] for n in vpc["nat_gateways"]}
    assert nats == {f"my-vpc-eu-west-1{z}": f"my-vpc-public-eu-west-1{z}" for z in "abc"}
    private = {t["name"]: t["routes"] for t in vpc["route_tables"] if "private" in t["name"]}
    assert private == {
        f"my-vpc-private-eu-west-1{z}": [{"destination": "0.0.0.0/0", "nat_gateway": f"my-vpc-eu-west-1{z}"}]
        for z in "abc"
    }
    guessed = [c for c in result.changed if c.kind == "reference"]
    assert guessed and all("local" in c.reason and "module.vpc.aws_" in c.reason for c in guessed)
    assert {c.aws_id.split()[1] for c in guessed} == {"vpc_id", "allocation_id"}


def plan_of(resources: list[dict], configuration: dict, unknown: dict) -> dict:
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": [{"address": a, "change": {"after_unknown": u}} for a, u in unknown.items()],
        "configuration": {"root_module": configuration},
    }


def vpc(name: str, cidr: str, address: str = "") -> dict:
    return {
        "address": address or f"aws_vpc.{name}",
        "mode": "managed",
        "type": "aws_vpc",
        "name": name,
        "values": {"cidr_block": cidr, "tags": {"Name": name}},
    }


def subnet(address: str, name: str, index, cidr: str) -> dict:
    return {
        "address": address,
        "mode": "managed",
        "type": "aws_subnet",
        "name": name,
        "index": index,
        "values": {"cidr_block": cidr, "availability_zone": "us-east-1a"},
    }


def test_a_local_names_the_vpc_only_when_its_module_has_one_else_the_subnet_is_listed(tmp_path):
    config = {
        "resources": [
            {
                "address": "aws_subnet.s",
                "type": "aws_subnet",
                "name": "s",
                "mode": "managed",
                "expressions": {"vpc_id": {"references": ["local.vpc_id"]}},
            },
        ]
    }
    one = plan_of(
        [vpc("a", "10.0.0.0/16"), subnet("aws_subnet.s", "s", None, "10.0.1.0/24")],
        config,
        {"aws_subnet.s": {"vpc_id": True}},
    )
    path = tmp_path / "one.json"
    path.write_text(json.dumps(one))
    result = import_plan(str(path))
    assert result.data["vpcs"][0]["subnets"][0]["cidr"] == "10.0.1.0/24"
    assert [c.aws_id for c in result.changed] == ["aws_subnet.s vpc_id"]
    two = plan_of(
        [vpc("a", "10.0.0.0/16"), vpc("b", "10.1.0.0/16"), subnet("aws_subnet.s", "s", None, "10.0.1.0/24")],
        config,
        {"aws_subnet.s": {"vpc_id": True}},
    )
    path.write_text(json.dumps(two))
    result = import_plan(str(path))
    assert all("subnets" not in v for v in result.data["vpcs"])
    assert [(s.aws_id, s.reason) for s in result.skipped] == [
        ("aws_subnet.s", "its vpc_id is unknown until apply, and no reference in the plan says which")
    ]
    assert not result.changed


def test_each_key_and_module_outputs_reach_the_module_instance_of_the_same_key(tmp_path):
    module_vpcs = [
        vpc("this", "10.1.0.0/16", 'module.spoke["a"].aws_vpc.this'),
        vpc("this", "10.2.0.0/16", 'module.spoke["b"].aws_vpc.this'),
    ]
    subnets = [
        subnet('aws_subnet.s["a"]', "s", "a", "10.1.1.0/24"),
        subnet('aws_subnet.s["b"]', "s", "b", "10.2.1.0/24"),
    ]
    config = {
        "resources": [
            {
                "address": "aws_subnet.s",
                "type": "aws_subnet",
                "name": "s",
                "mode": "managed",
                "expressions": {"vpc_id": {"references": ["module.spoke", "each.key"]}},
            },
        ],
        "module_calls": {
            "spoke": {
                "module": {
                    "outputs": {
                        "vpc_id": {"expression": {"references": ["aws_vpc.this.id", "aws_vpc.this"]}},
                        "cidr": {"expression": {"references": ["aws_vpc.this.cidr_block", "aws_vpc.this"]}},
                    },
                    "resources": [],
                }
            }
        },
    }
    document = plan_of(
        module_vpcs + subnets,
        config,
        {'aws_subnet.s["a"]': {"vpc_id": True}, 'aws_subnet.s["b"]': {"vpc_id": True}},
    )
    path = tmp_path / "each.json"
    path.write_text(json.dumps(document))
    result = import_plan(str(path))
    found = {v["cidr"]: [s["cidr"] for s in v.get("subnets", [])] for v in result.data["vpcs"]}
    assert found == {"10.1.0.0/16": ["10.1.1.0/24"], "10.2.0.0/16": ["10.2.1.0/24"]}
    assert not result.changed  # followed, not guessed


def test_the_command_imports_a_plan_and_refuses_what_is_no_plan(tmp_path, capsys):
    out = tmp_path / "hub.yaml"
    assert (
        main(["import", "--terraform", str(PLANS / "seed-hub-and-bank" / "plan.json"), "-o", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "imported: VPC 4" in printed and f"wrote {out}" in printed
    assert out.read_text().startswith("# Imported by `vpclab import` from the Terraform plan ")
    assert main(["check", str(out)]) == 0
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["import", "--terraform", str(broken), "-o", str(out)]) == 2
    assert "not readable as JSON" in capsys.readouterr().err
    broken.write_text(json.dumps({"Vpcs": []}))
    assert main(["import", "--terraform", str(broken), "-o", str(out)]) == 2
    assert "not a Terraform plan" in capsys.readouterr().err
    assert main(["import", "--terraform", str(broken), str(tmp_path), "-o", str(out)]) == 2
    assert "one of them" in capsys.readouterr().err
    iam_only = tmp_path / "iam.json"
    iam_only.write_text(
        json.dumps(
            plan_of(
                [
                    {
                        "address": "aws_iam_role.r",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "r",
                        "values": {},
                    }
                ],
                {},
                {},
            )
        )
    )
    assert main(["import", "--terraform", str(iam_only), "-o", str(out)]) == 2
    assert "no VPC in the plan: vpclab emulates VPCs and what joins them; it holds aws_iam_role.r" in (
        capsys.readouterr().err
    )


def managed(address: str, kind: str, values: dict, index=None) -> dict:
    name = address.split(".")[1].split("[")[0]
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": name,
        "index": index,
        "values": values,
    }


def refs(**attributes) -> dict:
    return {key: {"references": [f"{target}.id", target]} for key, target in attributes.items()}


def test_aws_s_defaults_on_apply_a_tgw_s_default_table_and_no_default_egress_rule(tmp_path):
    """A new TGW with AWS's default options gets a default route table that attachments join
    and propagate into; a group Terraform creates loses the egress rule AWS gives it."""
    resources = [
        vpc("a", "10.0.0.0/16"),
        vpc("b", "10.1.0.0/16"),
        subnet("aws_subnet.a", "a", None, "10.0.1.0/24"),
        subnet("aws_subnet.b", "b", None, "10.1.1.0/24"),
        managed("aws_ec2_transit_gateway.hub", "aws_ec2_transit_gateway", {"tags": {"Name": "hub"}}),
        managed("aws_ec2_transit_gateway_vpc_attachment.a", "aws_ec2_transit_gateway_vpc_attachment", {}),
        managed(
            "aws_ec2_transit_gateway_vpc_attachment.b",
            "aws_ec2_transit_gateway_vpc_attachment",
            {"transit_gateway_default_route_table_propagation": False},
        ),
        managed("aws_security_group.quiet", "aws_security_group", {"name": "quiet", "ingress": []}),
        managed("aws_instance.one", "aws_instance", {"tags": {"Name": "one"}}),
        managed("aws_instance.two", "aws_instance", {"tags": {"Name": "two"}}),
    ]
    config = {
        "resources": [
            {"address": "aws_subnet.a", "expressions": refs(vpc_id="aws_vpc.a")},
            {"address": "aws_subnet.b", "expressions": refs(vpc_id="aws_vpc.b")},
            {
                "address": "aws_ec2_transit_gateway_vpc_attachment.a",
                "expressions": refs(
                    vpc_id="aws_vpc.a",
                    transit_gateway_id="aws_ec2_transit_gateway.hub",
                    subnet_ids="aws_subnet.a",
                ),
            },
            {
                "address": "aws_ec2_transit_gateway_vpc_attachment.b",
                "expressions": refs(
                    vpc_id="aws_vpc.b",
                    transit_gateway_id="aws_ec2_transit_gateway.hub",
                    subnet_ids="aws_subnet.b",
                ),
            },
            {"address": "aws_security_group.quiet", "expressions": refs(vpc_id="aws_vpc.a")},
            {
                "address": "aws_instance.one",
                "expressions": refs(
                    subnet_id="aws_subnet.a", vpc_security_group_ids="aws_security_group.quiet"
                ),
            },
            {"address": "aws_instance.two", "expressions": refs(subnet_id="aws_subnet.b")},
        ]
    }
    for entry in config["resources"]:
        kind, name = entry["address"].split(".")
        entry.update(type=kind, name=name, mode="managed")
    unknown = {
        r["address"]: {
            key: True
            for key in (
                "vpc_id",
                "subnet_id",
                "subnet_ids",
                "transit_gateway_id",
                "vpc_security_group_ids",
                "egress",
            )
        }
        for r in resources
    }
    path = tmp_path / "defaults.json"
    path.write_text(json.dumps(plan_of(resources, config, unknown)))
    result = import_plan(str(path))
    topology = load_topology("defaults.yaml", render(result, str(path)))
    (table,) = result.data["transit_gateways"][0]["route_tables"]
    assert table["name"] == "default"
    assert table["associations"] == ["a", "b"]
    assert table["propagations"] == ["a"]  # b opted out of propagation
    group = next(g for g in result.data["vpcs"][0]["security_groups"] if g["name"] == "quiet")
    assert group["egress"] == []
    out = verdict(topology, "one", "two")
    assert (out.accepted, out.reason) == (False, "sg-egress")
