"""PrivateLink: endpoint services behind an NLB, interface endpoints, their DNS names, the
trace through them, the cards' translations and the NLB's health checks."""

from __future__ import annotations

import copy
import os
from collections import Counter
from ipaddress import IPv4Address

import pytest
import yaml
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange, instance_packet

from controller.compiler import compile_topology, recompile
from controller.compiler.target_checks import target_checks
from controller.hyperplane.ofmsg import packet_out
from controller.hyperplane.target_health import ACK, RST, SYN, TargetHealthManager, segment, tcp_answer
from vpclab.intent.changes import ChangeError, Intent
from vpclab.intent.dns import resolve
from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import topology_from_data
from vpclab.layout.actions import CONTROLLER
from vpclab.oracle.trace import trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAYMENTS = os.path.join(ROOT, "topologies", "payments.yaml")
TCP, ICMP = 6, 1


def design() -> dict:
    with open(PAYMENTS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load(data: dict):
    return topology_from_data("t.yaml", data)


def problems(data: dict) -> list[str]:
    with pytest.raises(TopologyError) as error:
        load(data)
    return [f"{'.'.join(map(str, problem.path))}: {problem.message}" for problem in error.value.problems]


def vpc(data: dict, name: str) -> dict:
    return next(v for v in data["vpcs"] if v["name"] == name)


# -- the YAML ----------------------------------------------------------------------------------
def test_the_nlb_and_the_endpoint_get_addresses_nodes_and_port_blocks():
    topology = load(design())
    balancer = topology.endpoint_service("payments").load_balancer
    assert [(n.subnet, str(n.ip), n.server) for n in balancer.nodes] == [
        ("svc-a", "10.0.1.5", "srv-a"),
        ("svc-b", "10.0.2.5", "srv-b"),
    ]
    endpoint = topology.vpc_endpoint("pay-ep")
    interfaces = [(i.name, str(i.ip), i.node.subnet, i.server, i.nlb_ports) for i in endpoint.interfaces]
    assert interfaces == [
        ("pay-ep/app-a", "10.0.1.5", "svc-a", "srv-a", (1024, 2047)),  # the same address as the node:
        ("pay-ep/app-b", "10.0.2.5", "svc-b", "srv-b", (1024, 2047)),  # the VPCs overlap
    ]
    assert balancer.health_check.interval == 0.5 and balancer.healthy == ("pay1", "pay2")


def test_a_second_consumer_gets_the_next_port_block_at_the_node():
    data = design()
    data["vpcs"].append(
        {
            "name": "shop2",
            "cidr": "10.0.0.0/16",
            "subnets": [{"name": "s2", "cidr": "10.0.1.0/24", "az": "a"}],
            "instances": [{"name": "app3", "subnet": "s2"}],
        }
    )
    data["vpc_endpoints"].append(
        {"name": "pay-ep2", "vpc": "shop2", "service": "payments", "subnets": ["s2"]}
    )
    topology = load(data)
    (interface,) = topology.vpc_endpoint("pay-ep2").interfaces
    assert (str(interface.ip), interface.nlb_ports) == ("10.0.1.5", (2048, 3071))


def edited(change) -> dict:
    data = design()
    change(data)
    return data


@pytest.mark.parametrize(
    "change, said",
    [
        (
            lambda d: d["vpc_endpoints"][0].update(vpc="payments", subnets=["svc-a"]),
            "vpc_endpoints.0.vpc: 'payments' provides 'payments': an endpoint belongs in a consumer VPC",
        ),
        (
            lambda d: d["vpc_endpoints"][0].update(service="pay"),
            "vpc_endpoints.0.service: no endpoint service 'pay'",
        ),
        (
            lambda d: d["endpoint_services"][0]["load_balancer"].update(subnets=["svc-a"], targets=["pay1"]),
            "vpc_endpoints.0.subnets.1: 'payments' is not offered in AZ b (its load balancer's AZs: a)",
        ),
        (
            lambda d: d["endpoint_services"][0]["load_balancer"].update(subnets=["svc-a"]),
            "endpoint_services.0.load_balancer.targets.1: target 'pay2' is in AZ b, where 'pay-nlb' "
            "has no subnet (AWS would leave it unused)",
        ),
        (
            lambda d: d["endpoint_services"][0]["load_balancer"].update(targets=["pay1", "app1"]),
            "endpoint_services.0.load_balancer.targets.1: no instance 'app1' in VPC 'payments' "
            "(targets are the service VPC's instances)",
        ),
        (
            lambda d: d["endpoint_services"][0]["load_balancer"]["listeners"].append({"port": 443}),
            "endpoint_services.0.load_balancer.listeners.1.port: a listener on tcp/443 is already defined",
        ),
        (
            lambda d: d["endpoint_services"][0]["load_balancer"].update(unhealthy_targets=["app1"]),
            "endpoint_services.0.load_balancer.unhealthy_targets.0: 'app1' is not a target of 'pay-nlb'",
        ),
        (
            lambda d: vpc(d, "shop").update(enable_dns_support=False),
            "vpc_endpoints.0.private_dns_enabled: private DNS needs the VPC's DNS support: "
            "'shop' has enable_dns_support: false",
        ),
        (
            lambda d: d["vpc_endpoints"][0].update(subnets=["app-a", "app-a"]),
            "vpc_endpoints.0.subnets.1: subnet 'app-a' is in AZ a, as 'app-a': one subnet per AZ",
        ),
    ],
)
def test_a_wrong_endpoint_or_service_is_refused(change, said):
    assert said in problems(edited(change))


# -- DNS -----------------------------------------------------------------------------------------
def test_the_private_dns_name_answers_in_the_consumer_vpc_only():
    topology = load(design())
    answer = resolve(topology, "shop", "api.payments.example")
    assert (answer.rcode, answer.records[0].values) == ("NOERROR", ("10.0.1.5", "10.0.2.5"))
    assert resolve(topology, "payments", "api.payments.example").rcode == "NXDOMAIN"
    assert resolve(topology, "payments", "pay-ep.vpclab.internal").records[0].values == (
        "10.0.1.5",
        "10.0.2.5",
    )
    data = design()
    data["vpc_endpoints"][0]["private_dns_enabled"] = False
    assert resolve(load(data), "shop", "api.payments.example").rcode == "NXDOMAIN"


# -- trace ---------------------------------------------------------------------------------------
def verdict(topology, source: str, address: str, protocol=TCP, port=443, **options):
    return trace(topology, topology.instance(source), IPv4Address(address), protocol, port, **options)


def test_a_consumer_reaches_the_service_through_its_endpoint():
    topology = load(design())
    found = verdict(topology, "app2", "10.0.1.5")
    assert found.accepted and found.choices == ("pay1", "pay2")
    stages = [(hop.direction, hop.stage, hop.at) for hop in found.hops]
    assert ("forward", "sg-ingress", "pay-ep/app-a") in stages  # the endpoint's own SG
    assert ("forward", "deliver", "pay1") in stages
    balancer = next(h for h in found.hops if h.stage == "load-balancer")
    assert "source 10.0.2.4 -> 10.0.1.5 (ports 1024-2047), destination -> 10.0.1.4:443" in balancer.detail
    back = [hop.detail for hop in found.hops if hop.direction == "return" and hop.stage == "load-balancer"]
    assert back == [
        "pay-nlb translates the reply back: source -> 10.0.1.5 (endpoint pay-ep), "
        "destination -> 10.0.2.4 (app2)"
    ]
    assert verdict(topology, "app1", "10.0.1.5", pick="pay2").delivered_to == "pay2"


@pytest.mark.parametrize(
    "protocol, port, reason, rule",
    [
        (TCP, 80, "sg-ingress", "vpcs[0].security_groups[1]"),  # ep-sg admits 443 only
        (ICMP, None, "sg-ingress", "vpcs[0].security_groups[1]"),
    ],
)
def test_the_endpoints_security_group_applies(protocol, port, reason, rule):
    found = verdict(load(design()), "app1", "10.0.1.5", protocol, port)
    assert (found.accepted, found.reason, found.rule) == (False, reason, rule)


def test_a_port_without_a_listener_is_dropped_at_the_endpoint():
    data = design()
    vpc(data, "shop")["security_groups"][1]["ingress"].append(
        {"protocol": "tcp", "ports": 8443, "cidr": "10.0.0.0/16"}
    )
    found = verdict(load(data), "app1", "10.0.1.5", port=8443)
    assert (found.reason, found.rule) == ("no-listener", "endpoint_services[0].load_balancer")
    assert (
        "pay-nlb has no listener for tcp 10.0.1.4 -> 10.0.1.5:8443 (listeners: tcp/443)"
        in found.hops[-1].detail
    )


def test_the_provider_cannot_open_a_connection_back():
    topology = load(design())
    found = verdict(topology, "pay2", "10.0.1.5")
    assert (found.accepted, found.reason, found.direction) == (False, "endpoint-one-way", "forward")
    assert found.rule == "endpoint_services[0].load_balancer"
    # overlapping CIDRs: from payments, the shop's app1 (10.0.1.4) is payments' own pay1
    assert verdict(topology, "pay2", "10.0.1.4").delivered_to == "pay1"


def test_a_target_that_refuses_the_nlb_fails_the_connection_with_its_name():
    data = design()
    pay2 = vpc(data, "payments")["instances"][1]
    vpc(data, "payments")["security_groups"].append({"name": "closed"})
    pay2["security_groups"] = ["closed"]
    topology = load(data)
    found = verdict(topology, "app1", "10.0.1.5")
    assert (found.accepted, found.reason) == (False, "sg-ingress")
    assert any(h.stage == "sg-ingress" and h.at == "pay2" and h.result == "drop" for h in found.hops)
    assert verdict(topology, "app1", "10.0.1.5", pick="pay1").accepted  # the flow hash may pick pay1


def test_an_sg_reference_on_the_target_does_not_match_behind_the_nlb():
    data = design()
    payments = vpc(data, "payments")
    payments["security_groups"][0]["ingress"] = [
        {"protocol": "tcp", "ports": 443, "security_group": "pay-sg"}
    ]
    found = verdict(load(data), "app1", "10.0.1.5")
    assert (found.accepted, found.reason) == (False, "sg-ingress")  # the source is the NLB's address


def test_unhealthy_targets_get_no_new_connections_and_all_dead_fails_open():
    data = design()
    data["endpoint_services"][0]["load_balancer"]["unhealthy_targets"] = ["pay1"]
    assert verdict(load(data), "app1", "10.0.1.5").choices == ("pay2",)
    data["endpoint_services"][0]["load_balancer"]["unhealthy_targets"] = ["pay1", "pay2"]
    found = verdict(load(data), "app1", "10.0.1.5")
    assert found.choices == ("pay1", "pay2")
    assert "every target is unhealthy: it fails open to all" in next(
        h.detail for h in found.hops if h.stage == "load-balancer"
    )


# -- the cards -------------------------------------------------------------------------------------
def test_the_cards_decide_every_pair_like_trace():
    assert_cards_decide_like_trace(load(design()))
    data = design()
    payments = vpc(data, "payments")
    payments["nacls"] = [
        {
            "name": "svc-nacl",
            "ingress": [
                {"rule": 100, "protocol": "tcp", "ports": 443, "cidr": "10.0.1.5/32", "action": "deny"},
                {"rule": 200, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"},
            ],
            "egress": [{"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}],
        }
    ]
    payments["subnets"][1]["nacl"] = "svc-nacl"  # pay2's subnet refuses the node of AZ a
    assert_cards_decide_like_trace(load(data))


def test_the_flow_hash_spreads_connections_and_the_target_sees_the_nlb():
    compiled = compile_topology(load(design()))
    reached: Counter = Counter()
    for source_port in range(40000, 40064):
        fabric = FakeFabric(compiled)
        card, request = instance_packet(compiled.plan, "app1", "10.0.1.5", TCP, 443, source_port)
        outcome = fabric.send(card, request)
        ((server, _, arrived),) = outcome.delivered
        reached[server] += 1
        assert arrived["ipv4_src"] == "10.0.1.5" and 1024 <= arrived["tcp_src"] <= 2047
        assert exchange(fabric, "app1", "10.0.1.5", TCP, 443, source_port=source_port)[0]
    assert set(reached) == {"srv-a", "srv-b"} and min(reached.values()) > 16, reached


def test_a_health_change_takes_new_connections_off_the_target_as_a_fresh_compile_would():
    intent = Intent(PAYMENTS, design())
    before = compile_topology(intent.topology)
    intent.apply("target-health", load_balancer="pay-nlb", target="pay1", healthy=False, reason="2 failed")
    assert intent.summary == "pay-nlb: pay1 is unhealthy (2 failed)"
    again = recompile(before, intent.topology)
    fresh = compile_topology(intent.topology)
    assert {s: set(again.compiled.flows[s]) for s in fresh.cards} == {
        s: set(fresh.flows[s]) for s in fresh.cards
    }
    assert again.rebuilt < len(fresh.units) / 4
    for source_port in range(40000, 40016):
        assert exchange(FakeFabric(fresh), "app1", "10.0.1.5", TCP, 443, source_port=source_port)[3] == "pay2"
    intent.apply("target-health", load_balancer="pay-nlb", target="pay1", healthy=True)
    assert "unhealthy_targets" not in intent.data["endpoint_services"][0]["load_balancer"]
    with pytest.raises(ChangeError, match="not a target"):
        intent.apply("target-health", load_balancer="pay-nlb", target="app1", healthy=True)


# -- the health checks -----------------------------------------------------------------------------
def test_a_health_check_crosses_the_data_plane_and_its_answer_reaches_the_controller():
    compiled = compile_topology(load(design()))
    check = next(c for c in target_checks(compiled.plan) if c.target == "pay2")
    assert (check.server, str(check.source), str(check.address), check.port) == (
        "srv-a",
        "10.0.1.5",
        "10.0.2.4",
        443,
    )
    fabric = FakeFabric(compiled)
    outcome = fabric.inject(check.server, packet_out(check.actions, segment(check, SYN, 7)))
    ((server, port, arrived),) = outcome.delivered
    assert (server, port) == ("srv-b", compiled.plan.instances["pay2"].port)
    card, answer = instance_packet(
        compiled.plan, "pay2", "10.0.1.5", TCP, check.source_port, 443, tcp_flags=SYN | ACK
    )
    back = fabric.send(card, answer)
    assert [(s, p) for s, p, _ in back.delivered] == [("srv-a", CONTROLLER)]


class Cards:
    """Stands in for Hyperplane: records injected packets; a health mark is a change to the
    running intent, after which the manager follows the new design."""

    def __init__(self):
        self.sent, self.marks = [], []
        self.intent = Intent(PAYMENTS, design())
        self.manager = TargetHealthManager(self.inject, self.mark)
        self.manager.refresh(compile_topology(self.intent.topology))

    def inject(self, server, message) -> bool:
        self.sent.append((server, message))
        return True

    def mark(self, check, healthy, reason) -> None:
        self.marks.append((check.target, healthy, reason))
        self.intent.apply(
            "target-health", load_balancer=check.load_balancer, target=check.target, healthy=healthy
        )
        self.manager.refresh(compile_topology(self.intent.topology))


def reply_to(manager, check, flags: int) -> bytes:
    """The target's answer to the outstanding SYN of ``check``."""
    seq, _ = manager.outstanding[check.key]
    mirrored = copy.copy(check)
    object.__setattr__(mirrored, "source", check.address)
    object.__setattr__(mirrored, "address", check.source)
    object.__setattr__(mirrored, "source_port", check.port)
    object.__setattr__(mirrored, "port", check.source_port)
    frame = bytearray(segment(mirrored, flags, 99))
    frame[42:46] = ((seq + 1) & 0xFFFFFFFF).to_bytes(4, "big")  # the ack number
    return bytes(frame)


def rounds(manager, now: float, pay1_answers) -> float:
    """One health-check round per answer of pay1's (pay2 always accepts), 0.5 s apart."""
    for flags in pay1_answers:
        manager.tick(now)
        for check in list(manager.checks.values()):
            answer = flags if check.target == "pay1" else SYN | ACK
            if answer is not None:
                assert manager.packet_in(reply_to(manager, check, answer), now + 0.001)
        now += 0.5
    return now


def test_the_manager_marks_a_refusing_target_unhealthy_and_back():
    cards = Cards()
    manager = cards.manager
    now = rounds(manager, 0.0, [SYN | ACK, RST, RST])  # refused twice: the threshold is 2
    assert cards.marks == [("pay1", False, "2 health checks in a row failed: connection refused")]
    now = rounds(manager, now, [SYN | ACK] * 3)  # healthy_threshold: 3 accepted, each closed
    assert cards.marks[-1] == ("pay1", True, "3 health checks in a row succeeded")
    assert cards.intent.topology.load_balancer("pay-nlb").healthy == ("pay1", "pay2")
    resets = [tcp_answer(message.data) for _, message in cards.sent if tcp_answer(message.data)[4] == RST]
    assert len(resets) == 4 + 2 * 3  # every accepted check is closed with a RST
    rounds(manager, now, [None, None, None])  # unanswered checks fail too
    assert cards.marks[-1] == ("pay1", False, "2 health checks in a row failed: no answer")
    assert not manager.packet_in(b"\x00" * 20, now)


# -- the experiment ------------------------------------------------------------------------------
def test_the_experiment_measures_from_the_change_log_and_checks_the_removal():
    from experiments.privatelink_failover import check, measure
    from experiments.scenarios.privatelink_failover import SCENARIO

    killed, restarted = 1000.0, 1005.0
    began = killed - 2.9
    calls = [
        {"at": began + n * 0.05, "ok": True, "by": "pay1" if n % 2 else "pay2", "ms": 10} for n in range(60)
    ]
    calls[58] = {
        "at": began + 3.0,
        "ok": False,
        "by": "ConnectionRefusedError",
        "ms": 3,
    }  # 0.1 s after the kill
    calls += [{"at": began + 8.0, "ok": True, "by": "pay2", "ms": 10}]  # after the restart
    changes = [
        {"operation": "target-health", "arguments": {"target": "pay2", "healthy": False}, "time": 1000.6,
         "elapsed_ms": 20, "summary": "pay-nlb: pay2 is unhealthy"},
        {"operation": "target-health", "arguments": {"target": "pay2", "healthy": True}, "time": 1006.5,
         "elapsed_ms": 10, "summary": "pay-nlb: pay2 is healthy"},
    ]  # fmt: skip
    report = measure(SCENARIO, "payments", 1, calls, changes, killed, restarted)
    report["health_check"] = {"interval": 0.5, "unhealthy_threshold": 2, "healthy_threshold": 3}
    assert (report["removed_after"], report["back_after"], report["failed"]) == (0.62, 1.51, 1)
    assert report["last_failure_after"] == 0.1 and report["victim_answers_after_restart"] == 1
    assert check(report) == (True, "the dead target leaves within 2.5 s, and serves again after its restart")
    slow = dict(report, removed_after=3.0)
    assert not check(slow)[0] and "left after 3.0 s" in check(slow)[1]
    late = dict(report, last_failure_after=1.5)
    assert "after the target left" in check(late)[1]
    never_back = dict(report, back_after=None)
    assert "did not serve again" in check(never_back)[1]


def test_trace_resolves_the_private_name_and_the_endpoints_own_name_as_the_consumer_would():
    from vpclab.ui.arguments import dns_lookup

    topology = load(design())
    app1 = topology.instance("app1")
    address, said = dns_lookup(topology, "api.payments.example", app1)
    assert str(address) == "10.0.1.5" and "as VPC shop's resolver answers app1" in said
    assert str(dns_lookup(topology, "pay-ep", app1)[0]) == "10.0.1.5"  # its YAML name, searched
    found = trace(topology, app1, address, TCP, 443)
    assert found.accepted and found.delivered_to in ("pay1", "pay2")


def test_a_change_to_the_endpoints_sg_rebuilds_its_card_as_a_fresh_compile_would():
    intent = Intent(PAYMENTS, design())
    before = compile_topology(intent.topology)
    intent.apply(
        "add-sg-rule",
        security_group="ep-sg",
        direction="ingress",
        rule={"protocol": "tcp", "ports": 8443, "cidr": "10.0.0.0/16"},
    )
    again = recompile(before, intent.topology)
    fresh = compile_topology(intent.topology)
    assert {s: set(again.compiled.flows[s]) for s in fresh.cards} == {
        s: set(fresh.flows[s]) for s in fresh.cards
    }
    found = verdict(intent.topology, "app1", "10.0.1.5", port=8443)
    assert (found.reason, found.rule) == ("no-listener", "endpoint_services[0].load_balancer")
    assert exchange(FakeFabric(again.compiled), "app1", "10.0.1.5", TCP, 8443)[:3] == (
        False,
        "forward",
        "endpoint_services[0].load_balancer",
    )


def test_a_udp_listener_carries_datagrams_both_ways_like_trace():
    data = design()
    data["endpoint_services"][0]["load_balancer"]["listeners"].append(
        {"port": 53, "protocol": "udp", "target_port": 5353}
    )
    vpc(data, "shop")["security_groups"][1]["ingress"].append(
        {"protocol": "udp", "ports": 53, "cidr": "10.0.0.0/16"}
    )
    vpc(data, "payments")["security_groups"][0]["ingress"].append(
        {"protocol": "udp", "ports": 5353, "cidr": "10.0.0.0/16"}
    )
    topology = load(data)
    compiled = compile_topology(topology)
    for source_port in (40000, 40001, 40002, 40003):
        accepted, _, _, reached = exchange(
            FakeFabric(compiled), "app2", "10.0.2.5", 17, 53, source_port=source_port
        )
        assert (
            accepted
            and trace(
                topology, topology.instance("app2"), IPv4Address("10.0.2.5"), 17, 53, pick=reached
            ).accepted
        )
    card, request = instance_packet(compiled.plan, "app2", "10.0.2.5", 17, 53, 40000)
    ((_, _, arrived),) = FakeFabric(compiled).send(card, request).delivered
    assert (arrived["udp_dst"], arrived["ipv4_src"]) == (5353, "10.0.2.5")  # the target port, the NLB


HAIRPIN = """
name: hairpin
servers: [{name: s1, az: a}]
vpcs:
  - name: cons
    cidr: 10.1.0.0/16
    subnets: [{name: c0, cidr: 10.1.1.0/24, az: a}]
    route_tables: [{name: main, main: true, routes: [{destination: 10.2.0.0/16, peering: p}]}]
    security_groups: [{name: epg, ingress: [{protocol: tcp, ports: 443, cidr: 10.0.0.0/8}]}]
    instances: [{name: c1, subnet: c0}]
  - name: prov
    cidr: 10.2.0.0/16
    subnets: [{name: p0, cidr: 10.2.1.0/24, az: a}]
    route_tables: [{name: main, main: true, routes: [{destination: 10.1.0.0/16, peering: p}]}]
    security_groups: [{name: tg, ingress: [{protocol: tcp, ports: 443, cidr: 10.2.0.0/16}]}]
    instances: [{name: t1, subnet: p0, security_groups: [default, tg]}]
peerings: [{name: p, requester: cons, accepter: prov}]
endpoint_services:
  - {name: svc, vpc: prov, load_balancer: {name: nlb, subnets: [p0], listeners: [{port: 443}], targets: [t1]}}
vpc_endpoints: [{name: ep, vpc: cons, service: svc, subnets: [c0], security_groups: [epg]}]
"""


def test_a_target_that_calls_its_own_service_through_an_endpoint_gets_its_call_back():
    """The NLB hands t1's call to t1 itself (found by the fuzzer: OVS skipped the output to the
    port the call came in by, until every output cleared the input port)."""
    topology = load(yaml.safe_load(HAIRPIN))
    found = trace(topology, topology.instance("t1"), IPv4Address("10.1.1.5"), TCP, 443)
    assert found.accepted and found.delivered_to == "t1"
    assert exchange(FakeFabric(compile_topology(topology)), "t1", "10.1.1.5", TCP, 443)[:2] == (
        True,
        "return",
    )
    assert_cards_decide_like_trace(topology)


def test_the_targets_nacl_applies_though_the_consumer_shared_a_subnet_with_the_endpoint():
    """app1 and pay-ep's interface share app-a: no NACL between them. What the NLB node then
    sends to pay2 in another subnet meets svc-b's NACL (the cards used to carry 'same subnet'
    over from the consumer's hop and skip it; `vpclab fuzz`'s seed 150 found it)."""
    data = design()
    balancer = data["endpoint_services"][0]["load_balancer"]
    balancer["targets"] = ["pay2"]
    payments = vpc(data, "payments")
    payments["subnets"][1]["nacl"] = "no-nlb-a"
    payments["nacls"] = [
        {
            "name": "no-nlb-a",
            "ingress": [
                {"rule": 10, "protocol": "all", "cidr": "10.0.1.0/24", "action": "deny"},
                {"rule": 20, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"},
            ],
            "egress": [{"rule": 10, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}],
        }
    ]
    topology = load(data)
    found = verdict(topology, "app1", "10.0.1.5")
    assert (found.accepted, found.reason, found.rule) == (
        False,
        "nacl-ingress",
        "vpcs[1].nacls[0].ingress[0]",
    )
    fabric = FakeFabric(compile_topology(topology))
    assert exchange(fabric, "app1", "10.0.1.5", TCP, 443)[:3] == (False, "forward", found.rule)
    assert_cards_decide_like_trace(topology)
