"""A design's on-premises sites, live: each site's router and each VPN connection's AWS end in
a namespace of their own, the tunnels between them over the emulated internet, the site's hosts
as Mininet hosts behind the router, and the real BGP daemons (``vpclab.layout.hybrid`` plans
it all; this builds it).

- A site's router (``<run>-site-<name>``): its outside address on the internet's card, a VXLAN
  tunnel per tunnel of its VPN connections, BIRD for the BGP ones (it installs what it learns),
  static routes to the VGW's VPC over a static VPN's tunnels (the first preferred), and a port
  per host (the host's address alone, and 169.254.0.1 on-link as its gateway).
- A VPN connection's AWS end (``<run>-aws-<name>``): both tunnels' outside addresses on the
  internet's card, the tunnels, FRR's bgpd for a BGP VPN, and per tunnel an inner port on the
  internet's card. Policy routing makes it a wire: what the card sends into an inner port goes
  into that port's tunnel, what comes out of a tunnel goes to the card by that tunnel's inner
  port. Which tunnel a packet takes is the cards' decision (``controller.compiler.hybrid``).
- A Direct Connect link's AWS end (``<run>-aws-<link>``): the link itself, a veth of its own
  to the site's router (not the internet: its own underlay), its /30 and FRR's bgpd (the
  virtual interface's session), and one port on the internet's card, wired the same way.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional

from mininet.link import Intf

from vpclab.intent import model as m
from vpclab.intent.model import INSTANCE_MTU, INTERNET_CARD, INTERNET_MTU
from vpclab.layout.hybrid import (
    DX,
    DX_LINK,
    DX_MTU,
    INNER,
    OUTSIDE,
    SITE_GATEWAY,
    aws_announcements,
    aws_side,
    aws_speakers,
    dx_device,
    site_devices,
    site_side,
    site_speaker,
    tunnel_cidr,
    tunnel_device,
    tunnel_outside,
    tunnel_vni,
)
from vpclab.layout.names import RUN_MARKER, Names
from vpclab.layout.pipeline import ROUTER_MAC
from vpclab.layout.plan import INTERNET_ROUTER

from . import tunnels
from .bgp import BgpDaemon
from .commands import BuildError, ip_batch, run
from .tunnel_watch import TunnelWatch

HOLD_TIME = 30  # AWS's BGP hold time (seconds); experiments may ask for less
SITE_HOST_MTU = 1500  # a data centre's Ethernet
FORWARDING = (
    "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
    "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
)
TO_SITE_TABLE, FROM_SITE_TABLE = 100, 200  # an AWS end's policy tables, plus the tunnel's number


class Sites:
    """Build, list and take down the sites and AWS's VPN ends of one run."""

    def __init__(self, names: Names, plan, hosts, cards: dict, hold_time: int = HOLD_TIME):
        self.names, self.plan, self.hosts, self.cards = names, plan, hosts, cards
        self.hold_time = hold_time
        self.topology: m.Topology = plan.topology
        self.namespaces: list[str] = []
        self.daemons: list[BgpDaemon] = []
        self.ends: dict[
            tuple[str, int], tuple[tunnels.TunnelEnd, tunnels.TunnelEnd]
        ] = {}  # AWS's, the site's
        self.watch: Optional[TunnelWatch] = None

    def netns(self, key: str) -> str:
        return self.names.netns(key)

    # -- build --------------------------------------------------------------------------------
    def build(self) -> None:
        hybrid = self.topology.hybrid
        if not hybrid:
            return
        keys = [f"site-{s.name}" for s in hybrid.sites] + [f"aws-{c.name}" for c in hybrid.vpn_connections]
        keys += [f"aws-{link.name}" for link in hybrid.dx_connections]
        for key in keys:
            run("ip", "netns", "add", self.netns(key))
            self.namespaces.append(self.netns(key))
            run("sh", "-c", "; ".join((*FORWARDING, "ip link set lo up")), netns=self.netns(key))
        self._edge_ports()
        for connection in hybrid.vpn_connections:
            self._tunnels(connection)
        for link in hybrid.dx_connections:
            self._link(link)
        for site in hybrid.sites:
            self._site_hosts(site)

    def _edge_ports(self) -> None:
        """The veths between the namespaces and the internet's card."""
        card = self.cards[INTERNET_CARD]
        ports = self.plan.edge_ports
        ip_batch(
            [
                f"link add name {p.inside} netns {self.netns(p.namespace)} "
                f"type veth peer name {p.interface} netns {card.netns}"
                for p in ports
            ]
        )
        mtu = {OUTSIDE: INTERNET_MTU, INNER: INSTANCE_MTU, DX: INSTANCE_MTU}
        ip_batch([f"link set dev {p.interface} mtu {mtu[p.kind]} up" for p in ports], netns=card.netns)
        card.in_netns("sh", "-c", "; ".join(f"ethtool -K {p.interface} tx off >/dev/null" for p in ports))
        card.add_ports([(p.interface, p.port) for p in ports])
        lines: dict[str, list[str]] = {}  # per namespace: one `ip -batch`, one shell for ethtool
        for p in ports:
            mine = lines.setdefault(p.namespace, [])
            mine.append(f"link set dev {p.inside} address {p.mac} mtu {mtu[p.kind]} up")
            if p.kind == OUTSIDE:
                mine += [f"address add {a}/32 dev {p.inside}" for a in p.addresses]
                mine.append(f"route add default via {INTERNET_ROUTER} dev {p.inside} onlink")
            else:  # a wire between the card and the tunnel (the card answers for nobody here)
                mine.append(f"neigh add {SITE_GATEWAY} lladdr {ROUTER_MAC} dev {p.inside} nud permanent")
        for namespace, batch in lines.items():
            ip_batch(batch, netns=self.netns(namespace))
            inside = [p.inside for p in ports if p.namespace == namespace]
            run(
                "sh",
                "-c",
                "; ".join(f"ethtool -K {i} tx off >/dev/null" for i in inside),
                netns=self.netns(namespace),
            )

    def _tunnels(self, connection: m.VpnConnection) -> None:
        """Both ends of each tunnel; the AWS end's policy routing; a static VPN's site routes."""
        site = self.topology.hybrid.site(connection.customer_gateway)
        aws, home = self.netns(f"aws-{connection.name}"), self.netns(f"site-{site.name}")
        aws_ends, site_ends = [], []
        for n in range(1, connection.tunnels + 1):
            cidr, vni = tunnel_cidr(connection, n), tunnel_vni(self.topology, connection.name, n)
            outside = str(tunnel_outside(self.topology, connection.name, n))
            aws_ends.append(
                tunnels.TunnelEnd(aws, f"tunnel{n}", vni, outside, str(site.public_ip), _address(cidr, 1))
            )
            site_ends.append(
                tunnels.TunnelEnd(
                    home,
                    self.site_device(connection, n),
                    vni,
                    str(site.public_ip),
                    outside,
                    _address(cidr, 2),
                )
            )
        tunnels.create(aws_ends)
        tunnels.create(site_ends)
        for n, pair in enumerate(zip(aws_ends, site_ends, strict=True), 1):
            self.ends[(connection.name, n)] = pair
        lines = []
        for n, end in enumerate(aws_ends, 1):
            site_end = site_side(tunnel_cidr(connection, n))
            lines += [
                f"rule add iif inner{n} lookup {TO_SITE_TABLE + n}",
                f"route add default via {site_end} dev {end.device} table {TO_SITE_TABLE + n}",
                f"rule add iif {end.device} lookup {FROM_SITE_TABLE + n}",
                f"route add default via {SITE_GATEWAY} dev inner{n} onlink table {FROM_SITE_TABLE + n}",
            ]
        ip_batch(lines, netns=aws)
        if not connection.bgp:  # the site's side of static routing: AWS's prefixes, tunnel 1 first
            routes = [
                line for n in range(1, connection.tunnels + 1) for line in self._static_routes(connection, n)
            ]
            ip_batch(routes, netns=home)

    def _static_routes(self, connection: m.VpnConnection, tunnel: int) -> list[str]:
        """The site router's static routes to AWS's prefixes over a static VPN's tunnel (the
        lower tunnel the lower metric: preferred). Its kernel drops them when the tunnel's
        device goes down; a repair puts them back, as a router's static routes return with
        their interface."""
        device, aws_end = self.site_device(connection, tunnel), aws_side(tunnel_cidr(connection, tunnel))
        return [
            f"route replace {prefix} via {aws_end} dev {device} metric {10 * tunnel}"
            for prefix in aws_announcements(self.topology, connection.name)
        ]

    def _link(self, link: m.DirectConnectConnection) -> None:
        """A Direct Connect link: a veth from the AWS end to the site's router, its /30, and
        the AWS end's policy routing (the card's port to the link, the link to the port)."""
        assert link.peering_cidr is not None  # the loader gives every link one
        aws, home = self.netns(f"aws-{link.name}"), self.netns(f"site-{link.site}")
        device, prefix = dx_device(self.topology, link.name), link.peering_cidr.prefixlen
        ip_batch([f"link add name {DX_LINK} netns {aws} type veth peer name {device} netns {home}"])
        ip_batch(
            [
                f"link set dev {DX_LINK} mtu {DX_MTU} up",
                f"address add {aws_side(link.peering_cidr)}/{prefix} dev {DX_LINK}",
                f"rule add iif inner lookup {TO_SITE_TABLE}",
                f"route add default via {site_side(link.peering_cidr)} dev {DX_LINK} table {TO_SITE_TABLE}",
                f"rule add iif {DX_LINK} lookup {FROM_SITE_TABLE}",
                f"route add default via {SITE_GATEWAY} dev inner onlink table {FROM_SITE_TABLE}",
            ],
            netns=aws,
        )
        ip_batch(
            [
                f"link set dev {device} mtu {DX_MTU} up",
                f"address add {site_side(link.peering_cidr)}/{prefix} dev {device}",
            ],
            netns=home,
        )

    def site_device(self, connection: m.VpnConnection, tunnel: int) -> str:
        return tunnel_device(self.topology, connection.name, tunnel)

    def _site_hosts(self, site: m.OnPremises) -> None:
        """Each host a Mininet host (the shell's, like an instance) on its own port of the router."""
        router = self.netns(f"site-{site.name}")
        for j, site_host in enumerate(site.hosts):
            node = self.hosts.net.addHost(site_host.name, ip=None)
            self.hosts.hosts[site_host.name] = node
            port = f"h{j}"
            ip_batch([f"link add name eth0 netns {node.pid} type veth peer name {port} netns {router}"])
            ip_batch(
                [
                    f"link set dev {port} mtu {SITE_HOST_MTU} up",
                    f"address add {SITE_GATEWAY}/32 dev {port}",
                    f"route add {site_host.ip}/32 dev {port}",
                ],
                netns=router,
            )
            interface = Intf("eth0", node=node, moveIntfFn=lambda *args: None)
            interface.ip, interface.prefixLen = str(site_host.ip), 32
            node.cmd(
                "; ".join(
                    (
                        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                        f"ip link set dev eth0 mtu {SITE_HOST_MTU} up",
                        f"ip addr add {site_host.ip}/32 dev eth0",
                        f"ip route add default via {SITE_GATEWAY} dev eth0 onlink",
                        "ip link set lo up",
                        f"export {RUN_MARKER}={self.names.topology}",
                    )
                )
            )

    def start_daemons(self) -> None:
        """The BGP daemons, once the internet's card forwards (a first SYN lost to a card without
        its flows yet would cost TCP's one-second retransmission)."""
        hybrid = self.topology.hybrid
        sites = [
            site_speaker(self.topology, self.names, s, self.hold_time)
            for s in hybrid.sites
            if any(c.bgp for c in hybrid.vpn_connections if c.customer_gateway == s.name)
            or any(link.site == s.name for link in hybrid.dx_connections)
        ]
        for speaker in [*aws_speakers(self.topology, self.names, self.hold_time), *sites]:
            daemon = BgpDaemon(speaker, self.names.run_dir)
            daemon.start()
            self.daemons.append(daemon)

    def wait_for_bgp(self, timeout: float) -> float:
        """Wait until every BGP session is established and every speaker holds what its
        neighbors announce (the sites' prefixes at AWS's ends, AWS's at the sites); returns
        the seconds it took. Past ``timeout``: a BuildError naming what is missing."""
        started = time.monotonic()
        while True:
            missing = [what for daemon in self.daemons for what in self._missing(daemon)]
            if not missing:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise BuildError(
                    f"BGP did not converge within {timeout:.0f} s: "
                    + "; ".join(missing[:4])
                    + f" (the daemons' logs: {self.names.run_dir}/bgp-*/daemon.log)"
                )
            time.sleep(0.2)

    def _missing(self, daemon: BgpDaemon) -> list[str]:
        speaker = daemon.speaker
        states = daemon.sessions()
        missing = [
            f"{speaker.name}: {n.name} is {states.get(n.address, 'not listed')}"
            for n in speaker.neighbors
            if states.get(n.address) != "Established"
        ]
        if missing:
            return missing
        wanted = set()
        hybrid = self.topology.hybrid
        for connection in hybrid.vpn_connections:
            if not connection.bgp:
                continue
            if speaker.name == f"aws-{connection.name}":
                wanted |= {str(c) for c in hybrid.site(connection.customer_gateway).cidrs}
            elif speaker.name == f"site-{connection.customer_gateway}":
                wanted |= set(aws_announcements(self.topology, connection.name))
        for link in hybrid.dx_connections:
            if speaker.name == f"aws-{link.name}":
                wanted |= {str(c) for c in hybrid.site(link.site).cidrs}
            elif speaker.name == f"site-{link.site}":
                wanted |= set(aws_announcements(self.topology, link.name))
        for site in hybrid.sites:  # AWS may announce a site's own prefixes back (a TGW's table
            if speaker.name == f"site-{site.name}":  # holds them): BGP's loop check drops them
                wanted -= {str(c) for c in site.cidrs}
        held = {route.prefix for route in daemon.learned()}
        return [f"{speaker.name} has not learned {prefix}" for prefix in sorted(wanted - held)]

    def start_watch(self, api_port: int) -> None:
        """Tell Hyperplane, from now on, what AWS's ends see of each tunnel."""
        self.watch = TunnelWatch(self, api_port, self.hold_time)
        self.watch.start()

    # -- faults -------------------------------------------------------------------------------
    def tunnel_is_up(self, connection: str, tunnel: int) -> bool:
        _, site_end = self.ends[(connection, tunnel)]
        state = run("ip", "-br", "link", "show", site_end.device, netns=site_end.netns).split()
        return len(state) > 1 and state[1] != "DOWN"

    def fail_tunnel(self, connection: str, tunnel: int, up: bool = False) -> None:
        """Cut a tunnel (its site end goes down: nothing crosses it either way) or mend it.
        AWS's side finds out as AWS does: its BGP session's hold time runs out, or, on a static
        VPN, dead peer detection stops hearing the site."""
        _, site_end = self.ends[(connection, tunnel)]
        tunnels.set_up(site_end, up)
        vpn = self.topology.hybrid.connection(connection)
        if up and not vpn.bgp:
            ip_batch(self._static_routes(vpn, tunnel), netns=site_end.netns)

    def _site_end(self, link: str) -> tuple[str, str]:
        """A Direct Connect link's site end: the site router's namespace and the device."""
        site = self.topology.hybrid.dx_connection(link).site
        return self.netns(f"site-{site}"), dx_device(self.topology, link)

    def link_is_up(self, link: str) -> bool:
        netns, device = self._site_end(link)
        state = run("ip", "-br", "link", "show", device, netns=netns).split()
        return len(state) > 1 and state[1] != "DOWN"

    def fail_link(self, link: str, up: bool = False) -> None:
        """Cut a Direct Connect link at the site's router (its BGP session there ends at once,
        as a router's does when its interface goes down) or mend it; AWS's side finds out when
        its session's hold time runs out."""
        netns, device = self._site_end(link)
        run("ip", "link", "set", "dev", device, "up" if up else "down", netns=netns)

    def announcements(self, site: str) -> list[str]:
        """What ``site``'s router announces over BGP now."""
        daemon = self.daemon(f"site-{site}")
        return list(daemon.speaker.announce) if daemon is not None else []

    def announce(self, site: str, prefixes: list[str]) -> None:
        """``site``'s router announces ``prefixes`` from now on (its BGP sessions update their
        neighbors; AWS's ends learn it, and the watch tells Hyperplane)."""
        daemon = self.daemon(f"site-{site}")
        if daemon is None:
            raise BuildError(f"site {site} runs no BGP daemon")
        daemon.reconfigure(dataclasses.replace(daemon.speaker, announce=tuple(prefixes)))

    # -- look -------------------------------------------------------------------------------
    def way_to(self, site: str, address: str):
        """The internet card's port of the tunnel or link ``site``'s router sends a packet for
        ``address`` by now, or None (``way_to``)."""
        return way_to(self.names, self.plan, site, address)

    def daemon(self, name: str) -> Optional[BgpDaemon]:
        """The daemon of ``aws-<connection>`` or ``site-<site>``."""
        return next((d for d in self.daemons if d.speaker.name == name), None)

    def pids(self) -> list[int]:
        return [pid for pid in (d.pid() for d in self.daemons) if pid]

    # -- take down ----------------------------------------------------------------------------
    def teardown(self) -> None:
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        for daemon in self.daemons:
            daemon.stop()
        self.daemons.clear()
        for netns in self.namespaces:
            run("ip", "netns", "del", netns, check=False)
        self.namespaces.clear()


def way_to(names: Names, plan, site: str, address: str):
    """The internet card's port of the tunnel or link ``site``'s router (in run ``names``)
    sends a packet for ``address`` by now (its kernel's route, as BGP or static routing put
    it), or None."""
    shown = run("ip", "-o", "route", "get", address, netns=names.netns(f"site-{site}"), check=False).split()
    way = site_devices(plan.topology, site).get(shown[shown.index("dev") + 1] if "dev" in shown else "")
    return next((p for p in plan.edge_ports if way and (p.connection, p.tunnel) == way), None)


def _address(cidr, n: int) -> str:
    return f"{cidr.network_address + n}/{cidr.prefixlen}"


__all__ = ["BuildError", "Sites"]
