"""The VPC resolver: private hosted zones in the YAML, what each VPC's resolver answers, the
card's flows that take a query to the card's resolver and its answer back, the resolver's
DNS messages, and trace to a DNS name."""

from __future__ import annotations

import os
from dataclasses import replace

import dns.message
import dns.rcode
import pytest
import yaml
from fakeswitch import FakeFabric, instance_packet

from agents.resolver import RunningDesign, answer
from controller.compiler import compile_topology
from vpclab.intent.changes import Intent
from vpclab.intent.dns import resolve
from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import topology_from_data
from vpclab.layout.plan import METADATA_PORT, RESOLVER_STAND_IN
from vpclab.ui.arguments import UsageError, dns_lookup, resolve_destination
from vpclab.verify.live import Result, expected_answer
from vpclab.verify.plan import plan
from vpclab.verify.report import mismatch_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DESIGN = os.path.join(ROOT, "topologies", "private-dns.yaml")


def design() -> dict:
    with open(DESIGN, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def topology(data=None):
    return topology_from_data("t.yaml", data or design())


def problems(data: dict) -> list[str]:
    with pytest.raises(TopologyError) as error:
        topology_from_data("t.yaml", data)
    return [f"{problem.path}: {problem.message}" for problem in error.value.problems]


# -- the YAML ----------------------------------------------------------------------------------
def test_zones_take_relative_full_and_apex_names():
    zone = topology().hosted_zones[0]
    assert [(r.name, r.type, r.values) for r in zone.records] == [
        ("db.corp.internal", "A", ("10.0.2.4",)),
        ("api.corp.internal", "CNAME", ("web1.vpclab.internal",)),
        ("corp.internal", "TXT", ("owner=platform-team",)),
    ]
    assert topology().vpc("legacy").dns_support is False and topology().vpc("prod").dns_support


@pytest.mark.parametrize(
    "edit, said",
    [
        (lambda z: z["vpcs"].append("nope"), "no VPC 'nope'"),
        (lambda z: z["records"].append({"name": "x", "type": "A", "values": ["db1"]}), "an IPv4 address"),
        (
            lambda z: z["records"].append({"name": "x", "type": "CNAME", "values": ["a.b", "c.d"]}),
            "one value",
        ),
        (lambda z: z.update(name="bad_name.internal"), "not a DNS name"),
        (lambda z: z["vpcs"].append("prod"), "already has a private zone corp.internal"),
        (lambda z: z["records"].append({"name": "x", "type": "MX", "values": ["a"]}), "expected 'A'"),
    ],
)
def test_a_wrong_zone_is_refused(edit, said):
    data = design()
    edit(data["private_hosted_zones"][0])
    assert any(said in line for line in problems(data)), problems(data)


# -- what each resolver answers ------------------------------------------------------------------
def test_a_private_zone_answers_only_in_its_vpcs():
    found = resolve(topology(), "prod", "DB.corp.internal.")
    assert found.rcode == "NOERROR" and [r.values for r in found.records] == [("10.0.2.4",)]
    assert resolve(topology(), "dev", "db.corp.internal").rcode == "NXDOMAIN"


def test_cnames_are_followed_and_types_kept_apart():
    found = resolve(topology(), "prod", "api.corp.internal")
    assert [(r.type, r.values[0]) for r in found.records] == [
        ("CNAME", "web1.vpclab.internal"),
        ("A", "10.0.1.4"),
    ]
    assert [r.type for r in resolve(topology(), "prod", "api.corp.internal", "CNAME").records] == ["CNAME"]
    assert [r.values for r in resolve(topology(), "prod", "corp.internal", "TXT").records] == [
        ("owner=platform-team",)
    ]
    empty = resolve(topology(), "prod", "corp.internal", "A")
    assert (empty.rcode, empty.records) == ("NOERROR", ())
    assert resolve(topology(), "prod", "nope.corp.internal").rcode == "NXDOMAIN"


def test_instance_names_yaml_names_anywhere_hostnames_in_their_own_vpc():
    assert resolve(topology(), "dev", "web1.vpclab.internal").records[0].values == ("10.0.1.4",)
    assert resolve(topology(), "prod", "ip-10-0-1-4.ec2.internal").records[0].values == ("10.0.1.4",)
    assert resolve(topology(), "dev", "ip-10-0-1-4.ec2.internal").rcode == "NXDOMAIN"
    pointer = resolve(topology(), "prod", "4.1.0.10.in-addr.arpa", "PTR").records
    assert [r.values for r in pointer] == [("ip-10-0-1-4.ec2.internal",)]
    assert resolve(topology(), "dev", "4.1.0.10.in-addr.arpa", "PTR").rcode == "NXDOMAIN"
    data = design()
    data["dns_domain"] = "Lab.Example."
    assert resolve(topology(data), "dev", "web1.lab.example").records[0].values == ("10.0.1.4",)


def test_a_cname_loop_ends():
    data = design()
    data["private_hosted_zones"][0]["records"] = [
        {"name": "a", "type": "CNAME", "values": ["b.corp.internal"]},
        {"name": "b", "type": "CNAME", "values": ["a.corp.internal"]},
    ]
    found = resolve(topology(data), "prod", "a.corp.internal")
    assert found.rcode == "NOERROR" and len(found.records) == 8


# -- trace to a DNS name: resolved as the instance's resolv.conf would --------------------------
def test_trace_resolves_as_the_instance_would():
    t = topology()
    web1, build1, old1 = (t.instance(n) for n in ("web1", "build1", "old1"))
    assert str(resolve_destination(t, "db.corp.internal", web1)) == "10.0.2.4"
    assert str(resolve_destination(t, "build1", web1)) == "10.1.1.4"  # an instance name first
    assert str(resolve_destination(t, "ip-10-1-1-4", build1)) == "10.1.1.4"  # the search list
    assert "(CNAME api.corp.internal -> web1.vpclab.internal)" in dns_lookup(t, "api.corp.internal", web1)[1]
    with pytest.raises(UsageError, match="does not resolve in VPC dev"):
        resolve_destination(t, "db.corp.internal", build1)
    with pytest.raises(UsageError, match="enable_dns_support: false"):
        resolve_destination(t, "web1.vpclab.internal", old1)


# -- the card's flows ---------------------------------------------------------------------------
def test_the_card_takes_a_query_to_its_resolver_and_the_answer_back():
    compiled = compile_topology(topology())
    plan, fabric = compiled.plan, FakeFabric(compiled)
    web1 = plan.instances["web1"]
    for asked, there in (("10.0.0.2", str(RESOLVER_STAND_IN)), ("169.254.169.253", "169.254.169.253")):
        card, query = instance_packet(plan, "web1", asked, 17, 53, 40000)
        (delivered,) = fabric.send(card, query).delivered
        assert delivered[:2] == (card, METADATA_PORT)
        assert (delivered[2]["ipv4_src"], delivered[2]["ipv4_dst"]) == (str(web1.link_local), there)
        reply = {
            "in_port": METADATA_PORT,
            "eth_type": 0x0800,
            "ipv4_src": there,
            "ipv4_dst": str(web1.link_local),
            "ip_proto": 17,
            "udp_src": 53,
            "udp_dst": 40000,
        }
        (back,) = fabric.send(card, reply).delivered
        assert back[:2] == (card, web1.port) and back[2]["ipv4_src"] == asked
        assert back[2]["ipv4_dst"] == "10.0.1.4"
    card, over_tcp = instance_packet(plan, "web1", "10.0.0.2", 6, 53, 40001)  # DNS over TCP too
    (delivered,) = fabric.send(card, over_tcp).delivered
    assert delivered[:2] == (card, METADATA_PORT) and delivered[2]["ipv4_dst"] == str(RESOLVER_STAND_IN)
    card, query = instance_packet(plan, "old1", "10.2.0.2", 17, 53, 40000)  # no resolver in legacy
    assert not any(port == METADATA_PORT for _, port, _ in fabric.send(card, query).delivered)
    card, ping = instance_packet(plan, "web1", "10.0.0.2", 1)  # the resolver takes DNS only
    assert not any(port == METADATA_PORT for _, port, _ in fabric.send(card, ping).delivered)


def test_arp_answers_for_the_resolver_in_its_subnet_only_with_dns_support():
    data = design()
    for support, answered in ((False, 0), (True, 1)):
        data["vpcs"][2]["enable_dns_support"] = support
        compiled = compile_topology(topology(data))
        arp = [
            f
            for flows in compiled.flows.values()
            for f in flows
            if f.stage == "arp" and dict(f.match).get("arp_tpa") == "10.2.0.2"
        ]
        assert len({f.match for f in arp}) == answered


# -- the resolver's messages ---------------------------------------------------------------------
def running(tmp_path) -> RunningDesign:
    intent_file = str(tmp_path / "intent.json")
    Intent(DESIGN, design()).save(intent_file, [])
    resolver = RunningDesign(intent_file, "srv1")
    resolver.refresh()
    return resolver


def test_the_resolver_answers_its_card_s_instances_from_the_running_design(tmp_path):
    resolver = running(tmp_path)
    web1 = compile_topology(resolver.topology).plan.instances["web1"]
    response = answer(resolver, dns.message.make_query("api.corp.internal", "A"), str(web1.link_local))
    assert response.rcode() == dns.rcode.NOERROR
    assert [rrset.to_text() for rrset in response.answer] == [
        "api.corp.internal. 300 IN CNAME web1.vpclab.internal.",
        "web1.vpclab.internal. 60 IN A 10.0.1.4",
    ]
    txt = answer(resolver, dns.message.make_query("corp.internal", "TXT"), str(web1.link_local))
    assert txt.answer[0].to_text() == 'corp.internal. 300 IN TXT "owner=platform-team"'
    missing = answer(resolver, dns.message.make_query("nope.example", "A"), str(web1.link_local))
    assert missing.rcode() == dns.rcode.NXDOMAIN
    stranger = answer(resolver, dns.message.make_query("db.corp.internal", "A"), "169.254.9.9")
    assert stranger.rcode() == dns.rcode.REFUSED  # not one of this card's instances
    assert sorted(resolver.askers.values()) == ["legacy", "prod"]  # srv1 carries web1 and old1


# -- verify asks every resolver --------------------------------------------------------------------
def test_verify_asks_each_source_s_resolver_and_knows_the_answers():
    t = topology()
    asked = [p for p in plan(t).probes if p.kind == "dns"]
    by_source = {(p.source, p.query): p for p in asked}
    assert {p.source for p in asked} == {"web1", "db1", "build1", "old1"}
    assert {str(p.address) for p in asked if p.source == "build1"} == {"10.1.0.2"}
    web1_db, build1_db = by_source["web1", "db.corp.internal"], by_source["build1", "db.corp.internal"]
    assert expected_answer(t, web1_db) == "NOERROR 10.0.2.4"
    assert expected_answer(t, by_source["web1", "api.corp.internal"]) == "NOERROR 10.0.1.4"
    assert expected_answer(t, build1_db) == "NXDOMAIN"
    assert expected_answer(t, by_source["old1", "db.corp.internal"]) is None  # no resolver there
    assert expected_answer(t, by_source["web1", "nobody.vpclab.internal"]) == "NXDOMAIN"
    wrong = Result("dns", "build1", "10.1.0.2", "dns db.corp.internal", None, True, True, None, None,
                   "NOERROR 10.0.2.4", answer_expected="NXDOMAIN")  # fmt: skip
    assert not wrong.agrees
    assert mismatch_line(wrong) == (
        "MISMATCH build1 -> resolver 10.1.0.2 dns db.corp.internal [dns]: "
        "live NOERROR 10.0.2.4, expected NXDOMAIN"
    )
    assert replace(wrong, answered_by="NXDOMAIN").agrees
