"""The instance metadata service (issue 11, item 5) without root: the loader's options, the
card's flows (fake switch) that alone connect an instance to its card's service, and the HTTP
service itself on the loopback."""

import http.client
import json
import threading

import pytest
from fakeswitch import FakeFabric, instance_packet
from vpc_fixtures import example, problems

from agents.metadata import MetadataServer, documents
from controller.compiler import compile_topology
from vpclab.layout.plan import METADATA_PORT


def test_metadata_options_default_to_awss_and_are_checked():
    topology = example("breach-2019.yaml")
    waf, hardened = topology.instance("waf"), topology.instance("hardened")
    assert (waf.metadata.http_tokens, waf.metadata.http_put_response_hop_limit) == ("optional", 1)
    assert hardened.metadata.http_tokens == "required" and hardened.iam_role == "waf-role"
    text = (
        open(topology.source)
        .read()
        .replace("http_tokens: required, http_put_response_hop_limit: 2", "http_tokens: always")
    )
    assert any("http_tokens" in line for line in problems(text))


def test_only_the_cards_flows_join_an_instance_and_its_metadata_service():
    topology = example("breach-2019.yaml")
    fabric = FakeFabric(compile_topology(topology))
    plan = fabric.compiled.plan
    waf = plan.instances["waf"]
    card, request = instance_packet(plan, "waf", "169.254.169.254", 6, 80, 40000)
    ((at_card, port, arrived),) = fabric.send(card, request).delivered
    assert (at_card, port, arrived["ipv4_src"]) == ("srv-a", METADATA_PORT, str(waf.link_local))
    answer = {
        **request,
        "in_port": METADATA_PORT,
        "ipv4_src": "169.254.169.254",
        "ipv4_dst": str(waf.link_local),
    }
    answer.update(tcp_src=80, tcp_dst=40000, eth_src="02:00:00:00:a9:fe")
    ((at_card, port, back),) = fabric.send("srv-a", answer).delivered
    assert (port, back["ipv4_dst"], back["ipv4_src"]) == (waf.port, str(waf.instance.ip), "169.254.169.254")
    # the internet, and a spoofed source, reach no metadata service
    card, outside = instance_packet(plan, "attacker", "169.254.169.254", 6, 80, 40000)
    assert not fabric.send(card, outside).delivered
    card, spoofed = instance_packet(plan, "waf", "169.254.169.254", 6, 80, 40000, ipv4_src="10.50.1.99")
    assert not fabric.send(card, spoofed).delivered


@pytest.fixture
def service():
    """The srv-a service of breach-2019, with waf's document on 127.0.0.1 (the loopback)."""
    from vpclab.layout.plan import Plan

    plan = Plan(example("breach-2019.yaml"))
    found = documents(plan, "srv-a")
    by_name = {document["name"]: document for document in found.values()}
    server = MetadataServer(("127.0.0.1", 0), {"127.0.0.1": by_name["waf"]})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, by_name
    server.shutdown()


def request(server, method: str, path: str, headers=None) -> tuple[int, str]:
    connection = http.client.HTTPConnection(*server.server_address, timeout=5)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_imdsv1_and_v2_as_on_ec2(service):
    server, by_name = service
    assert request(server, "GET", "/latest/meta-data/instance-id") == (200, by_name["waf"]["instance-id"])
    status, body = request(server, "GET", "/latest/meta-data/iam/security-credentials/waf-role")
    assert status == 200 and json.loads(body)["AccessKeyId"].startswith("ASIAFAKEVPCLAB")
    assert request(server, "GET", "/latest/meta-data/nothing")[0] == 404
    assert request(server, "PUT", "/latest/api/token")[0] == 400  # no TTL header
    ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    assert request(server, "PUT", "/latest/api/token", {**ttl, "X-Forwarded-For": "192.0.2.66"})[0] == 403
    status, token = request(server, "PUT", "/latest/api/token", ttl)
    assert status == 200
    assert request(server, "GET", "/latest/meta-data/mac", {"X-aws-ec2-metadata-token": token})[0] == 200
    assert request(server, "GET", "/latest/meta-data/mac", {"X-aws-ec2-metadata-token": "x"})[0] == 401
    server.documents["127.0.0.1"] = by_name["hardened"]  # http_tokens: required
    assert request(server, "GET", "/latest/meta-data/")[0] == 401
    server.documents.clear()
    assert request(server, "GET", "/latest/meta-data/")[0] == 403  # not one of the card's instances
