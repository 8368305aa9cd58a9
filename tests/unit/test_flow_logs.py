"""Flow logs: which flows sample (and what they say), the IPFIX decoder, the aggregation into
AWS's version-2 records, the experiments' reading of them, and the shell's `flowlogs`."""

import io
import os
import re
import struct
from pathlib import Path
from unittest import mock

import pytest
from fakeswitch import FakeFabric, connection, instance_packet
from vpc_fixtures import load, problems

from agents.flowlog_records import Aggregator, FlowLogRecord, Interfaces, read_records
from agents.ipfix import Decoder, Record, encode
from controller.compiler import compile_topology
from controller.compiler.sampling import PointCollision, check_points, observation_point, origins_by_point
from experiments.flowlogs import Alarm, Seen, Watcher, alarm_time, fires_before, first_reject
from vpclab.layout.actions import Sample
from vpclab.layout.pipeline import SampleKey
from vpclab.layout.plan import Plan

DESIGN = (Path(__file__).resolve().parents[2] / "topologies" / "flow-logs.yaml").read_text()


def test_a_flow_log_names_a_vpc_a_subnet_or_an_instance_and_says_what_it_cannot_find():
    topology = load(DESIGN)
    whole, rejects = topology.flow_logs
    web1, db1, dev1 = (topology.instance(name) for name in ("web1", "db1", "dev1"))
    assert (whole.covers(web1), whole.covers(db1), whole.covers(dev1)) == (True, True, False)
    assert (rejects.covers(web1), rejects.covers(db1)) == (False, True)
    assert rejects.keeps("REJECT") and not rejects.keeps("ACCEPT")
    found = problems(DESIGN.replace("resource: prod/db", "resource: prod/nope").replace("prod-all", "x"))
    assert any(":41: flow_logs[1].resource: no subnet 'nope' in a VPC 'prod'" in line for line in found), (
        found
    )
    one = load(DESIGN.replace("resource: prod,", "resource: dev1,")).flow_logs[0]
    assert (one.vpc, one.instance) == ("dev", "dev1")


def test_two_objects_may_not_share_an_observation_point():
    check_points(["vpcs[0].nacls[0].egress[0]", "vpcs[0].nacls[0].egress[1]"])
    with pytest.raises(PointCollision, match="rename one of them"):
        with mock.patch("controller.compiler.sampling.observation_point", lambda origin: 7):
            check_points(["a", "b"])


def test_without_flow_logs_no_flow_samples():
    plain = load(DESIGN.split("flow_logs:")[0])
    flows = [f for card in compile_topology(plain).flows.values() for f in card]
    assert not any(isinstance(action, Sample) for f in flows for action in f.actions)


def _samples(fabric, source, destination, port):
    plan = fabric.compiled.plan
    server, packet = instance_packet(
        plan, source, str(plan.instances[destination].instance.ip), 6, port, 40000
    )
    return fabric.send(server, packet).samples


def test_a_denied_packet_samples_a_reject_naming_the_nacl_rule_after_the_sg_accepted_it():
    fabric = FakeFabric(compile_topology(load(DESIGN)))
    samples = _samples(fabric, "web1", "db1", 5432)
    (_, stage, accept, rule_point, port, _), (_, nacl_stage, reject, nacl_point, _, _) = samples
    assert stage == "sg_egress" and SampleKey.read(accept, "VERDICT") == SampleKey.ACCEPT_BY_RULE
    assert nacl_stage == "nacl_src_egress" and SampleKey.read(reject, "VERDICT") == SampleKey.REJECT
    assert SampleKey.read(reject, "AFTER_ACCEPT") and SampleKey.read(reject, "SIDE") == SampleKey.SENDING
    assert nacl_point == observation_point("vpcs[0].nacls[0].egress[0]")
    assert port == fabric.compiled.plan.instances["web1"].port


def test_an_sg_drop_on_the_receiving_card_samples_a_reject_at_the_destination():
    fabric = FakeFabric(compile_topology(load(DESIGN)))
    *_, (server, stage, domain, point, _, mac) = _samples(fabric, "web1", "db1", 22)
    assert (server, stage, SampleKey.read(domain, "SIDE")) == ("srv2", "sg_ingress", SampleKey.RECEIVING)
    assert SampleKey.read(domain, "VERDICT") == SampleKey.REJECT
    assert mac == fabric.compiled.plan.instances["db1"].mac  # how the collector finds db1
    assert point == observation_point("vpcs[0].security_groups[0]")


def test_an_accepted_connection_samples_rules_then_state_and_forwards_as_before():
    topology = load(DESIGN)
    fabric = FakeFabric(compile_topology(topology))
    assert connection(fabric, "web1", "db1", 6, 3306)[0]
    again = _samples(fabric, "web1", "db1", 3306)  # the same 5-tuple: tracked now
    verdicts = [SampleKey.read(domain, "VERDICT") for _, _, domain, _, _, _ in again]
    assert verdicts == [SampleKey.ACCEPT_BY_STATE, SampleKey.ACCEPT_BY_STATE]


# -- IPFIX --------------------------------------------------------------------------------------
SAMPLE = {
    "source": "10.0.1.4",
    "destination": "10.0.2.4",
    "protocol": 6,
    "source_port": 40000,
    "destination_port": 5432,
    "packets": 3,
    "bytes": 180,
    "point": 7,
    "interface": "web1",
    "destination_mac": "02:00:00:00:00:01",
    "start_delta_us": 2_000_000,
    "end_delta_us": 500_000,
}


def test_ipfix_decodes_what_it_encodes_and_keeps_templates_across_domains_as_ovs_sends_them():
    decoder = Decoder()
    (first,) = decoder.decode(encode(5, 1000, 300, [SAMPLE]))
    assert first == Record(5, 1000, SAMPLE)
    message = encode(9, 1001, 300, [SAMPLE, {**SAMPLE, "packets": 4}])
    template_set = struct.unpack_from("!H", message, 18)[0]  # the set after the 16-byte header
    data_only = message[:16] + message[16 + template_set :]
    data_only = data_only[:2] + struct.pack("!H", len(data_only)) + data_only[4:]
    records = decoder.decode(data_only)  # no template in it: the one domain 5 taught is used
    assert [r.fields["packets"] for r in records] == [3, 4] and records[0].domain == 9
    long_name = {**SAMPLE, "interface": "x" * 300}  # a variable length of three bytes
    assert Decoder().decode(encode(1, 1, 301, [long_name]))[0].fields["interface"] == "x" * 300
    with pytest.raises(ValueError):
        Decoder().decode(b"\x00\x05" + bytes(30))


def test_an_ipv6_flows_record_carries_its_ipv6_addresses():
    """OVS exports an IPv6 flow with sourceIPv6Address and destinationIPv6Address (27, 28)."""
    sample = {**SAMPLE, "source": "2001:db8:1000:1::10", "destination": "2001:db8:2000:1::10"}
    message = encode(5, 1000, 302, [sample])
    count = struct.unpack_from("!H", message, 22)[0]  # after the header, the set's and the template id
    elements = struct.unpack_from("!" + "HH" * count, message, 24)[::2]
    assert {27, 28} <= set(elements) and not {8, 12} & set(elements)
    assert Decoder().decode(message)[0].fields == sample


# -- aggregation --------------------------------------------------------------------------------
def _record(domain_verdict, side, after=False, **fields):
    return Record(SampleKey.make(domain_verdict, side, after), 1000, {**SAMPLE, **fields})


def test_records_say_what_finally_happened_at_each_interface_per_flow_log():
    topology = load(DESIGN)
    interfaces = Interfaces(topology, origins_by_point(compile_topology(topology).origins.values()))
    aggregator = Aggregator(interfaces)
    sg_rule, nacl_rule = "vpcs[0].security_groups[default].egress[0]", "vpcs[0].nacls[0].egress[0]"
    assert observation_point(nacl_rule) in interfaces.origins
    # web1 sends 3 packets; its SG accepts them, its subnet's NACL drops the last 2 (each
    # record has the seconds of its own packets)
    aggregator.add(
        "srv1", _record(SampleKey.ACCEPT_BY_RULE, SampleKey.SENDING, point=observation_point(sg_rule)), 10.0
    )
    aggregator.add(
        "srv1",
        _record(
            SampleKey.REJECT,
            SampleKey.SENDING,
            True,
            point=observation_point(nacl_rule),
            packets=2,
            bytes=120,
            start_delta_us=500_000,
        ),
        10.2,
    )
    db1_mac = Plan(topology).instances["db1"].mac
    aggregator.add("srv2", _record(SampleKey.REJECT, SampleKey.RECEIVING, destination_mac=db1_mac), 10.3)
    aggregator.add("srv1", _record(SampleKey.REJECT, SampleKey.SENDING, interface="dev1"), 10.3)  # no log
    assert aggregator.due(10.5) == []  # the interval (1 s) has not ended
    written = aggregator.due(11.3)
    lines = sorted(f"{name} {record.line()}" for name, record in written)
    assert lines == sorted(
        [
            "prod-all 2 123456789012 eni-web1 10.0.1.4 10.0.2.4 40000 5432 6 1 60 998 999 ACCEPT OK "
            + sg_rule
            + " -",
            "prod-all 2 123456789012 eni-web1 10.0.1.4 10.0.2.4 40000 5432 6 2 120 999 999 REJECT OK "
            + nacl_rule
            + " -",
            "prod-all 2 123456789012 eni-db1 10.0.1.4 10.0.2.4 40000 5432 6 3 180 998 999 REJECT OK ? -",
        ]
    )
    assert [name for name, _ in aggregator.due(20.0)] == ["db-rejects"]  # its own 5 s interval
    assert FlowLogRecord.parse(written[0][1].line()) == written[0][1]


def test_experiments_read_the_first_reject_and_when_an_alarm_fires_as_records_appear(tmp_path):
    def record(start, end, action, packets, rule="r"):
        return FlowLogRecord(
            "eni-a", "10.0.0.1", "10.0.0.2", 0, 0, 1, packets, 84 * packets, start, end, action, rule
        )

    watcher = Watcher(str(tmp_path))
    log = tmp_path / "all.log"
    arrivals = [  # (when the record was in the file, the record)
        (99.5, record(98, 99, "REJECT", 9, "before")),
        (101.5, record(100, 101, "ACCEPT", 20)),
        (102.8, record(101, 102, "REJECT", 4, "nacl")),
        (104.2, record(103, 103, "REJECT", 10, "nacl")),
    ]
    for at, each in arrivals:
        with log.open("a") as handle:
            handle.write(each.line() + "\n" + each.line()[:9])  # and half of a next line
        watcher.poll()
        watcher.seen[-1:] = [Seen(at, "all", watcher.seen[-1].record)]
        log.write_text(log.read_text()[:-9])  # the half line was never complete
    assert [s.record for s in watcher.seen] == [each for _, each in arrivals]
    seen = watcher.seen
    found = first_reject(seen, ("10.0.0.2", "10.0.0.1"), 100.5)
    assert found["rule"] == "nacl" and found["time_to_detect"] == 2.3
    assert first_reject(seen, ("10.0.0.2", "10.0.0.9"), 100.5) is None
    assert alarm_time(seen, Alarm.parse("reject-rate>5/s"), 100.5) == 3.7  # second 103
    assert alarm_time(seen, Alarm.parse("reject-rate > 1/s"), 100.5) == 2.3  # not second 98
    assert alarm_time(seen, Alarm.parse("reject-rate>50/s"), 100.5) is None
    assert fires_before(seen, Alarm.parse("reject-rate>3/s"), 100.5)
    assert not fires_before(seen, Alarm.parse("reject-rate>5/s"), 100.5)
    with pytest.raises(ValueError, match="reject-rate>N/s"):
        Alarm.parse("rejects>5")
    assert read_records(str(tmp_path)) == [("all", each) for _, each in arrivals]


def test_the_shell_lists_the_newest_records_of_an_instance_and_only_rejects(tmp_path):
    import cmd

    from vpclab.ui.shell import VpcCLI

    topology = load(DESIGN)

    def line(interface, action, end):
        return FlowLogRecord(interface, "10.0.1.4", "10.0.2.4", 1, 2, 6, 1, 60, end, end, action, "r").line()

    (tmp_path / "prod-all.log").write_text(
        "\n".join(
            [line("eni-web1", "ACCEPT", 1), line("eni-db1", "REJECT", 2), line("eni-web1", "REJECT", 3)]
        )
    )
    shell = VpcCLI.__new__(VpcCLI)
    output = io.StringIO()
    cmd.Cmd.__init__(shell, stdout=output)
    shell.emulation = type("Running", (), {"flow_logs_dir": str(tmp_path)})()
    shell.topology = lambda: topology
    shell.onecmd("flowlogs web1 --reject")
    shown = output.getvalue().splitlines()
    assert shown[0].startswith("flow-log version account-id interface-id")
    assert shown[1:] == ["prod-all " + line("eni-web1", "REJECT", 3)]
    output.truncate(0)
    output.seek(0)
    shell.onecmd("flowlogs --last 1")
    assert output.getvalue().splitlines()[1:] == ["prod-all " + line("eni-web1", "REJECT", 3)]
    output.truncate(0)
    output.seek(0)
    shell.onecmd("flowlogs nobody")
    assert "no instance 'nobody'" in output.getvalue()
    assert os.path.exists(tmp_path / "prod-all.log")


def test_a_record_carries_the_account_id_of_the_interfaces_owner():
    """Contract v3: each VPC's owner; AWS writes the interface owner's account-id."""
    owned = re.sub(
        r"^name: ", 'accounts: [{name: shop, id: "111111111111"}]\nname: ', DESIGN, count=1, flags=re.M
    )
    topology = load(owned)
    assert topology.owner("prod").id == "111111111111"
    interfaces = Interfaces(topology, origins_by_point(compile_topology(topology).origins.values()))
    aggregator = Aggregator(interfaces)
    sg_rule = "vpcs[0].security_groups[default].egress[0]"
    aggregator.add(
        "srv1", _record(SampleKey.ACCEPT_BY_RULE, SampleKey.SENDING, point=observation_point(sg_rule)), 10.0
    )
    (_, record), *_ = aggregator.due(20.0)
    assert record.line().startswith("2 111111111111 eni-web1 ")
    assert FlowLogRecord.parse(record.line()).account == "111111111111"


def test_the_collector_waits_for_hyperplanes_first_compile_and_says_when_it_never_comes(tmp_path, capsys):
    """Hyperplane writes the origins when it has compiled; on a loaded machine the cards can be
    up first. The collector waits for them instead of dying on a missing file."""
    import json
    import socket
    import threading
    import time

    from agents import flowlog_collector
    from vpclab.intent.changes import Intent
    from vpclab.layout.plan import ORIGINS_FILE

    intent_file = str(tmp_path / "intent.json")
    origins = tmp_path / ORIGINS_FILE
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    arguments = ["t", "--out", str(tmp_path / "out"), "--cards", "s1", "--here", "--port", str(port)]
    arguments += ["--intent", intent_file]
    assert flowlog_collector.main([*arguments, "--wait", "0.2"]) == 1
    assert "did not write" in capsys.readouterr().err and not origins.exists()

    topology = load(DESIGN)
    Intent("flow-logs.yaml", __import__("yaml").safe_load(DESIGN)).save(intent_file, [])
    points = origins_by_point(compile_topology(topology).origins.values())

    def publish_late():
        time.sleep(0.5)
        origins.write_text(json.dumps({str(point): origin for point, origin in points.items()}))

    writer = threading.Thread(target=publish_late)
    writer.start()
    started = time.monotonic()
    with mock.patch.object(flowlog_collector.Collector, "run", lambda self: None):
        assert flowlog_collector.main([*arguments, "--wait", "30"]) == 0
    writer.join()
    assert time.monotonic() - started >= 0.5
    assert capsys.readouterr().out.strip() == flowlog_collector.READY


# -- the path to and from a site -------------------------------------------------------------
HYBRID = (Path(__file__).resolve().parents[2] / "topologies" / "hybrid.yaml").read_text()
LOGGED = HYBRID + "flow_logs:\n  - {name: app-all, resource: app, max_aggregation_interval: 1}\n"


def _path_samples(compiled) -> dict:
    """card -> [(stage, observation point)] of its flows that sample a path."""
    found: dict = {}
    for card, flows in compiled.flows.items():
        for each in flows:
            for action in each.actions:
                if isinstance(action, Sample) and action.domain == SampleKey.PATH_SAMPLE:
                    found.setdefault(card, []).append((each.stage, action.point))
    return found


def test_the_flows_that_choose_or_receive_a_way_to_a_site_sample_it_as_a_path():
    """A TGW's exit into a tunnel or link (on the sender's card), a VGW's route into a tunnel,
    and what comes out of a tunnel or link on the internet's card: each samples the packet with
    the point of the tunnel or link. Without flow logs, nothing samples."""
    assert _path_samples(compile_topology(load(HYBRID))) == {}
    topology = load(LOGGED)
    samples = _path_samples(compile_topology(topology))
    tunnel1, tunnel2 = (observation_point(f"vpn_connections[0].tunnels[{n}]") for n in (1, 2))
    dx1 = observation_point("direct_connect_connections[0]")
    app1_card = topology.instance("app1").server
    assert sorted(samples[app1_card]) == sorted(("tgw_exit", p) for p in (tunnel1, tunnel2, dx1))
    on_internet = samples["internet"]
    static1, static2 = (observation_point(f"vpn_connections[1].tunnels[{n}]") for n in (1, 2))
    assert ("vgw_route", static1) in on_internet and ("vgw_route", static2) not in on_internet  # tunnel 1 up
    entered = {point for stage, point in on_internet if stage == "classify"}
    assert entered == {tunnel1, tunnel2, dx1, static1, static2}
    interfaces = Interfaces(topology, {})
    assert {interfaces.paths[p] for p in (tunnel1, static2, dx1)} == {
        "dc1-vpn:tunnel1",
        "dc2-vpn:tunnel2",
        "dx1",
    }


def test_a_record_of_a_sites_traffic_names_the_tunnels_and_links_it_took():
    """The path sample may come from another card a moment after the verdict's: the window
    waits for it (at most PATH_WAIT past its interval); a path seen just before a window opens
    is its path too; a window that saw two (a failover) names both, in order."""
    from agents.flowlog_records import PATH_WAIT

    topology = load(LOGGED)
    plan = Plan(topology)
    app1 = plan.instances["app1"]
    aggregator = Aggregator(Interfaces(topology, {}))
    to_erp = {"source": "10.1.1.4", "destination": "172.16.1.10", "interface": app1.interface}
    assert topology.instance("app1").ip == __import__("ipaddress").IPv4Address("10.1.1.4")
    sent = _record(SampleKey.ACCEPT_BY_RULE, SampleKey.SENDING, **to_erp)
    path = Record(
        SampleKey.PATH_SAMPLE,
        1000,
        {**SAMPLE, **to_erp, "point": observation_point("direct_connect_connections[0]")},
    )
    aggregator.add(app1.instance.server, sent, 10.0)
    assert aggregator.due(11.2) == []  # its interval ended, its path has not come
    aggregator.add("internet", path, 11.3)
    ((_, record),) = aggregator.due(11.4)
    assert (record.action, record.path) == ("ACCEPT", "dx1")
    assert FlowLogRecord.parse(record.line()).path == "dx1"
    aggregator.add(app1.instance.server, sent, 11.5)  # a path seen 0.2 s ago is this window's
    tunnel = Record(
        SampleKey.PATH_SAMPLE,
        1000,
        {**path.fields, "point": observation_point("vpn_connections[0].tunnels[2]")},
    )
    aggregator.add(app1.instance.server, tunnel, 12.0)  # dx1 failed: tunnel 2 carries it
    ((_, record),) = aggregator.due(12.6)
    assert record.path == "dx1,dc1-vpn:tunnel2"
    aggregator.add(app1.instance.server, sent, 30.0)  # no path sample comes: "-", after the wait
    assert aggregator.due(31.0 + PATH_WAIT - 0.1) == []
    ((_, record),) = aggregator.due(31.0 + PATH_WAIT)
    assert record.path == "-"
    inside = _record(
        SampleKey.ACCEPT_BY_RULE,
        SampleKey.SENDING,
        source="10.1.1.4",
        destination="10.1.1.9",
        interface=app1.interface,
    )
    aggregator.add(app1.instance.server, inside, 40.0)  # no site's address: no wait
    ((_, record),) = aggregator.due(41.0)
    assert record.path == "-"
