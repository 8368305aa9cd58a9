"""AWS's MTUs on the real data plane: instances at 9001, a transit gateway drops what is
longer than 8500 bytes without an ICMP error and clamps TCP's MSS so that TCP still flows,
an internet gateway lets 1500 bytes out."""

import re
import subprocess
import sys

from live_helpers import live, topology

from nitro_switch.emulation import Emulation

pytestmark = live
quiet = lambda line: None
PING_HEADERS = 28  # ping -s counts the ICMP payload: IP and ICMP headers come on top

SERVE = (
    "import socket, sys\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(); print('listening', flush=True)\n"
    "c, _ = s.accept(); got = 0\n"
    "while (chunk := c.recv(65536)):\n"
    "    got += len(chunk)\n"
    "print(got, flush=True)\n"
)
SEND = (
    "import socket, sys\n"
    "c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "c.sendall(b'x' * 2_000_000); c.close()\n"
)


def ping(host, address: str, size: int) -> str:
    """A ping with Don't Fragment whose IP packet is ``size`` bytes."""
    return host.cmd(f"ping -M do -c 2 -i 0.2 -W 1 -s {size - PING_HEADERS} {address}")


def answered(output: str) -> bool:
    return " 0% packet loss" in output


def sent_2mb(sender, server, address: str, port: int) -> bool:
    """2 MB over one TCP connection from ``sender`` to ``server`` (a SERVE process)."""
    client = sender.popen([sys.executable, "-c", SEND, address, str(port)], stderr=subprocess.PIPE, text=True)
    _, errors = client.communicate(timeout=20)
    assert client.returncode == 0, errors
    return server.stdout.readline().strip() == "2000000"


def test_jumbo_frames_within_a_vpc_and_8500_bytes_through_a_transit_gateway():
    with Emulation(topology("inspection.yaml"), log=quiet) as lab:
        hosts = lab.hosts.hosts
        app1, data1 = hosts["app1"], str(lab.topology.instance("data1").ip)
        assert "mtu 9001" in app1.cmd("ip link show eth0")
        fw1 = str(lab.topology.instance("fw1").ip)
        assert answered(ping(hosts["mon1"], fw1, 9001))  # within a VPC: 9001 bytes
        assert answered(ping(app1, data1, 8500))  # through the TGW (twice, by the inspection VPC)
        too_big = ping(app1, data1, 8501)
        assert "100% packet loss" in too_big
        assert "Frag needed" not in too_big and "mtu" not in too_big.lower()  # no ICMP error: a black hole


def test_tcp_through_a_transit_gateway_gets_its_mss_clamped_and_carries_data():
    """Both ends run at 9001, so each offers an MSS of 8961: segments of 9001 bytes would be
    dropped by the TGW. The TGW lowers the MSS of both SYNs to 8460, so 2 MB get through."""
    with Emulation(topology("inspection.yaml"), log=quiet) as lab:
        hosts = lab.hosts.hosts
        data1 = str(lab.topology.instance("data1").ip)
        capture = hosts["data1"].popen(
            [
                "tcpdump",
                "-l",
                "-nn",
                "-v",
                "-c",
                "1",
                "-i",
                "eth0",
                "tcp[tcpflags] & tcp-syn != 0 and port 5432",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        server = hosts["data1"].popen(
            [sys.executable, "-c", SERVE, "5432"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout.readline().strip() == "listening"
            hosts["app1"].cmd("sleep 0.5")  # tcpdump listens
            assert sent_2mb(hosts["app1"], server, data1, 5432)
            syn, _ = capture.communicate(timeout=10)
            assert re.search(r"mss (\d+)", syn).group(1) == "8460", syn
        finally:
            for process in (server, capture):
                process.kill()
                process.wait()


def test_what_leaves_through_the_internet_gateway_must_fit_1500_bytes():
    """Longer, with Don't Fragment: the sender hears "fragmentation needed", from its public
    IP's gateway or through its NAT gateway alike (two-tier.yaml's NACLs let ICMP in)."""
    with Emulation(topology("two-tier.yaml"), log=quiet) as lab:
        hosts, client = lab.hosts.hosts, str(lab.topology.internet_host("client").ip)
        assert answered(ping(hosts["web1"], client, 1500))
        for sender in ("web1", "app1"):  # app1 leaves through nat-a
            heard = ping(hosts[sender], client, 1501)
            assert f"From {client} icmp_seq=1 Frag needed and DF set (mtu = 1500)" in heard, heard
        assert "mtu 1500" in hosts["client"].cmd("ip link show eth0")


FN_RULE = {
    "rule": 120,
    "protocol": "icmp",
    "icmp_type": 3,
    "icmp_code": 4,
    "cidr": "0.0.0.0/0",
    "action": "allow",
}


def test_path_mtu_discovery_at_the_internet_gateway_and_the_black_hole_a_nacl_makes():
    """mtu.yaml's web-nacl lets ICMP "fragmentation needed" in as rule 120. Without it, a
    1,501-byte packet with Don't Fragment vanishes without a word, while TCP still flows (the
    client's MSS keeps its segments within 1500 bytes); with it, the sender hears "Frag needed
    (mtu = 1500)" and its kernel learns the path MTU."""
    with Emulation(topology("mtu.yaml"), log=quiet) as lab:
        web1, client = lab.hosts.hosts["web1"], str(lab.topology.internet_host("client").ip)
        rule = dict(vpc="web", nacl="web-nacl", direction="ingress")
        assert lab.api.change("remove-nacl-rule", **rule, number=120)["ok"]
        silent = ping(web1, client, 1501)
        assert "100% packet loss" in silent and "Frag needed" not in silent, silent
        assert "mtu" not in web1.cmd(f"ip route get {client}")  # nothing learned: a black hole
        server = lab.hosts.hosts["client"].popen(
            [sys.executable, "-c", SERVE, "80"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout.readline().strip() == "listening"
            assert sent_2mb(web1, server, client, 80)
        finally:
            server.kill()
            server.wait()
        assert lab.api.change("add-nacl-rule", **rule, rule=FN_RULE)["ok"]
        heard = ping(web1, client, 1501)
        assert "Frag needed and DF set (mtu = 1500)" in heard, heard
        assert "mtu 1500" in web1.cmd(f"ip route get {client}")


def test_the_afxdp_profile_runs_every_instance_at_1500():
    """AF_XDP ports here pass no jumbo frame: the running design says 1500, and 1500 passes."""
    with Emulation(topology("mtu.yaml"), log=quiet, profile="afxdp") as lab:
        web1, db1 = lab.hosts.hosts["web1"], str(lab.topology.instance("db1").ip)
        assert {i.mtu for i in lab.topology.instances} == {1500}
        assert "mtu 1500" in web1.cmd("ip link show eth0")
        assert answered(ping(web1, db1, 1500))


def test_verify_pings_at_the_path_mtu_and_a_byte_over_and_agrees_with_trace():
    from vpclab.verify import report, verify

    verification = verify(topology("mtu.yaml"), log=quiet)
    assert verification.agrees, report(verification, False)
    sized = {(r.source, r.target, r.probe, r.live) for r in verification.results if r.kind == "mtu"}
    assert ("web1", "db1", "icmp of 8500 bytes", True) in sized
    assert ("web1", "db1", "icmp of 8501 bytes", False) in sized
