"""The BGP daemons' configurations vpclab writes (``vpclab.layout.bgp``), checked by the
daemons' own parsers (vtysh --dryrun for FRR, bird -p for BIRD: no root, nothing started)."""

import subprocess

import pytest

from vpclab.layout.bgp import BIRD, FRR, Neighbor, Speaker, bird_config, frr_config

TUNNELS = (
    Neighbor("169.254.10.2", 65010, "dc1-vpn tunnel 1"),
    Neighbor("169.254.10.6", 65010, "dc1-vpn tunnel 2"),
)
SITE = (
    Neighbor("169.254.10.1", 64512, "dc1-vpn tunnel 1", 110),
    Neighbor("169.254.10.5", 64512, "dc1-vpn tunnel 2"),
    Neighbor("169.254.250.1", 64600, "dx1", 200),
)


def parses(text: str, daemon: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / f"{daemon}.conf"
    path.write_text(text)
    command = ["vtysh", "--dryrun", "-f", str(path)] if daemon == FRR else ["bird", "-p", "-c", str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def test_aws_sides_frr_configuration_parses_and_says_what_the_design_says(tmp_path):
    speaker = Speaker(
        "core-dc1-vpn", "ns", "169.254.10.1", 64513, TUNNELS, ("10.0.0.0/16", "10.1.0.0/16"), FRR, 30
    )
    text = frr_config(speaker, str(tmp_path / "log"))
    checked = parses(text, FRR, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " timers bgp 10 30" in text and " neighbor 169.254.10.6 remote-as 65010" in text
    assert "  network 10.1.0.0/16" in text and "route-map" not in text  # AWS's side sets no preference


def test_a_sites_bird_configuration_parses_and_prefers_direct_connect(tmp_path):
    speaker = Speaker("dc1", "ns", "169.254.10.2", 65010, SITE, ("172.16.0.0/16",), BIRD, 9)
    text = bird_config(speaker, str(tmp_path / "log"))
    checked = parses(text, BIRD, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert text.count("protocol bgp ") == 3 and "hold time 9; keepalive time 3;" in text
    assert "bgp_local_pref = 200" in text and "bgp_local_pref = 110" in text


@pytest.mark.parametrize("daemon", [FRR, BIRD])
def test_the_parsers_refuse_a_broken_configuration(daemon, tmp_path):
    """The check above can fail: a configuration cut short is refused by each parser."""
    speaker = Speaker("x", "ns", "169.254.10.1", 64512, TUNNELS, ("10.0.0.0/16",), daemon)
    text = (frr_config if daemon == FRR else bird_config)(speaker, str(tmp_path / "log"))
    broken = text.replace("remote-as 65010", "remote-as").replace("as 65010;", "as ;")
    assert parses(broken, daemon, tmp_path).returncode != 0
