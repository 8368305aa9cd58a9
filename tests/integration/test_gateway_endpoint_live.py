"""A gateway endpoint live (issue 31, item 4): topologies/gateway-endpoint.yaml with real
packets. The emulated S3 answers HTTP on every address of its block; batch1 reaches it
through the endpoint and S3 sees batch1's private address; web1 reaches it over the internet
and S3 sees its public IP; worker1, behind a transit gateway, gets nothing. (verify on the
same design: tests/integration/test_verify.py.)"""

import pytest
from live_helpers import serve_http, topology

from nitro_switch.emulation import Emulation

pytestmark = pytest.mark.live
quiet = lambda line: None
S3 = "192.0.2.10"  # not the host's own address (.1): the service answers for its whole block


@pytest.fixture(scope="module")
def design():
    with Emulation(topology("gateway-endpoint.yaml"), log=quiet) as emulation:
        yield emulation


def curl(host, url: str) -> str:
    return host.cmd(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' {url}").strip()


def test_s3_sees_the_private_address_through_the_endpoint_and_the_public_ip_without(design):
    hosts = design.hosts.hosts
    server = serve_http(hosts["s3-us-east-1"], 443)
    try:
        assert curl(hosts["batch1"], f"http://{S3}:443/") == "200"
        assert curl(hosts["web1"], f"http://{S3}:443/") == "200"
        assert curl(hosts["worker1"], f"http://{S3}:443/") == "000"  # not through data's endpoint
        # the VPC's resolver answers S3's public name (a bucket's too) with the emulated S3
        assert curl(hosts["batch1"], "http://reports.s3.us-east-1.amazonaws.com:443/") == "200"
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[1]
    clients = [line.split()[0] for line in log.splitlines() if '"GET / ' in line]
    web1 = design.topology.instance("web1")
    assert clients == ["10.0.2.4", str(web1.public_ip), "10.0.2.4"], log


def test_sqs_answers_through_its_interface_endpoint_by_its_private_dns_name(design):
    """The interface endpoint's network interface answers as SQS; the data VPC's resolver
    gives sqs.us-east-1.amazonaws.com its address (private DNS); the spoke's does not."""
    hosts = design.hosts.hosts
    server = serve_http(hosts["sqs-ep-private"], 443)
    try:
        assert curl(hosts["batch1"], "http://sqs.us-east-1.amazonaws.com:443/") == "200"
        assert curl(hosts["worker1"], "http://sqs.us-east-1.amazonaws.com:443/") == "000"
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[1]
    assert [line.split()[0] for line in log.splitlines() if '"GET / ' in line] == ["10.0.2.4"], log
