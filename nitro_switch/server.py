"""One emulated physical server: a network namespace with its own OVS, the Nitro card.

Recipe measured on these machines (see shared/dataplane-notes.md): one ovsdb-server and one
ovs-vswitchd per server, in the server's namespace, userspace datapath; ``br-phy`` carries the
server's underlay address on a veth into the underlay bridge; ``br-int`` is the Nitro card with
one flow-based VXLAN port (ofport 100); a socat relay joins the card to the controller.

The card's MSS clamp (ofport 101): a veth pair in the server's namespace whose far end sends
every packet straight back (nftables, netdev ingress, ``fwd``) after lowering the MSS option of
a SYN or SYN-ACK to what fits a transit gateway, checksum updated by the kernel: AWS clamps
every TCP connection through a TGW, and so the data plane does it at the kernel's speed, with no
round trip to the controller per connection.
"""

from __future__ import annotations

import csv
import os
import subprocess

from vpclab.intent.model import INSTANCE_MTU, INTERNET_MTU, TGW_MSS
from vpclab.layout.names import Names
from vpclab.layout.pipeline import (
    COLLECTOR_SET,
    IPFIX_PORT,
    MSS_CLAMP_INTERFACES,
    MSS_CLAMP_PORT,
    TUNNEL_PORT,
)

from . import buffers
from .commands import BuildError, run

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
# the underlay carries an instance's largest frame (9001 + 14) in VXLAN (50 bytes more)
UNDERLAY_MTU = 9216
CARD = "br-int"
PHYSICAL = "br-phy"
UPLINK = "eth-ul"
IPFIX_CACHE_FLOWS = 4096  # flows the exporter aggregates at once (more: exported at once)
# how a card's ports meet the kernel: "standard" reads and writes each packet through a socket
# (netdev-linux); "afxdp" maps the veth's rings into ovs-vswitchd with AF_XDP (no PMD threads
# here: 2 cores), about 1.7-1.9x the TCP throughput for about 73 MiB more per port
# (bench/throughput.py)
DATAPATH_PROFILES = {"standard": "system", "afxdp": "afxdp-nonpmd"}
# the largest instance MTU each profile's ports carry: OVS 3.1's AF_XDP ports here pass no
# jumbo frame (measured: a 2,000-byte ping is lost), so with afxdp every instance runs at 1500
PROFILE_MTU = {"standard": INSTANCE_MTU, "afxdp": INTERNET_MTU}


def phy_mac(index: int) -> str:
    """A fixed MAC for server ``index``'s br-phy (so tunnel neighbours can be pre-seeded)."""
    return f"02:fe:00:00:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


IPV6_EXTRA_HEADER = 20  # an IPv6 header is 40 bytes, IPv4's 20: a segment carries that much less


def mss_clamp_ruleset(device: str, mss: int = TGW_MSS) -> str:
    """nftables for the kernel's end of the MSS clamp: a SYN or SYN-ACK whose MSS option is
    above ``mss`` (IPv4's; over IPv6, 20 bytes less: its header is 40) gets it; every packet
    goes back out the way it came."""
    clamps = "\n".join(
        f"        ether type {family} tcp flags & (syn | rst) == syn "
        f"tcp option maxseg size > {limit} tcp option maxseg size set {limit}"
        for family, limit in (("ip6", mss - IPV6_EXTRA_HEADER), ("ip", mss))
    )
    return f"""table netdev vpclab_mss_clamp {{
    chain clamp {{
        type filter hook ingress device "{device}" priority 0; policy accept;
{clamps}
        fwd to "{device}"
    }}
}}
"""


class NitroServer:
    def __init__(
        self,
        names: Names,
        name: str,
        index: int,
        underlay_ip: str,
        prefix_len: int,
        profile: str = "standard",
    ):
        self.names, self.name, self.index = names, name, index
        self.port_type = DATAPATH_PROFILES[profile]
        self.underlay_ip, self.prefix_len = underlay_ip, prefix_len
        self.netns = names.netns(name)
        self.dir = names.server_dir(name)
        self.relay: subprocess.Popen | None = None
        self.bridge = names.underlay_bridge  # the underlay it joins (its Region's, if several)

    # -- commands ----------------------------------------------------------------------------
    @property
    def env(self) -> dict:
        return {**os.environ, "OVS_RUNDIR": self.dir, "OVS_LOGDIR": self.dir, "OVS_DBDIR": self.dir}

    def vsctl(self, *args: str) -> str:
        return run("ovs-vsctl", f"--db=unix:{self.dir}/db.sock", "--timeout=10", *args, env=self.env)

    def ofctl(self, command: str, *args: str) -> str:
        """``ovs-ofctl COMMAND`` on this server's Nitro card, e.g. ofctl("dump-flows")."""
        return run("ovs-ofctl", "-O", "OpenFlow13", command, self.card_target(), *args, env=self.env)

    def appctl(self, *args: str) -> str:
        return run("ovs-appctl", "-t", f"{self.dir}/ovs-vswitchd.ctl", *args, env=self.env)

    def flush_conntrack(self, *zones: int) -> None:
        """Forget the tracked connections of this card (its SGs' state): all, or those of
        ``zones``."""
        if not zones:
            self.appctl("dpctl/flush-conntrack")
        for zone in zones:
            self.appctl("dpctl/flush-conntrack", f"zone={zone}")

    def card_target(self) -> str:
        """The management socket ovs-ofctl uses to reach br-int."""
        return f"unix:{self.dir}/{CARD}.mgmt"

    def in_netns(self, *command: str) -> str:
        return run(*command, netns=self.netns)

    # -- build -------------------------------------------------------------------------------
    def start(self, controller_port: int) -> None:
        """Namespace, OVS daemons, underlay uplink, br-phy and the Nitro card."""
        os.makedirs(self.dir, exist_ok=True)
        run("ip", "netns", "add", self.netns)
        self.in_netns(
            "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"
        )
        self.in_netns("ip", "link", "set", "lo", "up")
        run("ovsdb-tool", "create", f"{self.dir}/conf.db", SCHEMA)
        run(
            "ovsdb-server",
            f"{self.dir}/conf.db",
            f"--remote=punix:{self.dir}/db.sock",
            f"--pidfile={self.dir}/ovsdb-server.pid",
            f"--unixctl={self.dir}/ovsdb-server.ctl",
            f"--log-file={self.dir}/ovsdb-server.log",
            "--detach",
            "--no-chdir",
            netns=self.netns,
            env=self.env,
        )
        self.vsctl("--no-wait", "init")
        self.start_vswitchd()
        self._uplink()
        self._card()
        self._mss_clamp()
        self._controller(controller_port)
        self.widen_receive_buffers()

    def start_vswitchd(self) -> None:
        """Start (or restart after a crash) this card's ovs-vswitchd."""
        run(
            "ovs-vswitchd",
            f"unix:{self.dir}/db.sock",
            f"--pidfile={self.dir}/ovs-vswitchd.pid",
            f"--unixctl={self.dir}/ovs-vswitchd.ctl",
            f"--log-file={self.dir}/ovs-vswitchd.log",
            "--detach",
            "--no-chdir",
            netns=self.netns,
            env=self.env,
        )

    def _uplink(self) -> None:
        root_end = self.names.underlay_port(self.index)
        run(
            "ip",
            "link",
            "add",
            root_end,
            "mtu",
            str(UNDERLAY_MTU),
            "type",
            "veth",
            "peer",
            "name",
            UPLINK,
            "mtu",
            str(UNDERLAY_MTU),
            "netns",
            self.netns,
        )
        run("ip", "link", "set", root_end, "master", self.bridge, "up")
        self.in_netns("ip", "link", "set", UPLINK, "up")
        self.in_netns("ethtool", "-K", UPLINK, "tx", "off")
        self.vsctl(
            "add-br",
            PHYSICAL,
            "--",
            "set",
            "bridge",
            PHYSICAL,
            "datapath_type=netdev",
            "fail_mode=standalone",
            f"other-config:hwaddr={phy_mac(self.index)}",
            "--",
            "set",
            "interface",
            PHYSICAL,
            f"mtu_request={UNDERLAY_MTU}",
            "--",
            "add-port",
            PHYSICAL,
            UPLINK,
            "--",
            "set",
            "interface",
            UPLINK,
            f"type={self.port_type}",
        )
        self.in_netns("ip", "addr", "add", f"{self.underlay_ip}/{self.prefix_len}", "dev", PHYSICAL)
        self.in_netns("ip", "link", "set", PHYSICAL, "up")

    def _card(self) -> None:
        self.vsctl(
            "add-br",
            CARD,
            "--",
            "set",
            "bridge",
            CARD,
            "datapath_type=netdev",
            "fail_mode=secure",
            "protocols=OpenFlow13",
            f"other-config:datapath-id={self.index:016x}",
            "--",
            "add-port",
            CARD,
            "vxlan0",
            "--",
            "set",
            "interface",
            "vxlan0",
            "type=vxlan",
            f"ofport_request={TUNNEL_PORT}",
            "options:remote_ip=flow",
            "options:key=flow",
            f"options:local_ip={self.underlay_ip}",
        )

    def _mss_clamp(self) -> None:
        card_end, kernel_end = MSS_CLAMP_INTERFACES
        self.in_netns("ip", "link", "add", card_end, "type", "veth", "peer", "name", kernel_end)
        for end in MSS_CLAMP_INTERFACES:
            self.in_netns("ip", "link", "set", end, "mtu", str(UNDERLAY_MTU), "up")
        run("nft", "-f", "-", netns=self.netns, stdin=mss_clamp_ruleset(kernel_end))
        self.vsctl(
            "--",
            "add-port",
            CARD,
            card_end,
            "--",
            "set",
            "interface",
            card_end,
            f"ofport_request={MSS_CLAMP_PORT}",
        )

    def _controller(self, port: int) -> None:
        socket_path = f"{self.dir}/ctl.sock"
        self.relay = subprocess.Popen(
            ["socat", f"UNIX-LISTEN:{socket_path},fork,unlink-early", f"TCP:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.vsctl(
            "--",
            "set",
            "bridge",
            CARD,
            "controller=@c",
            "--",
            "--id=@c",
            "create",
            "controller",
            f'target="unix:{socket_path}"',
            "max_backoff=1000",
        )

    def export_flow_samples(self) -> None:
        """The card's IPFIX exporter: its flows' samples (``pipeline.COLLECTOR_SET``) go to the
        flow log collector on 127.0.0.1 of this namespace, a record per flow each second."""
        self.vsctl(
            "--",
            "--id=@card",
            "get",
            "Bridge",
            CARD,
            "--",
            "--id=@ipfix",
            "create",
            "IPFIX",
            f'targets="127.0.0.1:{IPFIX_PORT}"',
            "cache_active_timeout=1",
            f"cache_max_flows={IPFIX_CACHE_FLOWS}",
            "--",
            "create",
            "Flow_Sample_Collector_Set",
            f"id={COLLECTOR_SET}",
            "bridge=@card",
            "ipfix=@ipfix",
        )

    def seed_neighbours(self, others: list[NitroServer]) -> None:
        """Pre-seed the tunnel neighbour table so the first packet is not lost to ARP."""
        for other in others:
            if other is not self:
                self.appctl("tnl/neigh/set", PHYSICAL, other.underlay_ip, phy_mac(other.index))

    def add_ports(self, ports: list[tuple[str, int]]) -> None:
        """Add instance interfaces to the Nitro card with fixed OpenFlow port numbers."""
        commands = []
        for interface, ofport in ports:
            commands += [
                "--",
                "add-port",
                CARD,
                interface,
                "--",
                "set",
                "interface",
                interface,
                f"ofport_request={ofport}",
                f"type={self.port_type}",
            ]
        self.vsctl(*commands)
        listed = self.vsctl(
            "--format=csv",
            "--data=bare",
            "--no-headings",
            "--columns=name,error",
            "find",
            "interface",
            "error!=[]",
        )
        refused = [row for row in csv.reader(listed.splitlines()) if row]
        if refused:
            said = "; ".join(f"{name}: {error}" for name, error in refused)
            raise BuildError(f"{self.name}'s Nitro card refused ports: {said}")
        self.widen_receive_buffers()

    def widen_receive_buffers(self) -> None:
        """Every port's socket gets a receive buffer a burst does not overflow (``buffers``);
        again after ports are added or ovs-vswitchd restarts (its sockets are new)."""
        pid = self.daemon_pid("ovs-vswitchd")
        if pid is None:
            raise BuildError(f"{self.name}'s ovs-vswitchd wrote no pidfile in {self.dir}")
        buffers.widen(pid)

    def socket_drops(self) -> int:
        """Packets the kernel dropped on this card's port sockets (a full receive buffer):
        lost by the emulation itself, not by the design."""
        pid = self.daemon_pid("ovs-vswitchd")
        return sum(s.drops for s in buffers.packet_sockets(pid)) if pid is not None else 0

    # -- tear down ---------------------------------------------------------------------------
    def daemon_pid(self, daemon: str) -> int | None:
        """The PID of this server's ``ovs-vswitchd`` or ``ovsdb-server``, from its pidfile."""
        try:
            with open(f"{self.dir}/{daemon}.pid", encoding="utf-8") as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self) -> list[int]:
        found = [self.relay.pid] if self.relay else []
        found += [pid for pid in map(self.daemon_pid, ("ovs-vswitchd", "ovsdb-server")) if pid]
        return found


class RunningCard:
    """A card of a run that another process owns, reached through its switch's control socket."""

    def __init__(self, names: Names, server: str):
        self.control = f"{names.server_dir(server)}/ovs-vswitchd.ctl"

    def appctl(self, *args: str) -> str:
        return run("ovs-appctl", "-t", self.control, *args)


def require_tools() -> None:
    """Fail early, with what to do, if this machine cannot run the emulation."""
    if os.geteuid() != 0:
        raise BuildError(
            "the live emulation needs root (network namespaces, OVS); "
            "run it with sudo, or use `vpclab check` and `vpclab trace`, which do not"
        )
    for tool in ("ovs-vsctl", "ovsdb-server", "ovs-vswitchd", "socat", "ethtool"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            raise BuildError(f"'{tool}' is not installed; run `make install`")
