"""BGP speakers as data, and their daemons' configurations as text (pure: no process started).

Each end of a VPN tunnel or Direct Connect virtual interface is a real BGP daemon: AWS's side is
FRR's bgpd (its routes are read as JSON, for Hyperplane), a site's router is BIRD 2 (it
installs what it learns into its namespace's kernel, which forwards the site's packets).
Two implementations talk to each other, as AWS and a customer's router do.
"""

from __future__ import annotations

from dataclasses import dataclass

AWS_HOLD_TIME = 30  # seconds: AWS's BGP hold time on VPN tunnels and virtual interfaces
FRR, BIRD = "frr", "bird"


@dataclass(frozen=True)
class Neighbor:
    address: str
    asn: int
    name: str  # what the session stands for: "dc1-vpn tunnel 1", "dx1"
    local_preference: int = 100  # what this speaker gives the routes it learns from the neighbor


@dataclass(frozen=True)
class Speaker:
    """One BGP speaker: where it runs, who it is, whom it talks to and what it announces."""

    name: str  # unique in the run: its files are named after it
    netns: str
    router_id: str
    asn: int
    neighbors: tuple[Neighbor, ...]
    announce: tuple[str, ...]  # the prefixes it originates
    daemon: str = FRR
    hold_time: int = AWS_HOLD_TIME

    @property
    def keepalive(self) -> int:
        return max(1, self.hold_time // 3)


def frr_config(speaker: Speaker, log_file: str) -> str:
    """bgpd's configuration: eBGP with no policy required (AWS's side announces what the
    design says), the hold time on every session, the prefixes as networks."""
    lines = [
        "frr defaults traditional",
        f"hostname {speaker.name}",
        f"log file {log_file}",
        f"router bgp {speaker.asn}",
        f" bgp router-id {speaker.router_id}",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " coalesce-time 0",  # send the first updates at once (its default holds them for 1 s)
        f" timers bgp {speaker.keepalive} {speaker.hold_time}",
    ]
    for neighbor in speaker.neighbors:
        lines += [
            f" neighbor {neighbor.address} remote-as {neighbor.asn}",
            f" neighbor {neighbor.address} description {neighbor.name}",
            f" neighbor {neighbor.address} timers {speaker.keepalive} {speaker.hold_time}",
            f" neighbor {neighbor.address} timers connect 1",
        ]
    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {prefix}" for prefix in speaker.announce]
    for neighbor in speaker.neighbors:
        if neighbor.local_preference != 100:
            lines.append(f"  neighbor {neighbor.address} route-map {_map(neighbor)} in")
    lines.append(" exit-address-family")
    for neighbor in speaker.neighbors:
        if neighbor.local_preference != 100:
            lines += [
                f"route-map {_map(neighbor)} permit 10",
                f" set local-preference {neighbor.local_preference}",
            ]
    return "\n".join(lines) + "\n"


def _map(neighbor: Neighbor) -> str:
    return "pref-" + neighbor.address.replace(".", "-")


def bird_config(speaker: Speaker, log_file: str) -> str:
    """BIRD's configuration: the prefixes as unreachable static routes (announced, never used
    for forwarding: the site's own interfaces carry them), one BGP protocol per neighbor, and
    what it learns exported to the kernel, which forwards the site's packets by it."""
    lines = [
        f'log "{log_file}" all;',
        f"router id {speaker.router_id};",
        "protocol device {}",
        "protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }",
        "protocol static announced { ipv4; "
        + "".join(f"route {prefix} unreachable; " for prefix in speaker.announce)
        + "}",
    ]
    for n, neighbor in enumerate(speaker.neighbors):
        lines += [
            f"protocol bgp peer{n} {{",
            f'  description "{neighbor.name}";',
            f"  local as {speaker.asn};",
            f"  neighbor {neighbor.address} as {neighbor.asn};",
            f"  hold time {speaker.hold_time}; keepalive time {speaker.keepalive}; connect retry time 1;",
            "  connect delay time 0;",  # its default waits 5 s before the first connect
            f"  ipv4 {{ import filter {{ bgp_local_pref = {neighbor.local_preference}; accept; }};",
            '    export where proto = "announced"; };',
            "}",
        ]
    return "\n".join(lines) + "\n"
