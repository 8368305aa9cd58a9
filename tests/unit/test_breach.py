"""The imds-ssrf experiment without root: the attacker's tool, the open proxy and the metadata
service on the loopback; and the attribution of a stopped attack to the layer that stopped it,
from evidence (the oracle's trace, the logs), checked against what the scenario expects."""

import json
import socket
import threading

import pytest
from vpc_fixtures import example

from agents import open_proxy
from agents.metadata import MetadataServer, documents
from agents.ssrf_attack import Attack as SsrfAttack
from experiments import catalog
from experiments.breach import HOP_LIMIT, LEAKED, Attack, analyse, check
from experiments.breach_plot import plot_attacks
from vpclab.intent.changes import Intent
from vpclab.layout.plan import Plan
from vpclab.oracle.trace import trace

SCENARIO = catalog.load("imds-ssrf")


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def lab(tmp_path):
    """breach-2019's srv-a metadata service and an open proxy, both on the loopback."""
    found = documents(Plan(example("breach-2019.yaml")), "srv-a")
    by_name = {document["name"]: document for document in found.values()}
    records: list[dict] = []
    imds = serve(MetadataServer(("127.0.0.1", 0), {}, log=lambda line: records.append(json.loads(line))))
    proxy = serve(open_proxy.ProxyServer(("127.0.0.1", 0), str(tmp_path / "proxy.jsonl")))
    yield imds, proxy, by_name, records, tmp_path / "proxy.jsonl"
    imds.shutdown()
    proxy.shutdown()


def attack(imds, proxy) -> dict:
    (proxy_host, proxy_port), (imds_host, imds_port) = proxy.server_address, imds.server_address
    return SsrfAttack(f"{proxy_host}:{proxy_port}", f"http://{imds_host}:{imds_port}").run()


def served(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def network_verdict(intent: Intent, target: str):
    topology = intent.topology
    return trace(topology, topology.endpoint("attacker"), topology.instance(target).public_ip, 6, 80)


def test_imdsv1_hands_the_credentials_to_the_proxy_and_the_report_shows_the_path(lab, tmp_path):
    imds, proxy, by_name, records, log = lab
    imds.documents["127.0.0.1"] = by_name["waf"]
    outcome = attack(imds, proxy)
    assert outcome["role"] == "waf-role" and outcome["leaked"].startswith("ASIAFAKEVPCLAB")
    assert [(s["method"], s["status"]) for s in outcome["steps"]] == [("GET", 200), ("GET", 200)]
    intent = Intent.from_file(example("breach-2019.yaml").source)
    topology = intent.topology
    result = analyse(
        SCENARIO.attacks[0],
        outcome,
        served(log),
        records,
        network_verdict(intent, "waf"),
        intent.data,
        topology.instance("waf"),
    )
    first = result["events"][0]
    assert first["metadata_status"] == 200 and first["proxy_upstream"] == 200
    assert 0 <= first["proxy_received_ms"] <= first["metadata_answered_ms"] <= first["answered_ms"]
    assert result["stopped_by"] is None and result["as_expected"]
    assert result["network_path"][1].startswith("igw-inbound bank/igw-bank")
    report = {"scenario": "imds-ssrf", "topology": "breach-2019", "seed": 0, "attacks": [result]}
    plot_attacks(report, str(tmp_path / "attack.png"))
    assert (tmp_path / "attack.png").stat().st_size > 10_000


def test_imdsv2_alone_does_not_stop_a_proxy_that_forwards_put_and_headers(lab):
    imds, proxy, by_name, records, _ = lab
    imds.documents["127.0.0.1"] = by_name["hardened"]  # required tokens; no hop on the loopback
    outcome = attack(imds, proxy)
    assert [(s["method"], s["status"]) for s in outcome["steps"]] == [
        ("GET", 401),
        ("PUT", 200),
        ("GET", 200),
        ("GET", 200),
    ]
    assert outcome["leaked"].startswith("ASIAFAKEVPCLAB")
    assert [r["ttl"] for r in records if r["method"] == "PUT"] == [1]  # the hop limit, logged


def test_the_site_is_a_site_and_an_unanswered_fetch_is_a_504(lab, monkeypatch):
    _, proxy, _, _, log = lab
    import http.client

    connection = http.client.HTTPConnection(*proxy.server_address, timeout=5)
    connection.request("GET", "/")
    assert connection.getresponse().read() == open_proxy.SITE
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # the handshake completes; nothing is ever answered
    monkeypatch.setattr(open_proxy, "UPSTREAM_TIMEOUT", 0.3)
    connection = http.client.HTTPConnection(*proxy.server_address, timeout=5)
    host, port = silent.getsockname()
    connection.request("PUT", f"http://{host}:{port}/latest/api/token")
    assert connection.getresponse().status == 504
    assert served(log)[-1]["upstream"] == "timed out"
    silent.close()


def events(**last) -> list[dict]:
    first = dict(method="GET", path="/x", proxy_received_ms=1.0, metadata_status=401, proxy_upstream=401)
    return [first, {"method": "PUT", "path": "/latest/api/token", "metadata_ttl": None, **last}]


def blame(attack: Attack, outcome_events: list[dict], intent: Intent, leaked=None) -> dict:
    """``analyse`` on made-up attacker steps and logs that give ``outcome_events``."""
    steps, served_records, answered = [], [], []
    for n, event in enumerate(outcome_events):
        sent = 100.0 + n
        steps.append({"method": event["method"], "path": event["path"], "sent": sent, "answered": sent + 0.5})
        if event.get("proxy_received_ms") is None:
            steps[-1]["error"] = "timed out"
            continue
        steps[-1]["status"] = 504 if event["proxy_upstream"] == "timed out" else event["proxy_upstream"]
        url = "http://169.254.169.254" + event["path"]
        served_records.append(
            dict(
                method=event["method"],
                url=url,
                received=sent + 0.1,
                answered=sent + 0.4,
                upstream=event["proxy_upstream"],
            )
        )
        status, ttl = event.get("metadata_status"), event.get("metadata_ttl")
        answered.append(
            dict(method=event["method"], path=event["path"], time=sent + 0.2, status=status, ttl=ttl)
        )
    outcome = {"steps": steps, "leaked": leaked}
    target = intent.topology.instance(attack.target)
    return analyse(
        attack, outcome, served_records, answered, network_verdict(intent, attack.target), intent.data, target
    )


def test_a_token_that_never_reached_the_proxy_is_blamed_on_the_hop_limit():
    intent = Intent.from_file(example("breach-2019.yaml").source)
    hop_limited = SCENARIO.attacks[1]
    result = blame(
        hop_limited,
        events(proxy_received_ms=1.0, metadata_status=200, metadata_ttl=1, proxy_upstream="timed out"),
        intent,
    )
    assert result["stopped_by"]["layer"] == HOP_LIMIT and result["as_expected"]
    assert result["stopped_by"]["object"] == "bank/hardened metadata_options (http_put_response_hop_limit: 1)"
    # the same evidence where a leak was expected is reported as a failure
    assert check(Attack("x", "hardened", LEAKED), result) == (
        False,
        "expected a leak; blocked by metadata hop limit",
    )
    # a token refused outright (403) is not the hop limit
    refused = blame(
        hop_limited, events(proxy_received_ms=1.0, metadata_status=403, proxy_upstream=403), intent
    )
    assert refused["stopped_by"]["layer"] == "metadata 403" and not refused["as_expected"]


def test_a_request_that_never_reached_the_site_is_blamed_on_the_rule_the_oracle_names():
    intent = Intent.from_file(example("breach-2019.yaml").source)
    narrowed = SCENARIO.attacks[3]
    for operation, arguments in narrowed.changes:
        intent.apply(operation, **arguments)
    lost = [dict(method="GET", path="/latest/meta-data/iam/security-credentials/", proxy_received_ms=None)]
    result = blame(narrowed, lost, intent)
    assert result["stopped_by"]["layer"] == "nacl-ingress" and result["as_expected"]
    assert result["stopped_by"]["object"] == "bank/web-nacl ingress[2]"
    assert "rule 20 deny tcp/80" in result["stopped_by"]["detail"]
    # with the NACL as written, the oracle lets the attacker in: a lost request is unexplained
    plain = Intent.from_file(example("breach-2019.yaml").source)
    unexplained = blame(narrowed, lost, plain)
    assert unexplained["stopped_by"]["layer"] == "unexplained" and not unexplained["as_expected"]
