"""verify on designs that fooled it: reused addresses, and replies routed to another VPC."""

import textwrap

from live_helpers import live

from agents.launch import Process, command
from vpclab.intent.loader import load_topology
from vpclab.verify import report, verify

pytestmark = live
quiet = lambda line: None

TWIN_VPCS = """
    name: twins
    servers: 2
    vpcs:
      - name: blue
        cidr: 10.7.0.0/16
        subnets: [{name: s, cidr: 10.7.1.0/24}]
        security_groups: [{name: blue-sg, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}]
        instances:
          - {name: b1, subnet: s, security_groups: [blue-sg]}
          - {name: b2, subnet: s, security_groups: [blue-sg]}
      - name: green
        cidr: 10.7.0.0/16
        subnets: [{name: s, cidr: 10.7.1.0/24}]
        security_groups: [{name: green-sg, ingress: [{protocol: tcp, ports: 22, cidr: 10.7.0.0/16},
                                                      {protocol: icmp, cidr: 10.7.0.0/16}]}]
        instances:
          - {name: g1, subnet: s, security_groups: [green-sg]}
"""


def design(tmp_path, text):
    path = tmp_path / "design.yaml"
    path.write_text(textwrap.dedent(text))
    return load_topology(str(path))


def test_two_copies_of_one_vpc_are_isolated_and_verify_agrees(tmp_path):
    """b1 and g1 are both 10.7.1.4: b1's probes to g1 leave b1 as frames and die there."""
    topology = design(tmp_path, TWIN_VPCS)
    assert topology.instance("b1").ip == topology.instance("g1").ip
    verification = verify(topology, log=quiet)
    results = verification.results
    assert verification.agrees, report(verification, False)
    to_twin = [r for r in results if (r.source, r.target) == ("b1", "g1")]
    assert to_twin and all(r.frames and not r.live for r in to_twin)
    assert any(r.live for r in results if (r.source, r.target) == ("b1", "b2"))


def test_every_tcp_probe_through_a_tgw_hub_agrees_under_verifys_burst(tmp_path):
    """16 instances in 4 VPCs behind one TGW, every pair probed at once: before, every SYN and
    SYN-ACK through the TGW made a round trip to Hyperplane for its MSS clamp and a retry reused
    a closing connection's tuple; 9 of 1,792 probes disagreed here (766 at 4 x 8). Then, about
    one run in ten, a source's DNS queries were lost on both tries: the cards' sockets overflowed."""
    import yaml
    from designs import tgw_hub

    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump(tgw_hub(4, 4, 2)))
    topology = load_topology(str(path))
    verification = verify(topology, log=quiet)
    assert verification.agrees, report(verification, False)
    # before the cards' port sockets got their receive buffers (nitro_switch.buffers), the
    # burst overflowed them: 17-104 packets a socket, a DNS query lost on both tries
    assert verification.lost == 0, report(verification, False)
    across = [r for r in verification.results if r.kind == "port" and r.source[1] != r.target[1] and r.live]
    assert len(across) == 4 * 4 * 12  # every instance reaches the 12 of the other VPCs on tcp/443


def test_a_reply_routed_to_another_vpc_is_a_drop_live_and_in_trace(tmp_path):
    from designs import HUB_WITH_TWIN_SPOKES

    topology = design(tmp_path, HUB_WITH_TWIN_SPOKES)
    verification = verify(topology, log=quiet)
    results = verification.results
    assert verification.agrees, report(verification, False)
    c2_to_hub = [r for r in results if (r.source, r.target) == ("c2", "hub1") and r.kind != "spoofed"]
    assert c2_to_hub and not any(r.live for r in c2_to_hub)
    assert all(r.reason == "reply-misrouted" for r in c2_to_hub)
    assert any(r.live for r in results if (r.source, r.target) == ("a0", "hub1"))


def test_other_protocols_and_every_port_segment_agree_live(tmp_path):
    """GRE is answered in kind where an SG allows protocol 47; replies to client ports
    40000-50000 die at a NACL; both sides of every cut are probed."""
    from designs import GRE_AND_PORT_RANGES

    topology = design(tmp_path, GRE_AND_PORT_RANGES)
    verification = verify(topology, log=quiet)
    assert verification.agrees, report(verification, False)
    gre = {(r.source, r.target): r.live for r in verification.results if r.kind == "ip"}
    assert gre == {("c", "w"): True, ("w", "c"): False}
    c_to_w = [r for r in verification.results if (r.source, r.target) == ("c", "w")]
    tcp = {int(r.probe[4:]): r for r in c_to_w if r.kind == "port" and r.probe.startswith("tcp/")}
    assert len(tcp) == 5  # cut at 1000 and 2001 (the SG), 40000 and 50001 (the NACL)
    assert all(r.reason == "sg-ingress" for port, r in tcp.items() if not 1000 <= port <= 2000)
    allowed = [
        r for r in c_to_w if r.kind in ("port", "client-port") and r.probe.startswith("tcp/")
        and 1000 <= int(r.probe[4:]) <= 2000
    ]  # fmt: skip
    assert {r.live for r in allowed} == {True, False}  # one client-port segment is denied
    assert all(r.reason == "nacl-egress" and 40000 <= r.client_port <= 50000 for r in allowed if not r.live)
    matrix = report(verification, False).split("reachability, live (rows reach columns):")[1]
    assert " = tcp 1000-2000*; proto 47" in matrix  # c reaches w: the SG's range, some client ports


def test_a_spoofed_probe_is_heard_if_it_gets_through_so_the_check_is_not_blind(tmp_path):
    """The canary: the same frame from the sender's real address is heard; from an address
    of its subnet that it does not own, it is stopped by the Nitro card."""
    import secrets
    import subprocess
    import time

    from nitro_switch.emulation import Emulation
    from vpclab.verify.live import start_listener, stop_listeners

    topology = design(tmp_path, TWIN_VPCS)
    b1, b2 = topology.instance("b1"), topology.instance("b2")
    with Emulation(topology, log=quiet) as emulation:
        hosts = emulation.hosts.hosts
        listener = start_listener(hosts["b2"], "b2", {17: {5353}})
        nonces = {}
        for source in (str(b1.ip), "10.7.1.99"):
            nonces[source] = secrets.token_hex(6)
            argv = command(Process.RAWPROBE, "--spoof", source)
            argv += ["--nonce", nonces[source], f"udp:{b2.ip}:5353:40001"]
            hosts["b1"].popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE).communicate(timeout=30)
        time.sleep(0.5)
        heard = stop_listeners([listener])
    assert nonces[str(b1.ip)] in heard
    assert nonces["10.7.1.99"] not in heard


def test_verify_after_runtime_changes_checks_the_changed_design(tmp_path):
    """`verify --after`: the 2022 blackhole applied through the API, then every probe agrees
    with trace on the changed design (cross-VPC traffic now dropped)."""
    import json

    from vpclab.intent.changes import Intent

    path = "topologies/tgw-incident.yaml"
    changes = [{"operation": "blackhole", "tgw": "core", "table": "spokes", "cidr": "10.0.0.0/8"}]
    verification = verify(load_topology(path), log=quiet, changes=changes, intent=Intent.from_file(path))
    assert verification.agrees, report(verification, False)
    assert verification.changes and verification.changes[0].startswith("blackhole")
    pings = {(r.source, r.target): r for r in verification.results if r.kind == "icmp"}
    assert not pings["app1", "svc1"].live and pings["app1", "svc1"].reason == "tgw-blackhole"
    as_json = json.loads(report(verification, True))
    assert as_json["changes"] == verification.changes
    # the matrix, live: the spokes reach each other (a more specific route), not the hub
    assert "svc1" not in as_json["reachability"]["app1"]
    assert as_json["reachability"]["app1"]["db1"] == "tcp all; udp all; icmp"


def test_a_sampled_verify_probes_its_pairs_live_and_says_so(tmp_path):
    import os
    import subprocess
    import sys

    from live_helpers import ROOT

    vpclab = os.path.join(os.path.dirname(sys.executable), "vpclab")
    three_tier = os.path.join(ROOT, "topologies", "three-tier.yaml")
    done = subprocess.run(
        [vpclab, "verify", three_tier, "--sample", "3", "--seed", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 pairs (a sample: 3 of 6 pairs, covering 3 of 6 pairs of equivalence classes)" in done.stdout


def test_an_instance_without_source_dest_check_is_heard_from_a_foreign_address_and_verify_agrees(tmp_path):
    """b1 (source_dest_check: false) gets its spoofed probe through the card; b2's is dropped."""
    appliance = TWIN_VPCS.replace(
        "{name: b1, subnet: s, security_groups: [blue-sg]}",
        "{name: b1, subnet: s, security_groups: [blue-sg], source_dest_check: false}",
    )
    topology = design(tmp_path, appliance)
    verification = verify(topology, log=quiet)
    assert verification.agrees, report(verification, False)
    spoofed = {r.source: r.live for r in verification.results if r.kind == "spoofed"}
    assert spoofed["b1"] is True and spoofed["b2"] is False


def test_verify_agrees_across_accounts_regions_and_a_tgw_peering():
    """topologies/tgw-peering.yaml live: two accounts, two Regions, two TGWs joined by a peering
    (the tgw_route stage looks a packet up again in the far TGW's table, once); every probe of
    the real packets agrees with trace, and stock's pings die on the way back, as trace says."""
    from pathlib import Path

    topology = load_topology(str(Path(__file__).resolve().parents[2] / "topologies" / "tgw-peering.yaml"))
    verification = verify(topology, log=quiet)
    assert verification.agrees, report(verification, False)
    probes = {(r.source, r.target, r.probe): r for r in verification.results if r.kind in ("port", "icmp")}
    assert probes["shop1", "ledger1", "tcp/5432"].live
    assert not probes["stock1", "ledger1", "icmp"].live


def test_an_inter_region_peering_drops_what_is_longer_than_8500_bytes_live(tmp_path):
    """Two VPCs of two Regions peered: verify pings at the path MTU (8500) and a byte over it
    with real packets, and the cards (stage peering_mtu) drop the longer one as trace says."""
    topology = design(
        tmp_path,
        """
        name: across
        regions: [{name: us-east-1}, {name: eu-west-1}]
        servers: [{name: a, region: us-east-1}, {name: b, region: eu-west-1}]
        peerings: [{name: us-eu, requester: us, accepter: eu}]
        vpcs:
          - name: us
            cidr: 10.1.0.0/16
            subnets: [{name: s, cidr: 10.1.1.0/24, route_table: rt}]
            route_tables: [{name: rt, routes: [{destination: 10.2.0.0/16, peering: us-eu}]}]
            security_groups: [{name: us-sg, ingress: [{protocol: all, cidr: 10.2.0.0/16}]}]
            instances: [{name: us1, subnet: s, security_groups: [us-sg]}]
          - name: eu
            region: eu-west-1
            cidr: 10.2.0.0/16
            subnets: [{name: s, cidr: 10.2.1.0/24, route_table: rt}]
            route_tables: [{name: rt, routes: [{destination: 10.1.0.0/16, peering: us-eu}]}]
            security_groups: [{name: eu-sg, ingress: [{protocol: all, cidr: 10.1.0.0/16}]}]
            instances: [{name: eu1, subnet: s, security_groups: [eu-sg]}]
        """,
    )
    verification = verify(topology, log=quiet)
    assert verification.agrees, report(verification, False)
    sized = {(r.source, r.target, r.probe): r.live for r in verification.results if r.kind == "mtu"}
    assert sized[("us1", "eu1", "icmp of 8500 bytes")] and not sized[("us1", "eu1", "icmp of 8501 bytes")]


def test_verify_agrees_through_a_gateway_endpoint():
    """topologies/gateway-endpoint.yaml live: S3 through the endpoint (the internet's card
    tracks the connection by its VPC), over the internet from the public subnet, and refused
    to what a TGW brought; every probe agrees with trace."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "topologies" / "gateway-endpoint.yaml"
    verification = verify(load_topology(str(path)), log=quiet)
    assert verification.agrees, report(verification, False)
    probes = {(r.source, r.target, r.probe): r.live for r in verification.results if r.kind == "port"}
    assert probes["batch1", "s3-us-east-1", "tcp/443"]
    assert probes["web1", "s3-us-east-1", "tcp/443"]
    assert not probes["worker1", "s3-us-east-1", "tcp/443"]
