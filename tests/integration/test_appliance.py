"""A firewall instance in the path (inspection.yaml's fw1, routed to by the TGW attachment
subnet's table): spoke-to-spoke traffic really crosses it, and nftables inside it drops a flow."""

import subprocess
import sys
import time

from live_helpers import live, topology

from nitro_switch.emulation import Emulation

pytestmark = live
quiet = lambda line: None

CONNECT = (
    "import socket, sys; socket.create_connection((sys.argv[1], 5432), timeout=2).recv(8); print('open')"
)
SERVE = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 5432)); s.listen(); print('listening', flush=True)\n"
    "while True:\n"
    "    c, _ = s.accept(); c.send(b'db\\n'); c.close()\n"
)


def connects(host, address: str) -> bool:
    process = host.popen(
        [sys.executable, "-c", CONNECT, address], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    output, _ = process.communicate(timeout=10)
    return output.decode().strip() == "open"


def counted(fw, rule: str) -> int:
    """Packets counted by the nftables rule whose text contains ``rule``."""
    listed = fw.cmd("nft list chain inet fw forward")
    line = next(line for line in listed.splitlines() if rule in line)
    return int(line.split("packets")[1].split()[0])


def test_spoke_traffic_crosses_the_firewall_and_its_nftables_rule_drops_postgres():
    with Emulation(topology("inspection.yaml"), log=quiet) as lab:
        hosts, data1 = lab.hosts.hosts, str(lab.topology.instance("data1").ip)
        server = hosts["data1"].popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "listening"
            fw = hosts["fw1"]
            fw.cmd(
                "nft add table inet fw; "
                "nft 'add chain inet fw forward { type filter hook forward priority 0 ; }'; "
                "nft add rule inet fw forward ip saddr 10.1.0.0/16 counter"
            )
            assert connects(hosts["app1"], data1)
            seen = counted(fw, "ip saddr 10.1.0.0/16")
            assert seen >= 3  # the connection's packets from app1 went through fw1's kernel
            fw.cmd("nft add rule inet fw forward tcp dport 5432 counter drop")
            assert not connects(hosts["app1"], data1)
            assert counted(fw, "tcp dport 5432") >= 1
            assert " 0% packet loss" in hosts["app1"].cmd(f"ping -c 2 -W 1 {data1}")  # ping is not dropped
            fw.cmd("nft flush ruleset")
            time.sleep(0.2)
            assert connects(hosts["app1"], data1)
        finally:
            server.kill()
            server.wait()


def test_middlebox_routing_between_two_subnets_of_one_vpc_agrees_with_trace(tmp_path):
    """AWS's middlebox routing: a route as specific as the db subnet sends web's traffic to it
    through fw1, and back; verify probes every pair live and each agrees with trace."""
    import textwrap

    from designs import MIDDLEBOX

    from vpclab.intent.loader import load_topology
    from vpclab.verify import report, verify

    path = tmp_path / "mbox.yaml"
    path.write_text(textwrap.dedent(MIDDLEBOX))
    verification = verify(load_topology(str(path)), log=quiet)
    assert verification.agrees, report(verification, False)
    crossed = [r for r in verification.results if (r.source, r.target) == ("web1", "db1") and r.live]
    assert [r.probe for r in crossed if r.kind == "port"] == ["tcp/5432"]


def test_an_sg_reference_admits_the_appliances_interface_whatever_the_address(tmp_path):
    """AWS: an SG rule naming a group admits the interfaces that carry it. fw sends from an
    address not its own to web (both in the default SG, across the tunnel): admitted, as trace
    says (the cards used to drop it: they looked the group up by address). And what fw1 forwards
    to db1 is fw1's: db-sg naming fw-sg admits web1's tcp/5432, naming web-sg would not."""
    import textwrap

    from designs import SPOOFING, middlebox_by_group

    from vpclab.intent.loader import load_topology
    from vpclab.verify import report, verify

    spoof, mbox = tmp_path / "spoof.yaml", tmp_path / "mbox.yaml"
    spoof.write_text(textwrap.dedent(SPOOFING.format(servers=2, web_server=2)))
    mbox.write_text(textwrap.dedent(middlebox_by_group("fw-sg")))
    verification = verify(load_topology(str(spoof)), log=quiet)
    assert verification.agrees, report(verification, False)
    spoofed = [r for r in verification.results if (r.source, r.target, r.kind) == ("fw", "web", "spoofed")]
    assert spoofed and all(r.live for r in spoofed), report(verification, False)
    verification = verify(load_topology(str(mbox)), log=quiet)
    assert verification.agrees, report(verification, False)
    crossed = [
        r for r in verification.results if (r.source, r.target, r.probe) == ("web1", "db1", "tcp/5432")
    ]
    assert crossed and all(r.live for r in crossed), report(verification, False)
