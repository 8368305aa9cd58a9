"""The peering lifecycle at run time (issue 31, item 2): the seed's steps one at a time —
request, accept, a route on each side, an SG rule — each a change Hyperplane compiles as a
fresh compile would, with trace's verdict moving only when AWS's would."""

import textwrap

import pytest
import yaml
from fakeswitch import FakeFabric, connection
from test_shell import FakeEmulation, shell
from vpc_fixtures import verdict

from controller.compiler import compile_topology, recompile
from vpclab.intent.changes import ChangeError, Intent

TWO_ACCOUNTS = """
    name: two-owners
    accounts: [{name: shop, id: "111111111111"}, {name: data, id: "333333333333"}]
    regions: [{name: us-east-1}, {name: eu-west-1}]
    servers: [{name: us, region: us-east-1}, {name: eu, region: eu-west-1}]
    vpcs:
      - name: web
        account: shop
        cidr: 10.1.0.0/16
        subnets: [{name: s, cidr: 10.1.1.0/24}]
        security_groups: [{name: web-sg, egress: [{protocol: all, cidr: 0.0.0.0/0}]}]
        instances: [{name: web1, subnet: s, security_groups: [web-sg]}]
      - name: db
        account: data
        region: eu-west-1
        cidr: 10.2.0.0/16
        subnets: [{name: s, cidr: 10.2.1.0/24}]
        security_groups: [{name: db-sg}]
        instances: [{name: db1, subnet: s, security_groups: [db-sg]}]
"""
STEPS = [  # (operation, arguments, does web1 reach db1 on 5432 afterwards?)
    ("request-peering", {"peering": "web-db", "requester": "web", "accepter": "db"}, False),
    (
        "add-route",
        {"vpc": "web", "table": "main", "destination": "10.2.0.0/16", "target": "peering", "name": "web-db"},
        False,
    ),
    (
        "add-route",
        {"vpc": "db", "table": "main", "destination": "10.1.0.0/16", "target": "peering", "name": "web-db"},
        False,
    ),
    (
        "add-sg-rule",
        {
            "security_group": "db-sg",
            "direction": "ingress",
            "rule": {"protocol": "tcp", "ports": 5432, "cidr": "10.1.0.0/16"},
        },
        False,
    ),
    ("accept-peering", {"peering": "web-db"}, True),
    ("delete-peering", {"peering": "web-db"}, False),
]


def test_each_step_of_the_seed_changes_what_aws_would_and_compiles_as_a_fresh_compile():
    intent = Intent("two-owners.yaml", yaml.safe_load(textwrap.dedent(TWO_ACCOUNTS)))
    compiled = compile_topology(intent.topology)
    reasons = []
    for operation, arguments, reaches in STEPS:
        topology = intent.apply(operation, **arguments)
        compiled = recompile(compiled, topology).compiled
        fresh = compile_topology(topology)
        for server in fresh.flows:
            assert sorted(compiled.flows[server], key=repr) == sorted(fresh.flows[server], key=repr), (
                operation
            )
        found = verdict(topology, "web1", "db1", "tcp", 5432)
        assert found.accepted == reaches, (operation, found.reason)
        accepted, _, origin = connection(FakeFabric(compiled), "web1", "db1", 6, 5432)
        assert (accepted, origin) == (reaches, None if reaches else found.rule), operation
        reasons.append(found.reason)
    # pending: the route is a blackhole; then no route back; then db-sg; then it flows; then deleted
    assert reasons == ["no-route", "blackhole", "blackhole", "blackhole", None, "blackhole"]


def test_a_peering_is_accepted_or_rejected_only_while_it_is_pending():
    intent = Intent("two-owners.yaml", yaml.safe_load(textwrap.dedent(TWO_ACCOUNTS)))
    intent.apply("request-peering", peering="web-db", requester="web", accepter="db")
    assert intent.apply("reject-peering", peering="web-db").peering("web-db").status == "rejected"
    with pytest.raises(
        ChangeError, match="peering 'web-db' is rejected: only a pending-acceptance one can be accepted"
    ):
        intent.apply("accept-peering", peering="web-db")
    with pytest.raises(ChangeError, match="a peering named 'web-db' already exists"):
        intent.apply("request-peering", peering="web-db", requester="web", accepter="db")
    with pytest.raises(ChangeError, match="across Regions"):  # an inter-Region peer's SG cannot be named
        intent.apply("request-peering", peering="again", requester="db", accepter="web")
        intent.apply(
            "add-sg-rule",
            security_group="db-sg",
            direction="ingress",
            rule={"protocol": "tcp", "ports": 5432, "security_group": "web-sg"},
        )


def test_the_shell_walks_the_lifecycle_verb_by_verb():
    emulation = FakeEmulation("peering.yaml")
    text = shell(
        emulation,
        "peering-request prod-dev2 prod dev",
        "peering-accept prod-dev2",  # refused: prod-dev is active (AWS allows one per pair)
        "peering-delete prod-dev",
        "peering-accept prod-dev2",
        "route-add prod prod-rt 10.1.2.0/24 peering prod-dev2",
        "route-remove prod prod-rt 10.1.2.0/24",
        "peering-reject",
        "attachment-accept core",
    )
    applied = ["request-peering", "delete-peering", "accept-peering", "add-route", "remove-route"]
    assert [c[0] for c in emulation.api.changes] == applied
    assert "'prod' and 'dev' already have an active peering 'prod-dev' (AWS allows one)" in text
    assert "Usage: peering-reject NAME" in text and "Usage: attachment-accept TGW ATTACHMENT" in text
