"""The destination's NACLs run on the destination's card, told of the path by the VNI."""

from fakeswitch import FakeFabric, connection, instance_packet
from vpc_fixtures import load, verdict

from controller.compiler import compile_topology
from vpclab.layout.pipeline import TunnelKey

DESIGN = """
name: rx
servers: [{name: srv1, az: a}, {name: srv2, az: a}]
vpcs:
  - name: left
    cidr: 10.1.0.0/16
    subnets: [{name: l, cidr: 10.1.1.0/24}]
    route_tables:
      - {name: rt, main: true, routes: [{destination: 10.2.0.0/16, transit_gateway: core}]}
    security_groups:
      - {name: all, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
    instances: [{name: client, subnet: l, server: srv1, security_groups: [all]}]
  - name: right
    cidr: 10.2.0.0/16
    subnets:
      - {name: att, cidr: 10.2.0.0/28, nacl: att-nacl}
      - {name: app, cidr: 10.2.1.0/24, nacl: app-nacl}
    route_tables:
      - {name: rt, main: true, routes: [{destination: 10.1.0.0/16, transit_gateway: core}]}
    security_groups:
      - {name: open, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
    nacls:
      - name: att-nacl
        ingress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]
        egress:
          - {rule: 90, protocol: tcp, ports: 22, cidr: 0.0.0.0/0, action: deny}
          - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
      - name: app-nacl
        ingress:
          - {rule: 90, protocol: icmp, cidr: 10.1.0.0/16, action: deny}
          - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
        egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]
    instances:
      - {name: server, subnet: app, server: srv2, security_groups: [open]}
      - {name: beside, subnet: app, server: srv2, security_groups: [open]}
transit_gateways:
  - name: core
    attachments:
      - {name: left-att, vpc: left, subnets: [l]}
      - {name: right-att, vpc: right, subnets: [att]}
    route_tables:
      - {name: all, associations: [left-att, right-att], propagations: [left-att, right-att]}
"""


def test_the_exit_attachment_and_destination_nacls_drop_on_the_receiving_card():
    topology = load(DESIGN)
    fabric = FakeFabric(compile_topology(topology))
    for protocol, port, stage in ((6, 22, "nacl_tgw_exit"), (1, None, "nacl_dst_ingress")):
        expected = verdict(topology, "client", "server", {6: "tcp", 1: "icmp"}[protocol], port)
        server, packet = instance_packet(fabric.compiled.plan, "client", "10.2.1.4", protocol, port, 40000)
        outcome = fabric.send(server, packet)
        assert not expected.accepted and not outcome.delivered
        assert outcome.dropped_at[:2] == ("srv2", stage)
        assert fabric.origin(outcome.dropped_at[2]) == expected.rule


def test_the_vni_carries_the_vpc_and_the_attachment_subnet_a_tgw_delivered_through():
    topology = load(DESIGN)
    compiled = compile_topology(topology)
    fabric = FakeFabric(compiled)
    assert connection(fabric, "client", "server", 6, 80) == (True, "return", None)
    outcome = fabric.send(*instance_packet(compiled.plan, "client", "10.2.1.4", 6, 80, 40001))
    exit_subnet = compiled.plan.attachment_subnet_id[("right", "att")]
    vni, _ = TunnelKey.match(VPC=topology.vpc("right").number, EXIT_SUBNET=exit_subnet)
    assert outcome.tunnelled == [("srv1", "srv2", vni)]


def test_inside_one_subnet_no_nacl_applies_on_either_card():
    topology = load(
        DESIGN.replace("{name: beside, subnet: app, server: srv2", "{name: beside, subnet: app, server: srv1")
    )
    compiled = compile_topology(topology)
    fabric = FakeFabric(compiled)
    assert connection(fabric, "beside", "server", 1) == (True, "return", None)  # app-nacl denies only left
    outcome = fabric.send(*instance_packet(compiled.plan, "beside", "10.2.1.4", 1))
    same, _ = TunnelKey.match(VPC=topology.vpc("right").number, SAME_SUBNET=1)
    assert outcome.tunnelled == [("srv1", "srv2", same)]


def test_a_card_holds_only_the_nacls_of_its_own_vpcs_subnets_and_of_the_entry_subnets():
    compiled = compile_topology(load(DESIGN))
    # srv1 (only 'left' instances) meets the right VPC's NACLs only where a packet enters the
    # TGW from it (a hairpin through 'right' could); never its destination-side ones
    sending = {f.stage for f in compiled.flows["srv1"] if f.origin.startswith("vpcs[1].nacls")}
    assert sending == {"nacl_tgw_entry"}
    receiving = {f.stage for f in compiled.flows["srv2"] if f.origin.startswith("vpcs[1].nacls")}
    assert {"nacl_tgw_exit", "nacl_dst_ingress"} <= receiving


def test_the_vni_has_room_for_every_vpc_and_attachment_subnet_a_design_may_have():
    from vpclab.intent.model import MAX_ATTACHMENT_SUBNETS, MAX_VPCS

    assert TunnelKey.match(VPC=MAX_VPCS, EXIT_SUBNET=MAX_ATTACHMENT_SUBNETS, SAME_SUBNET=1)[1] < 1 << 24
