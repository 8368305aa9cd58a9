# ruff: noqa: E501  (the YAML edits of a variant read best on one line)
"""TGW peering attachments (issue 31, item 3): two TGWs of two Regions and accounts joined by a
peering, static routes on both sides, paths through both TGWs; what AWS refuses; and the
compiled cards deciding every pair as trace does, in each state of the peering."""

from pathlib import Path

import pytest
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, connection
from vpc_fixtures import load, problems, verdict

from controller.compiler import compile_topology

DESIGN = (Path(__file__).resolve().parents[2] / "topologies" / "tgw-peering.yaml").read_text()


def variant(old: str, new: str) -> str:
    assert old in DESIGN, old
    return DESIGN.replace(old, new)


def test_a_packet_crosses_the_peering_and_the_far_tgw_route_table_decides():
    topology = load(DESIGN)
    found = verdict(topology, "shop1", "ledger1", "tcp", 5432)
    assert found.accepted
    stages = [(h.direction, h.stage, h.at) for h in found.hops if h.stage.startswith("tgw")]
    assert stages == [
        ("forward", "tgw-route", "tgw east-tgw/east-rt"),
        ("forward", "tgw-peering", "tgw east-tgw/peering east-west"),
        ("forward", "tgw-route", "tgw west-tgw/west-rt"),
        ("return", "tgw-route", "tgw west-tgw/west-rt"),
        ("return", "tgw-peering", "tgw west-tgw/peering east-west"),
        ("return", "tgw-route", "tgw east-tgw/east-rt"),
    ]
    assert found.path_mtu == (8500, "transit gateway east-tgw")
    back = verdict(topology, "stock1", "ledger1", "icmp")  # west-tgw routes back to shop only
    assert (back.accepted, back.reason, back.direction, back.rule) == (
        False,
        "tgw-no-route",
        "return",
        "transit_gateways[1].route_tables[0]",
    )


@pytest.mark.parametrize("status", ["pending-acceptance", "rejected", "deleted"])
def test_a_peering_that_is_not_active_is_a_blackhole_on_both_sides(status):
    topology = load(
        variant(
            "{name: east-west, requester: east-tgw, accepter: west-tgw}",
            f"{{name: east-west, requester: east-tgw, accepter: west-tgw, status: {status}}}",
        )
    )
    dropped = verdict(topology, "shop1", "ledger1", "tcp", 5432)
    assert (dropped.accepted, dropped.reason, dropped.rule) == (
        False,
        "tgw-blackhole",
        "transit_gateway_peerings[0]",
    )
    assert_cards_decide_like_trace(topology)


def test_a_far_end_with_no_route_table_and_a_second_crossing_are_dropped():
    unassociated = load(variant("associations: [ledger-att, to-east]", "associations: [ledger-att]"))
    dropped = verdict(unassociated, "shop1", "ledger1", "tcp", 5432)
    assert (dropped.reason, dropped.rule) == ("tgw-no-route", "transit_gateways[1].attachments[1]")
    assert_cards_decide_like_trace(unassociated)
    # west-tgw sends stock's CIDR back over the peering: a packet crosses one peering at most
    bounce = load(
        variant(
            "routes: [{destination: 10.1.0.0/16, attachment: to-east}]",
            "routes: [{destination: 10.1.0.0/16, attachment: to-east}, {destination: 10.3.0.0/16, attachment: to-east}]",
        )
    )
    assert verdict(bounce, "stock1", "ledger1", "icmp").accepted
    looped = load(
        variant(
            "routes: [{destination: 10.2.0.0/16, attachment: to-west}]",
            "routes: [{destination: 10.2.0.0/16, attachment: to-west}, {destination: 10.9.0.0/16, attachment: to-west}]",
        ).replace(
            "routes: [{destination: 10.1.0.0/16, attachment: to-east}]",
            "routes: [{destination: 10.1.0.0/16, attachment: to-east}, {destination: 10.9.0.0/16, attachment: to-east}]",
        )
    )
    twice = verdict(looped, "shop1", "10.9.0.5", "icmp")
    assert (twice.reason, twice.rule) == ("tgw-no-route", "transit_gateways[1].route_tables[0].routes[1]")
    assert_cards_decide_like_trace(looped)


def test_the_cards_carry_a_connection_over_the_peering_and_drop_the_return_trace_drops():
    fabric = FakeFabric(compile_topology(load(DESIGN)))
    assert connection(fabric, "shop1", "ledger1", 6, 5432)[:2] == (True, "return")
    accepted, direction, origin = connection(FakeFabric(fabric.compiled), "stock1", "ledger1", 1)
    assert (accepted, direction, origin) == (False, "return", "transit_gateways[1].route_tables[0]")


def test_what_aws_refuses_of_a_tgw_peering_is_named():
    propagated = problems(variant("propagations: [ledger-att]", "propagations: [ledger-att, to-east]"))
    assert any(
        "transit_gateways[1].route_tables[0].propagations[1]: 'to-east' is a TGW peering attachment: it "
        "takes static routes only (AWS), no propagation" in line
        for line in propagated
    ), propagated
    missing = problems(
        variant("      - {name: to-east, peering: east-west}\n", "")
        .replace("associations: [ledger-att, to-east]", "associations: [ledger-att]")
        .replace("routes: [{destination: 10.1.0.0/16, attachment: to-east}]", "routes: []")
    )
    assert any(
        "transit_gateway_peerings[0].accepter: transit gateway 'west-tgw' has no attachment for this peering"
        in line
        for line in missing
    ), missing
    stranger = problems(
        variant("{name: to-east, peering: east-west}", "{name: to-east, peering: east-north}")
    )
    assert any("no TGW peering named 'east-north' in 'transit_gateway_peerings'" in line for line in stranger)
    mixed = problems(
        variant("{name: to-east, peering: east-west}", "{name: to-east, peering: east-west, vpc: ledger}")
    )
    assert any(
        "a TGW peering attachment has no 'vpc' (it attaches a TGW, not a VPC)" in line for line in mixed
    )
