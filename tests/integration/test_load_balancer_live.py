"""An internal NLB reached directly, live: the jump host's HTTP calls to either node's
address reach both targets (cross-zone on) on their port 22, which see the jump host's own
address (client IP preservation), and the answers come back from the node; a port with no
listener and a client the app NACL does not admit get nothing; verify agrees with trace."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

from live_helpers import live, topology

from nitro_switch.emulation import Emulation
from vpclab.verify import report, verify

pytestmark = live
quiet = lambda line: None
NODES = ("10.0.1.5", "10.0.2.5")


def serve(host, folder) -> subprocess.Popen:
    """http.server on port 22 (the listener's target port), answering /who with its name."""
    folder.mkdir()
    (folder / "who").write_text(host.name)
    server = host.popen(
        [sys.executable, "-m", "http.server", "22", "--bind", "0.0.0.0", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while ":22 " not in host.cmd("ss -ltnH 'sport = :22'") and time.monotonic() < deadline:
        time.sleep(0.1)
    return server


def test_the_jump_host_reaches_both_targets_through_either_node(tmp_path):
    with Emulation(topology("internal-nlb.yaml"), log=quiet) as lab:
        jump, desk = lab.hosts.hosts["jump"], lab.hosts.hosts["desk"]
        servers = {name: serve(lab.hosts.hosts[name], tmp_path / name) for name in ("s1", "s2")}
        try:
            answers = Counter()
            for n in range(30):
                node = NODES[n % 2]
                answers[jump.cmd(f"curl -s -m 3 http://{node}/who").strip()] += 1
            assert set(answers) == {"s1", "s2"}, answers  # both nodes spread over both targets
            # a connection is answered by the node it went to (its address, its port 80)
            line = jump.cmd("curl -s -m 3 -o /dev/null -w '%{remote_ip}:%{remote_port}' http://10.0.2.5/who")
            assert line.strip() == "10.0.2.5:80"
            assert (
                jump.cmd("curl -s -m 1 -o /dev/null -w '%{http_code}' http://10.0.1.5:81/").strip() == "000"
            )
            assert (
                desk.cmd("curl -s -m 1 -o /dev/null -w '%{http_code}' http://10.0.1.5/who").strip() == "000"
            )
        finally:
            logs = {}
            for name, server in servers.items():
                server.terminate()
                logs[name] = server.communicate(timeout=10)[1]
        seen = {line.split()[0] for log in logs.values() for line in log.splitlines() if "GET /who" in line}
        assert seen == {"10.0.0.4"}, logs  # the jump host's own address, never a node's


def test_verify_probes_the_nodes_and_agrees():
    verification = verify(topology("internal-nlb.yaml"), log=quiet)
    assert verification.agrees, report(verification, False)
    through = [r for r in verification.results if r.target.startswith("app-nlb/")]
    assert {r.answered_by for r in through if r.live} <= {"s1", "s2"}
    assert any(r.live for r in through) and not all(r.live for r in through)
