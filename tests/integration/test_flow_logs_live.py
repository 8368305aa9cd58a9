"""VPC Flow Logs from the real data plane: the cards' IPFIX samples, the collector's records."""

import subprocess
import sys
import time

from live_helpers import live, topology

from agents.flowlog_records import read_records
from nitro_switch.emulation import Emulation

pytestmark = live
quiet = lambda line: None


SINK = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 3306)); s.listen(); print('listening', flush=True)\n"
    "c, _ = s.accept(); n = 0\n"
    "while True:\n"
    "    d = c.recv(65536)\n"
    "    if not d: break\n"
    "    n += len(d)\n"
    "print(n, flush=True)\n"
)
# 4 s of 64 KB every 40 ms on one connection (the controller restarts meanwhile)
SOURCE = (
    "import socket, sys, time\n"
    "s = socket.create_connection((sys.argv[1], 3306)); end = time.time() + 4\n"
    "while time.time() < end:\n"
    "    s.sendall(b'x' * 65536); time.sleep(0.04)\n"
    "s.close()\n"
)


def interface_counters(host) -> tuple[int, int]:
    """(packets, IP bytes) its eth0 sent: what its flow log records should count."""
    packets = int(host.cmd("cat /sys/class/net/eth0/statistics/tx_packets"))
    octets = int(host.cmd("cat /sys/class/net/eth0/statistics/tx_bytes"))
    return packets, octets - 14 * packets  # less each frame's Ethernet header


def test_flow_logs_record_the_real_verdicts_counts_and_rules_and_outlive_a_controller_restart():
    with Emulation(topology("flow-logs.yaml"), log=quiet) as lab:
        hosts = lab.hosts.hosts
        db1 = str(lab.topology.instance("db1").ip)
        sink = hosts["db1"].popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
        assert sink.stdout.readline().strip() == "listening"
        hosts["web1"].cmd(f"ping -c 1 -W 1 {db1}")  # ARP settled: the counters count the stream
        before = interface_counters(hosts["web1"])
        source = hosts["web1"].popen([sys.executable, "-c", SOURCE, db1])
        time.sleep(1.5)
        lab.kill_controller()
        time.sleep(0.5)
        lab.restart_controller()
        assert source.wait(timeout=20) == 0
        received = int(sink.communicate(timeout=10)[0])
        after = interface_counters(hosts["web1"])
        for port in (5432, 22):  # the NACL's deny on web1's side; db1's SG on its own
            hosts["web1"].cmd(f"timeout 1 bash -c 'echo > /dev/tcp/{db1}/{port}'")
        dev2 = str(lab.topology.instance("dev2").ip)
        assert " 0% packet loss" in hosts["dev1"].cmd(f"ping -c 3 -i 0.2 {dev2}")  # not logged
        time.sleep(2.5)
        lab.stop_flow_logs()
        records = [record for name, record in read_records(lab.flow_logs_dir) if name == "prod-all"]

    stream = [r for r in records if r.interface == "eni-web1" and r.destination_port == 3306]
    assert {r.action for r in stream} == {"ACCEPT"}
    assert stream[0].rule == "vpcs[0].security_groups[default].egress[0]"  # the opening, by rule
    sent_packets, sent_bytes = after[0] - before[0], after[1] - before[1]
    assert received > 2_000_000
    assert abs(sum(r.packets for r in stream) - sent_packets) <= 0.03 * sent_packets, (stream, after, before)
    assert abs(sum(r.bytes for r in stream) - sent_bytes) <= 0.03 * sent_bytes, (stream, after, before)
    replies = [r for r in records if r.interface == "eni-db1" and r.source_port == 3306]
    assert replies and {r.rule for r in replies} == {"-"}  # db1's replies: by connection state

    (nacl,) = [r for r in records if r.destination_port == 5432 and r.action == "REJECT"]
    assert (nacl.interface, nacl.rule) == ("eni-web1", "vpcs[0].nacls[0].egress[0]")
    assert not [r for r in records if r.destination_port == 5432 and r.action == "ACCEPT"]
    (sg,) = [r for r in records if r.destination_port == 22 and r.action == "REJECT"]
    assert (sg.interface, sg.rule) == ("eni-db1", "vpcs[0].security_groups[0]")
    assert not [r for r in records if r.interface.startswith("eni-dev") or r.source.startswith("10.9.")]
