"""A VPN connection's two tunnels (issue 32): VXLAN between the site's and AWS's outside
addresses, AWS's inside /30s and MTU, one BGP session over each (FRR on AWS's side, BIRD on the
site's); one tunnel going down leaves the other carrying the routes."""

import subprocess

import pytest
from live_helpers import joined_namespaces, live, remove_namespaces, wait_until

from nitro_switch import tunnels
from nitro_switch.bgp import BgpDaemon
from nitro_switch.commands import run
from vpclab.layout.bgp import BIRD, FRR, Neighbor, Speaker

pytestmark = live
HOLD = 3
TWO = (0, 1)  # the connection's tunnels, from 0
AWS_NS, SITE_NS = "vpclab-vpntest-aws", "vpclab-vpntest-site"
AWS_OUT, SITE_OUT = "203.0.113.10", "198.51.100.50"


def preferred(n: int) -> int:
    """The site's local preference for tunnel n + 1: the first is preferred."""
    return 110 - n * 10


def ends(netns, local, remote, side):
    return [
        tunnels.TunnelEnd(netns, f"vpn-t{n}", 100 + n, local, remote, f"169.254.10.{4 * (n - 1) + side}/30")
        for n in (1, 2)
    ]


@pytest.fixture
def connection(tmp_path):
    joined_namespaces(AWS_NS, SITE_NS, "vpnt-aws", "vpnt-site")
    run("ip", "addr", "add", f"{AWS_OUT}/32", "dev", "vpnt-aws", netns=AWS_NS)
    run("ip", "addr", "add", f"{SITE_OUT}/32", "dev", "vpnt-site", netns=SITE_NS)
    for ns, dev, peer in ((AWS_NS, "vpnt-aws", SITE_OUT), (SITE_NS, "vpnt-site", AWS_OUT)):
        run("ip", "link", "set", dev, "up", netns=ns)
        run("ip", "route", "add", f"{peer}/32", "dev", dev, netns=ns)  # the internet, in short
    run("ip", "addr", "add", "10.0.0.1/16", "dev", "lo", netns=AWS_NS)
    run("ip", "addr", "add", "172.16.0.1/16", "dev", "lo", netns=SITE_NS)
    aws_ends, site_ends = ends(AWS_NS, AWS_OUT, SITE_OUT, 1), ends(SITE_NS, SITE_OUT, AWS_OUT, 2)
    tunnels.create(aws_ends)
    tunnels.create(site_ends)
    aws = BgpDaemon(
        Speaker(
            "aws", AWS_NS, "169.254.10.1", 64512,
            tuple(Neighbor(f"169.254.10.{4 * n + 2}", 65010, f"tunnel {n + 1}") for n in (0, 1)),
            ("10.0.0.0/16",), FRR, HOLD,
        ),
        str(tmp_path),
    )  # fmt: skip
    site = BgpDaemon(
        Speaker(
            "site", SITE_NS, "169.254.10.2", 65010,
            tuple(Neighbor(f"169.254.10.{4 * n + 1}", 64512, f"tunnel {n + 1}", preferred(n)) for n in TWO),
            ("172.16.0.0/16",), BIRD, HOLD,
        ),
        str(tmp_path),
    )  # fmt: skip
    try:
        aws.start()
        site.start()
        yield aws, site, site_ends
    finally:
        for daemon in (aws, site):
            daemon.stop()
        remove_namespaces(AWS_NS, SITE_NS)


def paths(daemon) -> list:
    return sorted(r.next_hop for r in daemon.learned() if r.prefix == "172.16.0.0/16")


def test_two_tunnels_carry_a_bgp_session_each_at_awss_inside_mtu(connection):
    aws, site, _ = connection
    wait_until(lambda: paths(aws) == ["169.254.10.2", "169.254.10.6"], 15)
    assert aws.sessions() == {"169.254.10.2": "Established", "169.254.10.6": "Established"}
    wait_until(lambda: [r.prefix for r in site.learned()] == ["10.0.0.0/16"], 5)
    assert "dev vpn-t1" in run("ip", "route", "get", "10.0.1.4", netns=SITE_NS)  # tunnel 1 preferred
    best = next(r for r in aws.learned() if r.best)  # AWS's side forwards by what it learned
    run("ip", "route", "replace", best.prefix, "via", best.next_hop, netns=AWS_NS)
    ping = ["ping", "-c1", "-W1", "-M", "do", "-I", "172.16.0.1", "-s"]
    assert (
        subprocess.run(
            ["ip", "netns", "exec", SITE_NS, *ping, "1418", "10.0.0.1"], capture_output=True
        ).returncode
        == 0
    )
    too_big = subprocess.run(["ip", "netns", "exec", SITE_NS, *ping, "1419", "10.0.0.1"], capture_output=True)
    assert too_big.returncode != 0  # 1447 bytes do not fit the tunnel (AWS: 1446)
    rules = run("nft", "list", "table", "inet", "vpclab_vpn_clamp", netns=SITE_NS)
    assert "maxseg size set 1406" in rules


def test_a_tunnel_down_leaves_the_other_carrying_the_routes(connection):
    aws, site, site_ends = connection
    wait_until(lambda: len(paths(aws)) == 2, 15)
    tunnels.set_up(site_ends[0], False)
    gone = wait_until(lambda: paths(aws) == ["169.254.10.6"], HOLD + 2)
    assert gone <= HOLD + 1
    wait_until(lambda: "dev vpn-t2" in run("ip", "route", "get", "10.0.1.4", netns=SITE_NS), HOLD + 2)
    tunnels.set_up(site_ends[0], True)
    wait_until(lambda: len(paths(aws)) == 2, 10)
