"""The live plan of a design's sites (``vpclab.layout.hybrid``): who speaks BGP with whom, on
which addresses, announcing what; every configuration it gives the daemons parses."""

from pathlib import Path

from test_bgp_configs import parses
from vpc_fixtures import load

from vpclab.layout.bgp import BIRD, FRR, bird_config, frr_config
from vpclab.layout.hybrid import aws_announcements, aws_speakers, peerings, site_speaker
from vpclab.layout.names import Names

DESIGN = (Path(__file__).resolve().parents[2] / "topologies" / "hybrid.yaml").read_text()


def test_each_bgp_tunnel_and_link_is_a_session_with_awss_end_first_on_its_30():
    topology = load(DESIGN)
    found = [
        (p.name, p.aws_address, p.site_address, p.aws_asn, p.site_asn, p.preference)
        for p in peerings(topology)
    ]
    assert found == [
        ("dc1-vpn tunnel 1", "169.254.10.1", "169.254.10.2", 64513, 65010, 110),
        ("dc1-vpn tunnel 2", "169.254.10.5", "169.254.10.6", 64513, 65010, 100),
        ("dx1", "169.254.10.17", "169.254.10.18", 64600, 65010, 200),
    ]  # dc2's static VPN carries no session


def test_the_speakers_announce_what_aws_and_the_site_announce_and_their_configurations_parse(tmp_path):
    topology = load(DESIGN)
    names = Names(topology.name)
    site = site_speaker(topology, names, topology.hybrid.site("dc1"), 30)
    assert (site.daemon, site.announce, [n.address for n in site.neighbors]) == (
        BIRD,
        ("172.16.0.0/16",),
        ["169.254.10.1", "169.254.10.5", "169.254.10.17"],
    )
    speakers = {s.name: s for s in aws_speakers(topology, names, 30)}
    assert sorted(speakers) == ["aws-dc1-vpn", "aws-dx1"]
    assert speakers["aws-dx1"].announce == ("10.0.0.0/16", "10.1.0.0/16")  # the allowed prefixes
    # a TGW's: its attachment's table (onprem) propagates both VPCs
    assert speakers["aws-dc1-vpn"].announce == ("10.0.0.0/16", "10.1.0.0/16")
    assert aws_announcements(topology, "dc2-vpn") == ("10.1.0.0/16",)  # a VGW's VPC
    assert parses(bird_config(site, str(tmp_path / "log")), BIRD, tmp_path).returncode == 0
    for speaker in speakers.values():
        assert speaker.daemon == FRR
        assert parses(frr_config(speaker, str(tmp_path / "log")), FRR, tmp_path).returncode == 0
