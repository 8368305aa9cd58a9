"""`vpclab exec` live (issue 35): a command from another process runs in an instance of a
running design, in its network and mount namespaces, and its exit code comes back; `trace`
and `reach` take the running design by its name, runtime changes included."""

import subprocess
import sys

from live_helpers import live, topology

from nitro_switch.emulation import Emulation

pytestmark = live


def _vpclab(*words: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vpclab.ui.cli", *words], capture_output=True, text=True, timeout=60
    )


def _exec(*words: str) -> subprocess.CompletedProcess:
    return _vpclab("exec", *words)


def test_a_command_runs_in_the_instance_and_its_exit_code_comes_back():
    design = topology("flow-logs.yaml")
    with Emulation(design, log=lambda line: None) as lab:
        mysql = _exec(
            "flow-logs", "web1", "--", "sh", "-c", "echo > /dev/tcp/10.0.2.4/3306 || ip -br addr show eth0"
        )
        assert "10.0.1.4/24" in mysql.stdout, mysql  # its own eth0 (nothing listens on 3306)
        assert (
            _exec("flow-logs", "web1", "--", "ping", "-c", "1", "-W", "1", "10.0.2.4").returncode == 1
        )  # db-sg
        resolver = _exec("flow-logs", "db1", "--", "cat", "/etc/resolv.conf")
        assert resolver.returncode == 0 and "nameserver 10.0.0.2" in resolver.stdout  # its mount namespace
        assert _exec("flow-logs", "dev2", "--", "sh", "-c", "exit 7").returncode == 7
        unknown = _exec("flow-logs", "nobody", "--", "true")
        assert unknown.returncode == 2 and "no instance or host 'nobody' in 'flow-logs'" in unknown.stderr

        assert _vpclab("trace", "flow-logs", "web1", "db1", "--protocol", "icmp").returncode == 1
        rule = {"protocol": "icmp", "cidr": "10.0.1.0/24"}
        lab.api.change("add-sg-rule", security_group="db-sg", direction="ingress", rule=rule)
        traced = _vpclab("trace", "flow-logs", "web1", "db1", "--protocol", "icmp")
        assert traced.returncode == 0, traced.stdout  # by the rule the file does not have: ingress[1]
        assert "ACCEPTED (admitted by vpcs[0].security_groups[0].ingress[1])" in traced.stdout
        assert _exec("flow-logs", "web1", "--", "ping", "-c", "1", "-W", "1", "10.0.2.4").returncode == 0
        matrix = _vpclab("reach", "flow-logs", "--protocol", "icmp", "--json")
        assert matrix.returncode == 0 and '"source": "web1"' in matrix.stdout
