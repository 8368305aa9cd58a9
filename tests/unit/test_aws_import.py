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
