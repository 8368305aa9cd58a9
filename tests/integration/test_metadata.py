"""The instance metadata service live (issue 11, item 5): each card answers its own instances
at 169.254.169.254, IMDSv1 and v2 tokens, http_tokens: required, and the token response's
TTL really is the hop limit: a container one hop behind the instance gets no token at limit 1.
"""

import json

import pytest
from live_helpers import topology

from nitro_switch.emulation import Emulation

pytestmark = pytest.mark.live
quiet = lambda line: None
IMDS = "http://169.254.169.254"
TOKEN = f"curl -s -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {IMDS}/latest/api/token"


@pytest.fixture(scope="module")
def breach():
    with Emulation(topology("breach-2019.yaml"), log=quiet) as emulation:
        yield emulation


def get(host, path: str, token: str = "") -> tuple[str, str]:
    """(HTTP status, body) of a GET of the metadata service from ``host``."""
    header = f"-H 'X-aws-ec2-metadata-token: {token}'" if token else ""
    out = host.cmd(f"curl -s -m 3 {header} -w '\\n%{{http_code}}' {IMDS}{path}")
    body, _, status = out.replace("\r", "").strip().rpartition("\n")
    return status, body


def test_imdsv1_tells_an_instance_about_itself_and_hands_out_its_roles_credentials(breach):
    hosts, waf = breach.hosts.hosts, breach.topology.instance("waf")
    assert get(hosts["waf"], "/latest/meta-data/") == (
        "200",
        "hostname\niam/\ninstance-id\nlocal-ipv4\nmac\nplacement/\npublic-ipv4",
    )
    assert get(hosts["waf"], "/latest/meta-data/local-ipv4") == ("200", str(waf.ip))
    assert get(hosts["waf"], "/latest/meta-data/public-ipv4") == ("200", str(waf.public_ip))
    assert get(hosts["waf"], "/latest/meta-data/placement/availability-zone") == ("200", "a")
    assert get(hosts["waf"], "/latest/meta-data/iam/security-credentials/") == ("200", "waf-role")
    status, body = get(hosts["waf"], "/latest/meta-data/iam/security-credentials/waf-role")
    credentials = json.loads(body)
    assert status == "200" and credentials["AccessKeyId"].startswith("ASIAFAKEVPCLAB")
    assert "not-a-real-secret" in credentials["SecretAccessKey"]


def test_each_card_answers_only_its_own_instances(breach):
    hosts = breach.hosts.hosts
    relaxed = breach.topology.instance("relaxed")  # on srv-b: its own card's service answers
    token = hosts["relaxed"].cmd(TOKEN).strip()
    assert get(hosts["relaxed"], "/latest/meta-data/local-ipv4", token) == ("200", str(relaxed.ip))
    assert get(hosts["attacker"], "/latest/meta-data/")[0] == "000"  # the internet: nothing


def test_imdsv2_required_refuses_a_request_without_a_valid_token(breach):
    hardened = breach.hosts.hosts["hardened"]
    assert get(hardened, "/latest/meta-data/")[0] == "401"
    assert get(hardened, "/latest/meta-data/", token="forged")[0] == "401"
    token = hardened.cmd(TOKEN).strip()
    assert get(hardened, "/latest/meta-data/instance-id", token)[0] == "200"
    forwarded = hardened.cmd(
        f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' -X PUT -H 'X-Forwarded-For: 192.0.2.66' "
        f"-H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {IMDS}/latest/api/token"
    )
    assert forwarded.strip() == "403"  # what a proxy forwards never gets a token


def test_the_token_response_ttl_is_the_hop_limit(breach):
    """One routed hop behind the instance (a container), the token arrives only if the hop
    limit allows it; IMDSv1 answers carry a normal TTL and get through."""
    one_hop = breach.hosts.add_container("hardened", "hard-c")
    two_hops = breach.hosts.add_container("relaxed", "relax-c")
    assert one_hop.cmd(f"{TOKEN} >/dev/null; echo $?").strip() == "28"  # timed out: TTL 0
    assert len(two_hops.cmd(TOKEN).strip()) > 20
    waf_container = breach.hosts.add_container("waf", "waf-c")
    status, body = get(waf_container, "/latest/meta-data/iam/security-credentials/waf-role")
    assert status == "200" and "ASIAFAKEVPCLAB" in body  # IMDSv1: no token, no hop limit
