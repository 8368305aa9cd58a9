"""Instances as Mininet hosts, each wired by a veth into its server's Nitro card.

Wiring is batched (one ``ip -batch`` for every veth, created with its ends already in the
host and server namespaces; one ``ip -batch`` and one ovs-vsctl per server) because bring-up
time is dominated by process starts and interface moves.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mininet.link import Intf
from mininet.net import Mininet
from mininet.node import Host, Node

from agents.launch import CARD_SERVICES_READY, Process
from agents.launch import command as launch
from vpclab.intent.model import (
    EC2_INTERNAL,
    INSTANCE_MTU,
    INTERNET_CARD,
    INTERNET_MTU,
    METADATA_ADDRESS,
    METADATA_ADDRESS_V6,
    RESOLVER_ADDRESS,
    RESOLVER_ADDRESS_V6,
)
from vpclab.layout.names import RUN_MARKER, Names
from vpclab.layout.pipeline import ROUTER_MAC
from vpclab.layout.plan import (
    INTERNET_ROUTER,
    INTERNET_ROUTER_V6,
    METADATA_CLIENTS_V6,
    METADATA_MAC,
    METADATA_PORT,
    RESOLVER_STAND_IN,
)

from .clean import processes_in_namespaces, stop_processes
from .commands import BuildError, ip_batch

HOST_INTERFACE = "eth0"  # every instance's interface, in its own namespace, as on EC2
METADATA_INTERFACE = "imds"  # the metadata service's port on each card
CONTAINER_NETWORK, CONTAINER_GATEWAY, CONTAINER_ADDRESS = "172.17.0.0/24", "172.17.0.1", "172.17.0.2"


@dataclass(frozen=True)
class Port:
    """A host's veth into a card: the host, the card, the card end's name and ofport, and the
    MTU of both ends (the host's setting; the underlay leaves room for VXLAN around it)."""

    host: str
    card: str
    interface: str
    number: int
    mtu: int


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

    def __init__(self, names: Names, plan, mtu_limit: int = INSTANCE_MTU):
        self.names, self.plan, self.mtu_limit = names, plan, mtu_limit
        self.net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False)
        self.hosts: dict[str, Host] = {}
        self.servers: dict[str, ServerNode] = {}
        self.metadata: dict[str, Host] = {}  # server -> its metadata namespace (not in the CLI)
        self.services = None  # the process serving every card's metadata and DNS
        self.containers: dict[str, Host] = {}  # name -> a namespace behind an instance

    def ports(self) -> list[Port]:
        """Every host's port: the instances on their servers, the internet hosts on theirs."""
        ports = [
            Port(p.instance.name, p.instance.server, p.interface, p.port, self._mtu(p.instance))
            for p in self.plan.instances.values()
        ]
        ports += [
            Port(p.host.name, INTERNET_CARD, p.interface, p.port, INTERNET_MTU)
            for p in self.plan.internet_hosts.values()
        ]
        return ports

    def _mtu(self, instance) -> int:
        return min(instance.mtu, self.mtu_limit)

    def metadata_ports(self) -> list[Port]:
        """The metadata service's port on every server's card (an instance may be launched on
        any of them at run time)."""
        return [
            Port(f"imds-{s.name}", s.name, METADATA_INTERFACE, METADATA_PORT, self.mtu_limit)
            for s in self.plan.topology.servers
        ]

    def create(self, servers: dict) -> None:
        ports = self.ports()
        for port in ports:
            self.hosts[port.host] = self.net.addHost(port.host, ip=None)
        services = self.metadata_ports()
        for port in services:
            self.metadata[port.card] = Host(port.host)
        nodes = {**self.hosts, **{port.host: self.metadata[port.card] for port in services}}
        ports += services
        # each veth is created with its ends already in place (no root-namespace names): the
        # host end is eth0 in the host (as on EC2), the card end the plan's port name in the server
        ip_batch(
            [
                f"link add name {HOST_INTERFACE} netns {nodes[port.host].pid} "
                f"type veth peer name {port.interface} netns {servers[port.card].netns}"
                for port in ports
            ]
        )
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(lambda server: self._attach(server, ports), servers.values()))
        for local in self.plan.instances.values():  # every host configures itself at once
            self._configure(local)
        for outside in self.plan.internet_hosts.values():
            self._configure_internet_host(outside)
        for host in self.hosts.values():
            host.waitOutput()
        for server, service in self.metadata.items():
            self._metadata_namespace(server, service)
        if self.metadata:
            self._start_card_services()

    def launch(self, local, server) -> Host:
        """An instance launched at run time (or an internet host: an AWS service's, made with
        the first gateway endpoint to it): its host, wired into ``server``'s card at the plan's
        port and configured as at bring-up (the card's metadata service and resolver read the
        running design, so they know it at once)."""
        internet = not hasattr(local, "instance")  # a HostPlan, not an InstancePlan
        name = _host_name(local)
        host = self.hosts[name] = self.net.addHost(name, ip=None)
        mtu = INTERNET_MTU if internet else self._mtu(local.instance)
        port = Port(name, server.name, local.interface, local.port, mtu)
        ip_batch(
            [
                f"link add name {HOST_INTERFACE} netns {host.pid} "
                f"type veth peer name {port.interface} netns {server.netns}"
            ]
        )
        self._attach(server, [port])
        if internet:
            self._configure_internet_host(local)
        else:
            self._configure(local)
        host.waitOutput()
        return host

    def terminate_instance(self, local, server) -> None:
        """An instance terminated at run time (or an internet host that went: an AWS service's
        whose last gateway endpoint was deleted): every process in its namespace ends, its
        namespace and veth go, and its port leaves the card."""
        host = self.hosts.pop(_host_name(local))
        server.vsctl("--if-exists", "del-port", local.interface)
        server.in_netns("ip", "link", "del", local.interface)  # and its peer, the host's eth0
        inode = os.stat(f"/proc/{host.pid}/ns/net").st_ino
        stop_processes(set(), self.names.run_dir, processes_in_namespaces({inode}))
        host.terminate()  # its shell is gone with the rest: Mininet forgets it
        self.net.hosts.remove(host)
        del self.net.nameToNode[host.name]

    def stop_instance(self, local) -> None:
        """An instance stopped at run time: its eth0 goes down (its addresses stay) and what ran
        in it ends, as a shut-down OS's processes do (its shell stays, for a start)."""
        host = self.hosts[local.instance.name]
        host.cmd(f"ip link set dev {HOST_INTERFACE} down")
        inode = os.stat(f"/proc/{host.pid}/ns/net").st_ino
        stop_processes(set(), self.names.run_dir, processes_in_namespaces({inode}) - {host.pid})

    def start_instance(self, local) -> None:
        """A stopped instance started: its eth0 up again, with its routes."""
        instance = local.instance
        host = self.hosts[instance.name]
        subnet = self.plan.topology.vpc(instance.vpc).subnet(instance.subnet)
        commands = [f"ip link set dev {HOST_INTERFACE} up"]
        if instance.ip is not None:
            commands.append(f"ip route replace default via {subnet.router_address}")
        if instance.ipv6 is not None:
            commands.append(
                f"ip -6 route replace default via {subnet.router_address_v6} dev {HOST_INTERFACE}"
            )
        host.cmd("; ".join(commands))

    def _metadata_namespace(self, server: str, service: Host) -> None:
        """The card's metadata namespace: 169.254.169.254 and the resolver's addresses on its
        own interface, and its logs beside the run's."""
        service.cmd("; ".join(_interface_commands(METADATA_MAC, self.mtu_limit, f"{METADATA_ADDRESS}/16")))
        for address in (RESOLVER_ADDRESS, RESOLVER_STAND_IN):
            service.cmd(f"ip addr add {address}/16 dev {HOST_INTERFACE}")
        # over IPv6: fd00:ec2::254 and ::253; the instances' link-local IPv6 addresses are
        # routed to the card (the VPC router's MAC, a permanent neighbour)
        commands = _ipv6_commands(
            f"{METADATA_ADDRESS_V6}/128", INTERNET_ROUTER_V6, neighbour=True, towards=str(METADATA_CLIENTS_V6)
        )
        commands += (f"ip -6 addr add {RESOLVER_ADDRESS_V6}/128 dev {HOST_INTERFACE} nodad",)
        service.cmd("; ".join(commands))
        for name in (f"metadata-{server}.log", f"resolver-{server}.log"):
            open(os.path.join(self.names.run_dir, name), "w").close()

    def _start_card_services(self) -> None:
        """One process serves every card's metadata and DNS (``agents.card_services``),
        started in the first card's metadata namespace: it ends with that namespace's processes
        (``terminate``); after a crash `vpclab clean` finds it by the run's marker."""
        cards = [f"--card={server}={service.pid}" for server, service in self.metadata.items()]
        first = next(iter(self.metadata.values()))
        command = ["env", f"{RUN_MARKER}={self.names.topology}", *launch(Process.CARD_SERVICES)]
        command += ["--intent", self.names.intent_file, "--run-dir", self.names.run_dir, *cards]
        with open(os.path.join(self.names.run_dir, "card-services.log"), "w") as log:
            self.services = first.popen(command, stdout=log, stderr=log)

    def wait_for_card_services(self, timeout: float) -> None:
        """Wait until the cards' services listen (their process writes its ready file); a
        process that ended or a wait past ``timeout`` fails the bring-up with its log's tail."""
        if self.services is None:
            return
        ready = os.path.join(self.names.run_dir, CARD_SERVICES_READY)
        deadline = time.monotonic() + timeout
        while not os.path.exists(ready):
            ended = self.services.poll() is not None
            if ended or time.monotonic() > deadline:
                with open(os.path.join(self.names.run_dir, "card-services.log"), encoding="utf-8") as log:
                    tail = "".join(log.readlines()[-5:]).strip()
                state = "ended" if ended else f"did not listen within {timeout:.0f} s"
                raise BuildError(f"the cards' metadata and DNS services {state}: {tail or '(no output)'}")
            time.sleep(0.05)

    def _attach(self, server, ports: list[Port]) -> None:
        """Bring this server's card ends up and add them to its Nitro card."""
        mine = [port for port in ports if port.card == server.name]
        if not mine:
            return
        ip_batch([f"link set dev {port.interface} mtu {port.mtu} up" for port in mine], netns=server.netns)
        server.in_netns(
            "sh", "-c", "; ".join(f"ethtool -K {port.interface} tx off >/dev/null" for port in mine)
        )
        server.add_ports([(port.interface, port.number) for port in mine])

    def _configure_internet_host(self, local) -> None:
        """An internet host: its address alone (/32) and the internet's router on-link (an AWS
        service's host: every address of its block, as Linux's local routes take them)."""
        host = self.hosts[local.host.name]
        interface = Intf(HOST_INTERFACE, node=host, moveIntfFn=lambda *args: None)
        interface.ip, interface.prefixLen, interface.mac = str(local.host.ip), 32, local.mac
        commands = _interface_commands(
            local.mac,
            INTERNET_MTU,
            f"{local.host.ip}/32",
            f"default via {INTERNET_ROUTER} dev {HOST_INTERFACE} onlink",
        )
        if local.host.ipv6 is not None:  # its router: a link-local neighbour it knows
            commands += _ipv6_commands(f"{local.host.ipv6}/128", INTERNET_ROUTER_V6, neighbour=True)
        commands += self._no_resolver()
        if local.host.network is not None:  # an AWS service answers on every address of its block
            commands += (f"ip route add local {local.host.network} dev lo",)
        host.sendCmd("; ".join((*commands, f"export {RUN_MARKER}={self.names.topology}")))

    def _configure(self, local) -> None:
        instance = local.instance
        host = self.hosts[instance.name]
        subnet = self.plan.topology.vpc(instance.vpc).subnet(instance.subnet)
        interface = Intf(HOST_INTERFACE, node=host, moveIntfFn=lambda *args: None)  # already in place
        if instance.ip is not None:
            interface.ip, interface.prefixLen = str(instance.ip), subnet.ipv4.prefixlen
        interface.mac = local.mac
        commands = _interface_commands(
            local.mac,
            self._mtu(instance),
            f"{instance.ip}/{subnet.ipv4.prefixlen}" if instance.ip is not None else "",
            f"default via {subnet.router_address}" if instance.ip is not None else "",
        )
        if instance.ipv6 is not None:  # the /64 on-link; the VPC router answers neighbour discovery
            assert subnet.ipv6_cidr is not None and subnet.router_address_v6 is not None
            address = f"{instance.ipv6}/{subnet.ipv6_cidr.prefixlen}"
            commands += _ipv6_commands(address, subnet.router_address_v6)
        if not instance.source_dest_check:  # an appliance: it forwards what is routed to it
            commands += APPLIANCE_SYSCTLS
        commands += self._resolv_conf(instance)
        if instance.stopped:  # its interface is there, down: it sends and answers nothing
            commands += (f"ip link set dev {HOST_INTERFACE} down",)
        host.sendCmd("; ".join((*commands, f"export {RUN_MARKER}={self.names.topology}")))

    def _no_resolver(self) -> tuple[str, ...]:
        """An internet host's /etc/resolv.conf: no name server (the machine's is out of its
        reach), so a lookup fails at once instead of hanging; python's http.server looks its
        own address up before it listens."""
        path = os.path.join(self.names.run_dir, "resolv-internet.conf")
        if not os.path.exists(path):  # one file for every internet host
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("# vpclab: the internet's hosts have no resolver\nnameserver 127.0.0.1\n")
        return ("mount --make-rprivate /", f"mount --bind {path} /etc/resolv.conf")

    def _resolv_conf(self, instance) -> tuple[str, ...]:
        """The instance's own /etc/resolv.conf (bind-mounted in its mount namespace, which
        Mininet's mnexec gives every host): AmazonProvidedDNS, the VPC's base + 2; an IPv6-only
        instance's at fd00:ec2::253."""
        vpc = self.plan.topology.vpc(instance.vpc)
        path = os.path.join(self.names.run_dir, f"resolv-{instance.name}.conf")
        server = vpc.resolver_address if instance.ip is not None else RESOLVER_ADDRESS_V6
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(
                f"# vpclab: the resolver of VPC {vpc.name}\n"
                f"nameserver {server}\n"
                f"search {self.plan.topology.dns_domain} {EC2_INTERNAL}\n"
                "options timeout:1 attempts:2\n"
            )
        return ("mount --make-rprivate /", f"mount --bind {path} /etc/resolv.conf")

    def add_container(self, instance: str, name: str, publish: tuple[int, ...] = ()) -> Host:
        """A container behind ``instance``: a namespace one routed hop away (172.17.0.2 behind
        the instance's 172.17.0.1, masqueraded as the instance, as Docker's bridge does); the
        TCP ports in ``publish`` reach it through the instance's address (``docker run -p``)."""
        host, container = self.hosts[instance], Host(name)
        self.containers[name] = container
        bridge = f"c-{name}"[:15]
        veth = f"link add name {HOST_INTERFACE} netns {container.pid} type veth peer name {bridge}"
        ip_batch([f"{veth} netns {host.pid}"])
        host.cmd(
            "; ".join(
                (
                    f"ip addr add {CONTAINER_GATEWAY}/24 dev {bridge}",
                    f"ip link set dev {bridge} up",
                    "sysctl -qw net.ipv4.ip_forward=1",
                    "nft add table ip vpclab-containers",
                    "nft 'add chain ip vpclab-containers out { type nat hook postrouting priority 100 ; }'",
                    f"nft add rule ip vpclab-containers out ip saddr {CONTAINER_NETWORK} "
                    f"oifname {HOST_INTERFACE} masquerade",
                    *self._published(publish),
                )
            )
        )
        container.cmd(
            "; ".join(
                (
                    f"ip addr add {CONTAINER_ADDRESS}/24 dev {HOST_INTERFACE}",
                    f"ip link set dev {HOST_INTERFACE} up",
                    f"ip route add default via {CONTAINER_GATEWAY}",
                    "ip link set lo up",
                    f"export {RUN_MARKER}={self.names.topology}",
                )
            )
        )
        return container

    @staticmethod
    def _published(ports: tuple[int, ...]) -> list[str]:
        if not ports:
            return []
        listed = ", ".join(str(port) for port in ports)
        return [
            "nft 'add chain ip vpclab-containers in { type nat hook prerouting priority -100 ; }'",
            f"nft add rule ip vpclab-containers in iifname {HOST_INTERFACE} tcp dport '{{ {listed} }}' "
            f"dnat to {CONTAINER_ADDRESS}",
        ]

    def metadata_requests(self, server: str) -> list[dict]:
        """What ``server``'s metadata service has answered so far, oldest first (its log)."""
        with open(os.path.join(self.names.run_dir, f"metadata-{server}.log"), encoding="utf-8") as log:
            return [json.loads(line) for line in log if line.startswith("{")]

    def add_servers(self, servers) -> None:
        """Make each server a node of the network, beside the instances (for the shell)."""
        for server in servers:
            node = ServerNode(server.name, server.netns, server.dir)
            self.servers[server.name] = node
            self.net.nameToNode[server.name] = node

    def pids(self) -> list[int]:
        return [node.pid for node in self._hidden_and_shown() + list(self.servers.values()) if node.pid]

    def _hidden_and_shown(self) -> list[Host]:
        """The instances and internet hosts, the metadata services and the containers."""
        return [*self.hosts.values(), *self.metadata.values(), *self.containers.values()]

    def terminate(self) -> None:
        """End every process in the instances' namespaces (daemons a user started there
        too, found by namespace, never by name), then the nodes."""
        inodes = set()
        for host in self._hidden_and_shown():
            try:
                with open(f"/proc/{host.pid}/cmdline", "rb") as handle:
                    if f"mininet:{host.name}".encode() in handle.read():  # still the instance's shell
                        inodes.add(os.stat(f"/proc/{host.pid}/ns/net").st_ino)
            except (OSError, TypeError):
                pass
        stop_processes(set(), self.names.run_dir, processes_in_namespaces(inodes))
        for node in [*self._hidden_and_shown(), *self.servers.values()]:
            node.terminate()
        self.hosts.clear()
        self.metadata.clear()
        self.containers.clear()
        self.servers.clear()


APPLIANCE_SYSCTLS = (
    "sysctl -qw net.ipv4.ip_forward=1",
    "sysctl -qw net.ipv6.conf.all.forwarding=1",
    "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
    f"sysctl -qw net.ipv4.conf.{HOST_INTERFACE}.rp_filter=0",
    "sysctl -qw net.ipv4.conf.all.send_redirects=0",
    f"sysctl -qw net.ipv4.conf.{HOST_INTERFACE}.send_redirects=0",
)


def _host_name(local) -> str:
    """The host of an instance's plan (InstancePlan) or of an internet host's (HostPlan)."""
    return local.instance.name if hasattr(local, "instance") else local.host.name


def _interface_commands(mac: str, mtu: int, address: str, route: str = "") -> tuple[str, ...]:
    """Set up a host's eth0 (its veth into a card): ``mac``, ``mtu``, its IPv4 ``address``
    (with its prefix length) and ``route`` if given, no TX checksum offload (the userspace
    datapath does not complete a veth's partial checksums), and the loopback. IPv6 stays off
    until ``_ipv6_commands`` gives it an address; no router advertisements are listened to."""
    return (
        f"sysctl -qw net.ipv6.conf.{HOST_INTERFACE}.disable_ipv6=1",
        f"sysctl -qw net.ipv6.conf.{HOST_INTERFACE}.accept_ra=0",
        f"ip link set dev {HOST_INTERFACE} address {mac} mtu {mtu} up",
        *([f"ip addr add {address} dev {HOST_INTERFACE}"] if address else []),
        *([f"ip route add {route}"] if route else []),
        f"ethtool -K {HOST_INTERFACE} tx off >/dev/null",
        "ip link set lo up",
    )


def _ipv6_commands(
    address: str, router, neighbour: bool = False, towards: str = "default"
) -> tuple[str, ...]:
    """IPv6 on eth0: ``address`` (its prefix length on-link), without duplicate address
    detection (the card knows every address), and the route ``towards`` (default: the default
    route) via ``router``; with ``neighbour``, the router's MAC as a permanent neighbour (the
    internet's hosts and the metadata service: no VPC router answers them)."""
    return (
        f"sysctl -qw net.ipv6.conf.{HOST_INTERFACE}.disable_ipv6=0",
        f"ip -6 addr add {address} dev {HOST_INTERFACE} nodad",
        *(
            [f"ip -6 neigh replace {router} lladdr {ROUTER_MAC} dev {HOST_INTERFACE} nud permanent"]
            if neighbour
            else []
        ),
        f"ip -6 route add {towards} via {router} dev {HOST_INTERFACE}",
    )
