"""Real OVS + Mininet + the Hyperplane controller, on the example topologies."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from live_helpers import ROOT, leftovers, live, topology

from agents.launch import Process, command
from nitro_switch.clean import clean_topology
from nitro_switch.commands import BuildError
from nitro_switch.emulation import Emulation
from vpclab.layout.names import Names
from vpclab.layout.pipeline import TABLE
from vpclab.verify import report, verify

pytestmark = live
EXAMPLES = sorted(f for f in os.listdir(os.path.join(ROOT, "topologies")) if f.endswith(".yaml"))
quiet = lambda line: None


def attempt(host, spec: str) -> bool:
    output = host.cmd(f"{sys.executable} -m agents.probe connect --timeout 1 {spec}")
    return json.loads(output.strip().splitlines()[-1])[0] is not None  # who answered, or null


@contextlib.contextmanager
def listening(hosts, port: int):
    """TCP listeners on ``port`` in each host, for the duration of the block."""
    processes = [
        host.popen(command(Process.PROBE, "listen", "--tcp", str(port)), stdout=subprocess.PIPE)
        for host in hosts
    ]
    try:
        for process in processes:
            process.stdout.readline()
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


@pytest.mark.parametrize("name", EXAMPLES)
def test_live_probes_agree_with_trace(name):
    design = topology(name)
    verification = verify(design, log=quiet)
    assert verification.results and verification.agrees, report(verification, False)
    assert any(r.live for r in verification.results)  # (tests/unit: the examples' probes include drops)
    if design.ipv6_holders:  # dual stack: IPv6 probed too, and some of it answered
        assert any(
            r.live and r.probe.startswith(("icmpv6", "tcp/443 over IPv6")) for r in verification.results
        )
    assert leftovers(Names(topology(name).name).short) == {"namespaces": [], "interfaces": []}


@pytest.fixture(scope="module")
def peering():
    with Emulation(topology("peering.yaml"), log=quiet) as emulation:
        yield emulation


def test_vxlan_on_the_underlay_carries_the_destination_vpc_vni(peering):
    web2, build1 = peering.hosts.hosts["web2"], peering.hosts.hosts["build1"]
    assert {web2.name: "srv2", build1.name: "srv1"} == {
        n: peering.plan.instances[n].instance.server for n in ("web2", "build1")
    }
    capture = subprocess.Popen(
        ["tcpdump", "-nli", peering.names.underlay_bridge, "-c", "2", "udp port 4789"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in capture.stderr:  # capturing before the ping is sent
        if "listening on" in line:
            break
    assert "1 received" in web2.cmd("ping -c 1 -W 2 10.1.1.4")
    output, _ = capture.communicate(timeout=10)
    vnis = set(re.findall(r"vni (\d+)", output))
    prod, dev = (peering.plan.vni(peering.topology.vpc(v)) for v in ("prod", "dev"))
    assert vnis == {str(prod), str(dev)}  # request towards dev, reply towards prod
    assert "192.168.200.2" in output and "192.168.200.1" in output


def test_a_spoofed_source_ip_is_dropped_at_the_card(peering):
    web2 = peering.hosts.hosts["web2"]
    assert "1 received" in web2.cmd("ping -c 1 -W 2 10.1.1.4")
    web2.cmd("ip addr add 10.0.1.99/24 dev eth0")
    try:
        assert "0 received" in web2.cmd("ping -c 2 -W 1 -I 10.0.1.99 10.1.1.4")
    finally:
        web2.cmd("ip addr del 10.0.1.99/24 dev eth0")
    srv2 = peering.servers_by_name["srv2"]
    spoof_flow = [
        line
        for line in srv2.ofctl("dump-flows", "table=0").splitlines()
        if "priority=10," in line and "in_port=1 " in line
    ]
    assert spoof_flow and int(re.search(r"n_packets=(\d+)", spoof_flow[0]).group(1)) >= 2


def test_the_reply_of_an_allowed_flow_passes_a_new_one_back_is_refused(peering):
    web2, build1 = peering.hosts.hosts["web2"], peering.hosts.hosts["build1"]
    with listening([web2, build1], 443):
        assert attempt(build1, "tcp:10.0.1.5:443:34001")  # web-sg admits build-sg: SYN-ACK back
        assert not attempt(web2, "tcp:10.1.1.4:443:34002")  # build-sg admits only ICMP


def test_a_controller_that_never_connects_fails_the_bring_up_cleanly(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # where the failed run's logs are kept

    def silent_controller(self):
        self.controller_port = 1
        self.controller = subprocess.Popen(["sleep", "30"], start_new_session=True)
        self.record()

    monkeypatch.setattr(Emulation, "start_controller", silent_controller)
    emulation = Emulation(topology("not-transitive.yaml"), log=quiet, ready_timeout=2)
    with pytest.raises(BuildError, match="did not get their flows within 2 s"):
        emulation.build()
    assert leftovers(emulation.names.short) == {"namespaces": [], "interfaces": []}
    assert not os.path.exists(emulation.names.run_dir)


def test_a_port_the_card_refuses_fails_the_bring_up_cleanly(monkeypatch, tmp_path):
    from nitro_switch import server

    monkeypatch.chdir(tmp_path)  # where the failed run's logs are kept
    monkeypatch.setitem(server.DATAPATH_PROFILES, "broken", "no-such-port-type")
    emulation = Emulation(topology("not-transitive.yaml"), log=quiet, profile="broken")
    with pytest.raises(
        BuildError, match="Nitro card refused ports: .*eth-ul: could not open network device eth-ul"
    ):
        emulation.build()
    assert leftovers(emulation.names.short) == {"namespaces": [], "interfaces": []}


def test_the_afxdp_profile_keeps_every_check_verify_agrees():
    from vpclab.verify import report, verify

    verification = verify(topology("three-tier.yaml"), log=quiet, profile="afxdp")
    assert verification.agrees, report(verification, False)
    assert any(r.live for r in verification.results) and not all(r.live for r in verification.results)


def test_two_topologies_run_at_once_without_colliding():
    with (
        Emulation(topology("three-tier.yaml"), log=quiet) as first,
        Emulation(topology("open-sg.yaml"), log=quiet) as second,
    ):
        assert first.names.short != second.names.short
        app1, vault1 = first.hosts.hosts["app1"], second.hosts.hosts["vault1"]
        with listening([app1], 8080), listening([vault1], 22):
            assert attempt(first.hosts.hosts["web1"], "tcp:10.20.2.4:8080:34011")
            assert attempt(second.hosts.hosts["bastion1"], "tcp:10.30.2.4:22:34012")
            assert not attempt(second.hosts.hosts["job1"], "tcp:10.30.2.4:22:34013")


VPCLAB = os.path.join(os.path.dirname(sys.executable), "vpclab")


def start_up(name: str, script=None) -> subprocess.Popen:
    """`vpclab up TOPOLOGY` (--no-cli, or running ``script`` in its shell), returned once up."""
    mode = ["--script", str(script)] if script else ["--no-cli"]
    up = subprocess.Popen(
        [VPCLAB, "up", os.path.join(ROOT, "topologies", name), *mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in up.stdout:
        if line.startswith("*** up in"):
            break
    return up


def pid_of(command: str) -> int | None:
    """The PID of the process running exactly ``command`` (a unique command line of ours)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read().replace(b"\0", b" ").decode().strip() == command:
                        return int(entry)
            except OSError:
                pass
    return None


def wait_for_pid(command: str, timeout: float = 10.0) -> int | None:
    """``pid_of(command)``, waiting for it: a daemon started with ``setsid -f`` forks before it execs."""
    deadline = time.monotonic() + timeout
    while (pid := pid_of(command)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def card_services(topology: str) -> list[int]:
    """The process serving a run's metadata services and resolvers, by its command line."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
        except OSError:
            continue
        service = b"agents.card_services" in words
        if service and any(f"{Names(topology).run_dir}/".encode() in w for w in words) and alive(int(pid)):
            found.append(int(pid))
    return found


def test_teardown_ends_the_processes_a_user_started_in_instances():
    with Emulation(topology("not-transitive.yaml"), log=quiet) as lab:
        next(iter(lab.hosts.hosts.values())).cmd(  # a daemon: its own session, deaf to the shell's SIGHUP
            "setsid -f sh -c 'trap \"\" HUP; exec sleep 601.5' >/dev/null 2>&1 < /dev/null"
        )
        daemon = wait_for_pid("sleep 601.5")
        assert daemon is not None and alive(daemon)
    assert not alive(daemon)


def test_vpclab_clean_removes_a_killed_run_and_leaves_a_live_one(tmp_path):
    script = tmp_path / "daemon.cli"  # a daemon in app1 (as `iperf3 -s -D`), then the session waits
    daemon = "app1 setsid -f sh -c 'trap \"\" HUP; exec sleep 607.25' >/dev/null 2>&1 </dev/null"
    script.write_text(f"{daemon}\npy __import__('time').sleep(600)\n")
    dead, kept = start_up("tgw-blackhole.yaml", script), start_up("not-transitive.yaml")
    try:
        daemon = wait_for_pid("sleep 607.25")
        assert daemon is not None
        dead.kill()  # SIGKILL: no tear-down
        dead.wait()
        short = Names("hub-spoke").short
        assert leftovers(short)["namespaces"]
        cleaned = subprocess.run([VPCLAB, "clean"], capture_output=True, text=True)
        assert cleaned.returncode == 0 and cleaned.stdout.startswith("removed: ")
        assert f"left running: 'no-transit' (vpclab process {kept.pid})" in cleaned.stdout
        assert leftovers(short) == {"namespaces": [], "interfaces": []}
        assert not alive(daemon)  # started in an instance, found by the run's marker
        assert card_services("hub-spoke") == []  # the cards' metadata services and resolvers
        assert len(card_services("no-transit")) == 1  # every card's: the live run keeps it
        assert leftovers(Names("no-transit").short)["namespaces"]  # the live run is untouched
        again = subprocess.run(
            [VPCLAB, "up", os.path.join(ROOT, "topologies", "not-transitive.yaml"), "--no-cli"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 1
        assert f"topology 'no-transit' is already running: vpclab process {kept.pid} runs " in again.stderr
        forced = subprocess.run([VPCLAB, "clean", "no-transit", "--force"], capture_output=True, text=True)
        assert forced.returncode == 0 and "left running" not in forced.stdout
        assert leftovers(Names("no-transit").short) == {"namespaces": [], "interfaces": []}
        assert card_services("no-transit") == []
    finally:
        for up in (dead, kept):
            up.kill()
            up.wait()
        for name in ("hub-spoke", "no-transit"):
            if os.path.exists(Names(name).run_dir):
                clean_topology(Names(name))


def test_ctrl_c_during_bring_up_is_one_line_and_leaves_nothing(tmp_path):
    up = subprocess.Popen(
        [VPCLAB, "up", os.path.join(ROOT, "topologies", "three-tier.yaml"), "--no-cli"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in up.stdout:
        if line.startswith("*** servers:"):  # in the middle of bring-up
            break
    up.send_signal(signal.SIGINT)
    out, err = up.communicate(timeout=60)
    assert "Traceback" not in out + err
    assert err.strip().splitlines()[-1] == "vpclab up: interrupted; everything it built is removed"
    assert leftovers(Names("three-tier").short) == {"namespaces": [], "interfaces": []}
    assert list(tmp_path.iterdir()) == []  # an interrupt is not a failure: no copy of its logs


def test_an_invalid_topology_starts_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nvpcs:\n  - name: p\n    cidr: 10.0.0.0/8\n")
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "vpclab"), "up", str(bad), "--no-cli"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "between /16 and /28" in result.stderr
    assert not os.path.exists(Names("bad").run_dir)


def test_a_change_touches_only_the_affected_flows_on_the_switch():
    with Emulation(topology("tgw-incident.yaml"), log=quiet) as lab:
        before = {
            card.name: set(card.ofctl("dump-flows", "--no-stats").splitlines()[1:]) for card in lab.servers
        }
        answer = lab.api.change("blackhole", tgw="core", table="spokes", cidr="10.0.0.0/8")
        after = {
            card.name: set(card.ofctl("dump-flows", "--no-stats").splitlines()[1:]) for card in lab.servers
        }
        for name in before:
            assert len(before[name] - after[name]) == 1 and len(after[name] - before[name]) == 1
            assert answer["changed"][name] == {"added": 1, "deleted": 0}
        assert "0 received" in lab.hosts.hosts["app1"].cmd("ping -c 1 -W 1 10.0.1.4")


def test_a_restarted_controller_removes_stale_flows_and_keeps_the_rest(peering):
    lab = peering  # the module's running emulation (its name is taken while it runs)
    card = lab.servers_by_name["srv1"]
    count = len(card.ofctl("dump-flows").splitlines()) - 1
    lab.kill_controller()
    card.ofctl("add-flow", f"table={TABLE['vpc_route']},priority=9999,ip,nw_dst=10.9.9.9,actions=drop")
    assert len(card.ofctl("dump-flows").splitlines()) - 1 == count + 1
    lab.restart_controller()
    assert len(card.ofctl("dump-flows").splitlines()) - 1 == count
    assert lab.card_status()["srv1"]["deleted_on_connect"] == 1
    assert "1 received" in lab.hosts.hosts["web2"].cmd("ping -c 1 -W 2 10.1.1.4")


def test_runtime_changes_survive_a_controller_restart_unless_discarded():
    """The restarted controller reconciles to the running design, not to the file."""
    with Emulation(topology("tgw-incident.yaml"), log=quiet) as lab:
        app1 = lab.hosts.hosts["app1"]
        assert "1 received" in app1.cmd("ping -c 1 -W 2 10.0.1.4")
        lab.api.change("blackhole", tgw="core", table="spokes", cidr="10.0.0.0/8")
        lab.kill_controller()
        assert lab.applied_changes()[0]["operation"] == "blackhole"  # readable while it is down
        lab.restart_controller()
        assert "0 received" in app1.cmd("ping -c 1 -W 1 10.0.1.4")
        assert [c["operation"] for c in lab.api.call("changes")["changes"]] == ["blackhole"]
        lab.kill_controller()
        assert lab.restart_controller(discard_changes=True) == 1
        assert "1 received" in app1.cmd("ping -c 1 -W 2 10.0.1.4")
        assert lab.api.call("changes")["changes"] == []
