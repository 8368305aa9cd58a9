"""An SG rule naming a group admits traffic from the network interfaces that carry the group
(AWS), not from the group's addresses. It matters for instances without source/destination
check: an appliance sending from an address not its own is still its group's member, and a
packet it forwards for someone else is its own, not the original sender's. The cards learn the
sending interface's MAC (``SENDER``: the inner source MAC over the tunnel); trace follows the interface
(issue 33, item 6: the cards used to look the group up by source address and dropped)."""

import textwrap
from ipaddress import IPv4Address

import pytest
from designs import SPOOFING, middlebox_by_group
from fakeswitch import FakeFabric, assert_cards_decide_like_trace, exchange, instance_packet
from vpc_fixtures import load, verdict

from controller.compiler import compile_topology
from vpclab.layout.pipeline import SENDER

FOREIGN = IPv4Address("10.29.1.6")  # nobody's address, in their subnet


@pytest.mark.parametrize("servers, web_server", [(1, 1), (2, 2)], ids=["one card", "over the tunnel"])
def test_an_appliance_sending_from_a_foreign_address_is_still_its_groups_member(servers, web_server):
    topology = load(textwrap.dedent(SPOOFING.format(servers=servers, web_server=web_server)))
    traced = verdict(topology, "fw", "web", "tcp", 50755, source_ip=FOREIGN)
    assert traced.delivered_to == "web"
    sg = next(hop for hop in traced.hops if hop.stage == "sg-ingress")
    assert (sg.result, sg.object) == ("pass", "vpcs[0].security_groups[default].ingress[0]"), sg
    assert "sg v/default" in sg.detail  # the default SG's rule naming itself
    fabric = FakeFabric(compile_topology(topology))
    plan = fabric.compiled.plan
    web = plan.instances["web"]
    card, packet = instance_packet(plan, "fw", str(web.instance.ip), 6, 50755, 40000, ipv4_src=str(FOREIGN))
    outcome = fabric.send(card, packet)
    assert [(server, port) for server, port, _ in outcome.delivered] == [(web.instance.server, web.port)]
    # web receives it from fw's MAC, though routing (to the IGW's router) never took place
    assert [seen["eth_src"] for _, _, seen in outcome.delivered] == [plan.instances["fw"].mac]


def test_a_checked_instance_names_no_sender_and_a_spoofed_packet_gets_no_group():
    """web (checked) cannot send from another address at all; the default SG's members are
    otherwise known by address, so nothing it sends carries a sender id."""
    topology = load(textwrap.dedent(SPOOFING.format(servers=2, web_server=2)))
    fabric = FakeFabric(compile_topology(topology))
    plan = fabric.compiled.plan
    fw = plan.instances["fw"]
    outcome = fabric.send(*instance_packet(plan, "web", str(fw.instance.ip), 6, 22, 40000))
    assert [port for _, port, _ in outcome.delivered] == [fw.port]
    assert all(not seen.get(SENDER) for _, _, seen in outcome.delivered)
    assert [seen["eth_src"] for _, _, seen in outcome.delivered] == [plan.instances["web"].mac]


def _middlebox(db_admits: str):
    return load(textwrap.dedent(middlebox_by_group(db_admits)))


@pytest.mark.parametrize("db_admits, accepted", [("web-sg", False), ("fw-sg", True)])
def test_what_an_appliance_forwards_counts_as_the_appliances(db_admits, accepted):
    """AWS: the interface that delivers the packet is fw1's, so a rule naming the original
    sender's group no longer matches it after the appliance; one naming fw1's does."""
    topology = _middlebox(db_admits)
    traced = verdict(topology, "web1", "db1", "tcp", 5432)
    assert [hop.stage for hop in traced.hops].count("appliance") >= 1
    assert traced.accepted is accepted, traced.reason
    if not accepted:
        assert (traced.reason, traced.direction) == ("sg-ingress", "forward")
    fabric = FakeFabric(compile_topology(topology))
    db1 = str(topology.instance("db1").ip)
    assert exchange(fabric, "web1", db1, 6, 5432)[0] is accepted
    assert_cards_decide_like_trace(topology)  # every other pair, ping and tcp/80


def test_past_an_internet_gateway_the_appliance_is_no_member():
    """fw reaching web's public IP leaves through the IGW and comes back from the internet:
    web sees fw's public address and no interface (AWS), so a rule naming fw's group does not
    admit it; the internet gateway's translation forgets the sender on the cards too."""
    text = textwrap.dedent(SPOOFING.format(servers=2, web_server=2))
    text = text.replace(
        "{name: web, subnet: pub, server: srv2}",
        "{name: web, subnet: pub, server: srv2, public_ip: true, security_groups: [web-sg]}",
    )
    text = text.replace(
        "public_ip: true, server: srv1}", "public_ip: true, server: srv1, security_groups: [fw-sg]}"
    )
    text += (
        "    security_groups:\n"
        "      - {name: fw-sg, ingress: [{protocol: all, cidr: 10.29.0.0/16}]}\n"
        "      - {name: web-sg, ingress: [{protocol: all, security_group: fw-sg}]}\n"
    )
    topology = load(text)
    web = topology.instance("web")
    assert verdict(topology, "fw", "web", "tcp", 80).accepted  # privately: fw's interface
    public = verdict(topology, "fw", str(web.public_ip), "tcp", 80)
    assert (public.accepted, public.reason) == (False, "sg-ingress")
    fabric = FakeFabric(compile_topology(topology))
    assert exchange(fabric, "fw", str(web.ip), 6, 80)[0]
    assert not exchange(FakeFabric(fabric.compiled), "fw", str(web.public_ip), 6, 80)[0]
    assert_cards_decide_like_trace(topology)
