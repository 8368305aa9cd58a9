"""A Site-to-Site VPN tunnel's end in a namespace: a route-based tunnel between two outside
addresses, carrying AWS's inside addresses (a /30 of 169.254.0.0/16) and at most 1446 bytes
of a packet, with TCP's MSS clamped to 1406 as AWS clamps it.

This kernel has no ESP (CONFIG_INET_ESP is off) and no GRE, so a tunnel is VXLAN over UDP,
unencrypted: the emulated internet is the machine's own namespaces, and nothing leaves it
(strongSwan's userspace ESP, kernel-libipsec, is the way to real IPsec: see the limits page).
Its outer packet is the inside packet plus 50 bytes: 1496 at most, within the internet's 1500.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.intent.model import VPN_TUNNEL_MSS, VPN_TUNNEL_MTU

from .commands import run

TUNNEL_PORT = 4790  # the tunnels' UDP port (4789 is the cards' underlay VXLAN)


@dataclass(frozen=True)
class TunnelEnd:
    """One end of one tunnel: its device in ``netns``, the outside addresses of both ends,
    its inside address (with the /30's length) and the tunnel's number (its VNI)."""

    netns: str
    device: str
    vni: int
    local: str  # outside address, on the emulated internet
    remote: str
    inside: str  # e.g. 169.254.10.1/30


def clamp_ruleset(ends: list[TunnelEnd], mss: int = VPN_TUNNEL_MSS) -> str:
    """nftables for a namespace's tunnels: a SYN or SYN-ACK into or out of one of them leaves
    with an MSS of at most ``mss``."""
    devices = ", ".join(f'"{end.device}"' for end in ends)
    clamp = f"tcp flags & (syn | rst) == syn tcp option maxseg size > {mss} tcp option maxseg size set {mss}"
    return f"""table inet vpclab_vpn_clamp {{
    chain forward {{
        type filter hook forward priority mangle; policy accept;
        oifname {{ {devices} }} {clamp}
        iifname {{ {devices} }} {clamp}
    }}
    chain output {{
        type filter hook output priority mangle; policy accept;
        oifname {{ {devices} }} {clamp}
    }}
}}
"""


def create(ends: list[TunnelEnd]) -> None:
    """The tunnels' devices, up, at AWS's inside MTU, and their MSS clamp (all of one namespace)."""
    if not ends:
        return
    netns = ends[0].netns
    assert all(end.netns == netns for end in ends), "one namespace's tunnels at a time"
    for end in ends:
        run(
            "ip", "link", "add", end.device, "type", "vxlan", "id", str(end.vni), "local", end.local,
            "remote", end.remote, "dstport", str(TUNNEL_PORT), netns=netns,
        )  # fmt: skip
        run("ip", "link", "set", end.device, "mtu", str(VPN_TUNNEL_MTU), "up", netns=netns)
        run("ip", "addr", "add", end.inside, "dev", end.device, netns=netns)
    run("nft", "-f", "-", netns=netns, stdin=clamp_ruleset(ends))


def set_up(end: TunnelEnd, up: bool) -> None:
    """Bring a tunnel down (it carries nothing, BGP over it times out) or back up."""
    run("ip", "link", "set", end.device, "up" if up else "down", netns=end.netns)
