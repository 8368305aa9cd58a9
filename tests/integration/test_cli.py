"""The `vpclab` command as a user runs it: exit codes, output formats, no tracebacks."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from live_helpers import live

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))


def vpclab(*args, cwd=ROOT):
    command = shutil.which("vpclab", path=str(Path(sys.executable).parent)) or "vpclab"
    return subprocess.run([command, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60)


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=lambda p: p.name)
def test_check_accepts_every_example(topology):
    result = vpclab("check", topology)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{topology}: ok: topology ")


def test_check_reports_every_error_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nvpcs:\n  - name: prod\n    cidr: 10.0.0.0/16\n    subnets:\n"
        "      - {name: web, cidr: 10.1.0.0/24}\n      - {name: db, cidr: 10.0.0.0/33}\n"
    )
    result = vpclab("check", bad)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{bad}:6: vpcs[0].subnets[0].cidr: 10.1.0.0/24 is not inside the VPC CIDR 10.0.0.0/16",
        f"{bad}:7: vpcs[0].subnets[1].cidr: '10.0.0.0/33' is not an IPv4 CIDR (like 10.0.0.0/16)",
    ]


def test_check_of_a_missing_file_exits_2(tmp_path):
    result = vpclab("check", tmp_path / "nope.yaml")
    assert result.returncode == 2 and "cannot read the file" in result.stderr


def test_trace_json_follows_the_contract():
    result = vpclab(
        "trace", "topologies/three-tier.yaml", "app1", "db1", "--protocol", "tcp", "--port", "5432", "--json"
    )
    verdict = json.loads(result.stdout)
    assert result.returncode == 1
    assert set(verdict) == {"verdict", "reason", "direction", "hops", "rule", "ports_failing", "path_mtu"}
    assert verdict["path_mtu"] == {"bytes": 9001, "set_by": "app1's interface"}
    assert (verdict["verdict"], verdict["reason"], verdict["direction"]) == (
        "dropped",
        "nacl-egress",
        "return",
    )
    assert verdict["rule"] == "vpcs[0].nacls[2].egress[*]"
    assert verdict["ports_failing"] == "32768-49151"


def test_trace_human_output_is_one_line_per_hop():
    result = vpclab("trace", "topologies/peering.yaml", "build1", "web1", "--port", "443")
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert lines[0].split()[:2] == ["forward", "source-check"]
    assert lines[-1] == "ACCEPTED (admitted by vpcs[0].security_groups[0].ingress[0])"


def test_trace_to_an_ip_and_with_a_pinned_source_port():
    result = vpclab(
        "trace",
        "topologies/three-tier.yaml",
        "app1",
        "10.20.3.4",
        "--port",
        "5432",
        "--source-port",
        "50000",
        "--json",
    )
    assert json.loads(result.stdout)["verdict"] == "accepted"


@pytest.mark.parametrize(
    "args, message",
    [
        (["nobody", "web1"], "no instance, internet host or site host 'nobody'"),
        (["web1", "web2", "--protocol", "tcp"], "needs --port"),
        (["web1", "web2", "--port", "80", "--protocol", "icmp"], "tcp and udp only"),
        (["web1", "not-an-ip"], "neither an instance"),
    ],
)
def test_trace_usage_errors_exit_2(args, message):
    result = vpclab("trace", "topologies/peering.yaml", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@live
def test_the_shell_survives_faults_and_says_when_a_fault_is_repeated(tmp_path):
    script = tmp_path / "session.cli"
    script.write_text(
        "\n".join(
            [
                "fail nitro srv2",
                "flows srv2 classify",
                "fail nitro srv2",
                "recover nitro srv2",
                "recover nitro srv2",
                "fail link srv1",
                "fail link srv1",
                "recover link srv1",
                "web2 ping -c 1 -W 3 10.1.1.4",
                "flows web2 --hits",
                "where web2",
                "fail controller",
                "fail controller",
                "trace web1 build1",
                "recover controller",
                "recover controller",
                "sg web1",
                "srv1 ovs-ofctl -O OpenFlow13 dump-flows br-int table=0",
            ]
        )
        + "\n"
    )
    result = vpclab("up", ROOT / "topologies" / "peering.yaml", "--script", script)
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert "Traceback" not in out + result.stderr
    expected = [
        "*** srv2's Nitro card: failed",
        "*** srv2's Nitro card is down: recover nitro srv2",
        "*** srv2's Nitro card is already failed",
        "*** srv2's Nitro card: recovered",
        "*** srv2's Nitro card is already up",
        "*** srv1's underlay link: failed",
        "*** srv1's underlay link is already failed",
        "*** srv1's underlay link: recovered",
        ", about web2, moved since the last look",
        "<- prod/web2  (vpcs[0].instances[1])  [",
        "card port  web2 (ofport 1)",
        "*** controller killed",
        "*** the controller is already down",
        "(controller unreachable: showing the design last applied to the cards)",
        "*** controller restarted; cards reconciled to the running design",
        "*** the controller is already up",
        "prod/web-sg [vpcs[0].security_groups[0]]",  # what `sg web1` prints
        "*** tearing down",
    ]
    positions = [out.find(line) for line in expected]
    assert all(p >= 0 for p in positions), [
        line for line, p in zip(expected, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions), "\n".join(
        f"{p} {line}" for line, p in zip(expected, positions, strict=True)
    )
    assert "1 received" in result.stderr  # Mininet prints node commands' output on stderr
    assert "priority=0 actions=drop" in result.stderr  # a server is a node: its own OVS


@live
def test_a_terminated_verify_tears_its_emulation_down():
    """`kill PID` on a running `vpclab verify` (or fuzz, experiment) leaves nothing behind."""
    import signal
    import time

    from live_helpers import leftovers

    from vpclab.layout.names import Names

    command = shutil.which("vpclab", path=str(Path(sys.executable).parent)) or "vpclab"
    topology = ROOT / "topologies" / "three-tier.yaml"
    process = subprocess.Popen(
        [command, "verify", str(topology)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    for line in process.stdout:
        if "probes from" in line:  # up, listeners started, probing
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    short = Names("three-tier").short
    assert leftovers(short) == {"namespaces": [], "interfaces": []}
    assert not Path("/run/vpclab/three-tier").exists()


@live
def test_the_demo_opens_the_tour_design_and_its_suggestions_say_true(tmp_path):
    """`make demo`: the packaged tour design live; each suggested verb does what the banner says."""
    from vpclab.ui.cli import DEMO_TRY

    script = tmp_path / "demo.cli"
    script.write_text("\n".join(command for command, _ in DEMO_TRY) + "\n")
    result = vpclab("demo", "--script", script)
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert "Traceback" not in result.stderr
    assert out.startswith("*** vpclab demo: 'peering', two VPCs joined by a peering")
    assert all(command in out for command, _ in DEMO_TRY)
    after_banner = out.split("*** up in", 1)[1] + result.stderr  # Mininet's CLI says host output there
    pings = [line for line in after_banner.splitlines() if "packets transmitted" in line]
    assert len(pings) == 2 and " 1 received" in pings[0] and " 0 received" in pings[1], pings
    assert "sg_ingress" in after_banner and "<- prod/web-sg" in after_banner  # the counted drop
    assert "ACCEPTED (admitted by" in after_banner  # trace build1 web1 tcp 443
    assert "*** tearing down" in out


@live
def test_a_region_link_breaks_traffic_between_regions_and_not_within_one(tmp_path):
    """topologies/tgw-peering.yaml: us-east-1 and us-west-2, each its own underlay bridge joined to
    the backbone by its Region-to-Region link. shop1 and stock1 (us-east-1) go on talking when
    us-west-2's link fails; shop1 reaches ledger1 (us-west-2, over the TGW peering) only while
    the link is up. A capture on us-west-2's server shows the cross-Region packets as VXLAN
    with the VNI of the VPC they are for (issue 31: capture across Regions)."""
    script = tmp_path / "regions.cli"
    ledger, stock = "10.2.1.4", "10.3.1.4"
    pcap = tmp_path / "west.pcap"
    script.write_text(
        "\n".join(
            [
                f"shop1 ping -c 1 -W 3 {ledger}",
                f"shop1 ping -c 5 -i 0.2 {ledger} > /dev/null &",
                f"capture west 1.5 {pcap}",
                "fail link region us-west-2",
                "fail link region us-west-2",
                f"shop1 ping -c 1 -W 2 {ledger}",
                f"shop1 ping -c 1 -W 3 {stock}",
                "recover link region us-west-2",
                f"shop1 ping -c 1 -W 3 {ledger}",
                "fail link region mars-1",
            ]
        )
        + "\n"
    )
    result = vpclab("up", ROOT / "topologies" / "tgw-peering.yaml", "--script", script)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "*** Region us-west-2: underlay" in out
    pings = [line for line in out.splitlines() if "packets transmitted" in line]
    assert [" 1 received" in line for line in pings] == [True, False, True, True], pings
    assert "*** Region us-west-2's link to the other Regions: failed" in out
    assert "*** Region us-west-2's link to the other Regions is already failed" in out
    assert "*** Region us-west-2's link to the other Regions: recovered" in out
    assert "*** no Region link 'mars-1'" in out
    captured = next(line for line in out.splitlines() if line.startswith(f"{pcap}: "))
    assert "VXLAN VNI" in captured and "(VPC ledger)" in captured and "ICMP" in captured, captured
