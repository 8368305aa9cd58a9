"""Instances as Mininet hosts, each wired by a veth into its server's Nitro card."""
from __future__ import annotations

from mininet.link import Intf
from mininet.net import Mininet
from mininet.node import Host

from controller.instances import router_address

from .names import Names
from .shell import run

INSTANCE_MTU = 1500  # the underlay runs at 9000, so 50 bytes of VXLAN never fragment


class InstanceHosts:
    """The Mininet network that holds the instances (no Mininet switches: OVS is ours)."""

    def __init__(self, names: Names, plan):
        self.names, self.plan = names, plan
        self.net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False)
        self.hosts: dict[str, Host] = {}

    def create(self, servers: dict) -> None:
        for index, local in enumerate(self.plan.instances.values(), start=1):
            instance = local.instance
            host = self.net.addHost(instance.name, ip=None)
            self.hosts[instance.name] = host
            self._wire(index, host, local, servers[instance.server])
            subnet = self.plan.topology.vpc(instance.vpc).subnet(instance.subnet)
            interface = host.defaultIntf()
            interface.ip, interface.prefixLen, interface.mac = (str(instance.ip),
                                                                subnet.cidr.prefixlen, local.mac)
            for command in (f"sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                            f"ip link set {interface} address {local.mac} mtu {INSTANCE_MTU} up",
                            f"ip addr add {instance.ip}/{subnet.cidr.prefixlen} dev {interface}",
                            f"ip route add default via {router_address(subnet)}",
                            f"ethtool -K {interface} tx off",
                            "ip link set lo up"):
                host.cmd(command)

    def _wire(self, index: int, host: Host, local, server) -> None:
        """A veth made under temporary names (unique to this topology), then moved and renamed:
        the host end becomes <instance>-eth0, the card end <instance> on br-int."""
        host_end, card_end = (self.names.temporary_veth(index, "a"),
                              self.names.temporary_veth(index, "b"))
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", card_end)
        run("ip", "link", "set", card_end, "netns", server.netns)
        server.in_netns("ip", "link", "set", card_end, "name", local.interface)
        server.in_netns("ip", "link", "set", local.interface, "up")
        server.in_netns("ethtool", "-K", local.interface, "tx", "off")
        server.add_port(local.interface, local.port)

        def move_and_rename(name, node):
            run("ip", "link", "set", host_end, "netns", str(node.pid))
            node.cmd(f"ip link set {host_end} name {name}")

        Intf(f"{host.name}-eth0", node=host, moveIntfFn=move_and_rename)

    def pids(self) -> list[int]:
        return [host.pid for host in self.hosts.values() if host.pid]

    def terminate(self) -> None:
        for host in self.hosts.values():
            host.terminate()
        self.hosts.clear()
