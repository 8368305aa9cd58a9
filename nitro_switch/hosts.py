"""Instances as Mininet hosts, each wired by a veth into its server's Nitro card.

Wiring is batched (one ``ip -batch`` for every veth, created with its ends already in the
host and server namespaces; one ``ip -batch`` and one ovs-vsctl per server) because bring-up
time is dominated by process starts and interface moves.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from mininet.link import Intf
from mininet.net import Mininet
from mininet.node import Host, Node

from .clean import processes_in_namespaces, stop_processes
from .commands import ip_batch
from .names import RUN_MARKER, Names

HOST_INTERFACE = "eth0"  # every instance's interface, in its own namespace, as on EC2
INSTANCE_MTU = 1500  # the underlay runs at 9000, so 50 bytes of VXLAN never fragment


class ServerNode(Node):
    """A server's namespace as a Mininet node, so the shell runs commands there with its own
    OVS (``srv1 ovs-ofctl dump-flows br-int``, ``srv1 ovs-vsctl show``)."""

    def __init__(self, name: str, netns: str, ovs_dir: str):
        self.netns, self.ovs_dir = netns, ovs_dir
        super().__init__(name, inNamespace=False)

    def _popen(self, cmd, **params):
        if self.shell is None:  # the node's own shell: start it inside the server's namespace
            ovs = [f"OVS_{kind}DIR={self.ovs_dir}" for kind in ("RUN", "LOG", "DB")]
            cmd = ["ip", "netns", "exec", self.netns, "env", *ovs, *cmd]
        return super()._popen(cmd, **params)


class InstanceHosts:
    """The Mininet network that holds the instances (no Mininet switches: OVS is ours)."""

    def __init__(self, names: Names, plan):
        self.names, self.plan = names, plan
        self.net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False)
        self.hosts: dict[str, Host] = {}
        self.servers: dict[str, ServerNode] = {}

    def create(self, servers: dict) -> None:
        locals_ = list(self.plan.instances.values())
        for local in locals_:
            self.hosts[local.instance.name] = self.net.addHost(local.instance.name, ip=None)
        # each veth is created with its ends already in place (no root-namespace names): the
        # host end is eth0 in the host (as on EC2), the card end the plan's port name in the server
        ip_batch(
            [
                f"link add name {HOST_INTERFACE} netns {self.hosts[local.instance.name].pid} "
                f"type veth peer name {local.interface} "
                f"netns {servers[local.instance.server].netns}"
                for local in locals_
            ]
        )
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(self._attach, servers.values()))
        for local in locals_:  # every host configures itself at once, then we collect
            self._configure(local)
        for host in self.hosts.values():
            host.waitOutput()

    def _attach(self, server) -> None:
        """Bring this server's card ends up and add them to its Nitro card."""
        mine = self.plan.on_server(server.name)
        if not mine:
            return
        ip_batch([f"link set dev {local.interface} up" for local in mine], netns=server.netns)
        server.in_netns(
            "sh", "-c", "; ".join(f"ethtool -K {local.interface} tx off >/dev/null" for local in mine)
        )
        server.add_ports([(local.interface, local.port) for local in mine])

    def _configure(self, local) -> None:
        instance = local.instance
        host = self.hosts[instance.name]
        subnet = self.plan.topology.vpc(instance.vpc).subnet(instance.subnet)
        name = HOST_INTERFACE
        interface = Intf(name, node=host, moveIntfFn=lambda *args: None)  # already in place
        interface.ip, interface.prefixLen, interface.mac = (
            str(instance.ip),
            subnet.cidr.prefixlen,
            local.mac,
        )
        host.sendCmd(
            "; ".join(
                (
                    "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                    f"ip link set dev {name} address {local.mac} mtu {INSTANCE_MTU} up",
                    f"ip addr add {instance.ip}/{subnet.cidr.prefixlen} dev {name}",
                    f"ip route add default via {subnet.router_address}",
                    f"ethtool -K {name} tx off >/dev/null",
                    "ip link set lo up",
                    f"export {RUN_MARKER}={self.names.topology}",
                )
            )
        )

    def add_servers(self, servers) -> None:
        """Make each server a node of the network, beside the instances (for the shell)."""
        for server in servers:
            node = ServerNode(server.name, server.netns, server.dir)
            self.servers[server.name] = node
            self.net.nameToNode[server.name] = node

    def pids(self) -> list[int]:
        return [node.pid for node in [*self.hosts.values(), *self.servers.values()] if node.pid]

    def terminate(self) -> None:
        """End every process in the instances' namespaces (daemons a user started there
        too, found by namespace, never by name), then the nodes."""
        inodes = set()
        for name, host in self.hosts.items():
            try:
                with open(f"/proc/{host.pid}/cmdline", "rb") as handle:
                    if f"mininet:{name}".encode() in handle.read():  # still the instance's shell
                        inodes.add(os.stat(f"/proc/{host.pid}/ns/net").st_ino)
            except (OSError, TypeError):
                pass
        stop_processes(set(), self.names.run_dir, processes_in_namespaces(inodes))
        for node in [*self.hosts.values(), *self.servers.values()]:
            node.terminate()
        self.hosts.clear()
        self.servers.clear()
