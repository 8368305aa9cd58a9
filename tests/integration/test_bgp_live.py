"""Real BGP daemons (issue 32): FRR's bgpd on AWS's side and BIRD 2 on a site's router, each in
a namespace of its own, talk over a link; what each learned is read back as data, and a link
that fails takes the routes away after the hold time, as BGP does."""

import os

import pytest
from live_helpers import joined_namespaces, live, remove_namespaces, wait_until

from nitro_switch.bgp import BgpDaemon
from nitro_switch.commands import run
from vpclab.layout.bgp import BIRD, FRR, Neighbor, Speaker

pytestmark = live
HOLD = 3  # seconds: short timers for a test (AWS's are 30)
AWS_NS, SITE_NS = "vpclab-bgptest-aws", "vpclab-bgptest-site"


@pytest.fixture
def link(tmp_path):
    joined_namespaces(AWS_NS, SITE_NS, "bgpt-aws", "bgpt-site")
    run("ip", "addr", "add", "169.254.10.1/30", "dev", "bgpt-aws", netns=AWS_NS)
    run("ip", "addr", "add", "169.254.10.2/30", "dev", "bgpt-site", netns=SITE_NS)
    run("ip", "addr", "add", "172.16.0.1/16", "dev", "lo", netns=SITE_NS)  # the site's own network
    for ns, end in ((AWS_NS, "bgpt-aws"), (SITE_NS, "bgpt-site")):
        run("ip", "link", "set", end, "up", netns=ns)
    aws = BgpDaemon(
        Speaker(
            "aws",
            AWS_NS,
            "169.254.10.1",
            64512,
            (Neighbor("169.254.10.2", 65010, "dx1"),),
            ("10.0.0.0/16",),
            FRR,
            HOLD,
        ),
        str(tmp_path),
    )
    site = BgpDaemon(
        Speaker(
            "site",
            SITE_NS,
            "169.254.10.2",
            65010,
            (Neighbor("169.254.10.1", 64512, "dx1", 200),),
            ("172.16.0.0/16",),
            BIRD,
            HOLD,
        ),
        str(tmp_path),
    )
    try:
        yield aws, site
    finally:
        for daemon in (aws, site):
            daemon.stop()
        remove_namespaces(AWS_NS, SITE_NS)


def test_frr_and_bird_exchange_what_each_announces_and_the_kernel_forwards_by_it(link):
    aws, site = link
    aws.start()
    site.start()
    wait_until(lambda: aws.sessions().get("169.254.10.2") == "Established", 10)
    wait_until(lambda: any(r.prefix == "172.16.0.0/16" and r.best for r in aws.learned()), 5)  # selected too
    (heard,) = aws.learned()
    assert (heard.prefix, heard.as_path, heard.next_hop, heard.best) == (
        "172.16.0.0/16",
        (65010,),
        "169.254.10.2",
        True,
    )
    wait_until(lambda: [r.prefix for r in site.learned()] == ["10.0.0.0/16"], 5)
    assert site.sessions() == {"169.254.10.1": "Established"}
    route = run("ip", "route", "get", "10.0.1.4", netns=SITE_NS)
    assert "via 169.254.10.1 dev bgpt-site" in route  # BIRD put it in the site's kernel
    with open(site.config, encoding="utf-8") as handle:
        assert "bgp_local_pref = 200" in handle.read()  # the site prefers this link (a DX)


def test_a_failed_link_takes_the_routes_away_after_the_hold_time_and_back_on_repair(link):
    aws, site = link
    aws.start()
    site.start()
    wait_until(lambda: any(r.prefix == "172.16.0.0/16" for r in aws.learned()), 10)
    run("ip", "link", "set", "bgpt-site", "down", netns=SITE_NS)
    gone = wait_until(lambda: not aws.learned(), HOLD + 2)
    assert HOLD - 1.5 <= gone <= HOLD + 1, gone  # BGP's hold time decides, not before
    run("ip", "link", "set", "bgpt-site", "up", netns=SITE_NS)
    back = wait_until(lambda: bool(aws.learned()), 10)
    assert back < 5
    aws.stop()
    site.stop()
    assert aws.pid() is not None and not os.path.exists(f"/proc/{aws.pid()}")
