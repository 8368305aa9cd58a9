"""Bring-up time: a 4-VPC, 8-server, 32-instance topology vs plain Mininet.

The baseline is plain Mininet with the same 32 hosts on 8 OVS userspace switches (one private
ovs-vswitchd, standalone mode, no controller). vpclab's time includes its controller and
waiting for every Nitro card's flows. Target: vpclab <= 1.5x the baseline.
Usage: python bench/bringup.py [--runs 3]   (as root)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from itertools import pairwise

import yaml
from _lib import save
from mininet.net import Mininet
from mininet.node import OVSSwitch
from mininet.topo import Topo

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

VPCS, SERVERS, PER_VPC = 4, 8, 8


def bench_topology(path: str) -> None:
    vpcs = []
    for v in range(VPCS):
        subnets = [{"name": f"s{n}", "cidr": f"10.{v}.{n}.0/24"} for n in (1, 2)]
        vpcs.append(
            {
                "name": f"vpc{v}",
                "cidr": f"10.{v}.0.0/16",
                "subnets": subnets,
                "route_tables": [
                    {
                        "name": "rt",
                        "main": True,
                        "routes": [{"destination": "10.0.0.0/8", "transit_gateway": "core"}],
                    }
                ],
                "instances": [
                    {"name": f"i{v}x{n}", "subnet": subnets[n % 2]["name"]} for n in range(PER_VPC)
                ],
            }
        )
    attachments = [{"name": f"att{v}", "vpc": f"vpc{v}", "subnets": ["s1"]} for v in range(VPCS)]
    names = [a["name"] for a in attachments]
    data = {
        "name": "bench-up",
        "servers": SERVERS,
        "vpcs": vpcs,
        "transit_gateways": [
            {
                "name": "core",
                "attachments": attachments,
                "route_tables": [{"name": "all", "associations": names, "propagations": names}],
            }
        ],
    }
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)


def vpclab_seconds(topology) -> float:
    emulation = Emulation(topology, log=lambda line: None)
    started = time.monotonic()
    emulation.build()
    elapsed = time.monotonic() - started
    emulation.teardown()
    return elapsed


def mininet_seconds(servers: int = SERVERS, hosts: int = VPCS * PER_VPC) -> float:
    """Plain Mininet: ``hosts`` hosts on ``servers`` userspace OVS switches in a line, on a
    private ovs-vswitchd."""

    class UserspaceOVS(OVSSwitch):
        OVSVersion = subprocess.run(
            ["ovs-vsctl", "--version"], capture_output=True, text=True
        ).stdout.split()[3]

        @classmethod
        def setup(cls):  # Mininet would modprobe the kernel module, absent here
            return None

    class Servers(Topo):
        def build(self):
            switches = [self.addSwitch(f"s{n}", dpid=f"{n:016x}") for n in range(1, servers + 1)]
            for a, b in pairwise(switches):
                self.addLink(a, b)
            for n in range(hosts):
                self.addLink(self.addHost(f"h{n}"), switches[n % servers])

    rundir = tempfile.mkdtemp(prefix="vpclab-bench-ovs-")
    env = {**os.environ, "OVS_RUNDIR": rundir, "OVS_LOGDIR": rundir, "OVS_DBDIR": rundir}
    os.environ.update(OVS_RUNDIR=rundir, OVS_LOGDIR=rundir, OVS_DBDIR=rundir)
    subprocess.run(
        ["ovsdb-tool", "create", f"{rundir}/conf.db", "/usr/share/openvswitch/vswitch.ovsschema"], check=True
    )
    subprocess.run(
        [
            "ovsdb-server",
            f"{rundir}/conf.db",
            f"--remote=punix:{rundir}/db.sock",
            f"--pidfile={rundir}/db.pid",
            "--detach",
            "--no-chdir",
        ],
        check=True,
        env=env,
    )
    subprocess.run(["ovs-vsctl", "--no-wait", "init"], check=True, env=env)
    subprocess.run(
        ["ovs-vswitchd", f"unix:{rundir}/db.sock", f"--pidfile={rundir}/vs.pid", "--detach", "--no-chdir"],
        check=True,
        env=env,
    )
    try:
        net = Mininet(
            topo=Servers(),
            switch=lambda name, **kw: UserspaceOVS(name, datapath="user", failMode="standalone", **kw),
            controller=None,
            build=False,
            autoSetMacs=True,
        )
        started = time.monotonic()
        try:
            net.build()
            net.start()
            return time.monotonic() - started
        finally:
            net.stop()
    finally:
        for pidfile in ("vs.pid", "db.pid"):
            with open(f"{rundir}/{pidfile}", encoding="utf-8") as handle:
                subprocess.run(["kill", handle.read().strip()])
        time.sleep(0.5)
        shutil.rmtree(rundir, ignore_errors=True)
        for key in ("OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR"):
            os.environ.pop(key, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench-up.yaml")
        bench_topology(path)
        topology = load_topology(path)
        vpclab = [vpclab_seconds(topology) for _ in range(args.runs)]
    mininet = [mininet_seconds() for _ in range(args.runs)]
    ratio = statistics.median(vpclab) / statistics.median(mininet)
    print(
        f"vpclab  ({VPCS} VPCs, {SERVERS} servers, {VPCS * PER_VPC} instances, flows installed): "
        f"median {statistics.median(vpclab):.2f} s  runs {', '.join(f'{t:.2f}' for t in vpclab)}"
    )
    print(
        f"Mininet (same hosts, {SERVERS} userspace OVS switches): median "
        f"{statistics.median(mininet):.2f} s  runs {', '.join(f'{t:.2f}' for t in mininet)}"
    )
    print(f"ratio vpclab/Mininet: {ratio:.2f} (target <= 1.5)")

    def plot(axes):
        axes.bar(
            ["plain Mininet", "vpclab"],
            [statistics.median(mininet), statistics.median(vpclab)],
            color=["#4c72b0", "#dd8452"],
        )
        axes.set_ylabel("bring-up, seconds (median)")
        axes.set_title(f"{VPCS} VPCs, {SERVERS} servers, {VPCS * PER_VPC} instances: ratio {ratio:.2f}")

    print(save("bringup", {"vpclab_s": vpclab, "mininet_s": mininet, "ratio": ratio}, plot))


if __name__ == "__main__":
    main()
