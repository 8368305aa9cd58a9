"""`capture`: a pcap of what an instance sends and receives (its eth0: the inner packets), or of
what a server's card puts on the underlay (its uplink: VXLAN, the VNI in every packet), for
Wireshark; and a one-line summary of what was caught."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable
from typing import Optional

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, IPv6
from scapy.layers.l2 import Ether  # noqa: F401  (reading a capture needs Ethernet's link type)
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from nitro_switch.hosts import HOST_INTERFACE

DEFAULT_SECONDS = 5
ICMPV6 = 58


def tcpdump(interface: str, path: str) -> list[str]:
    """The command that writes every packet on ``interface`` to ``path`` (as root, unbuffered)."""
    return ["tcpdump", "-i", interface, "-U", "-Z", "root", "-w", path]


def record(servers: dict, hosts: dict, name: str, seconds: float, path: str) -> None:
    """Capture on server or instance ``name`` into ``path`` for ``seconds`` from the moment
    tcpdump listens. A server is captured on its veth's end at the underlay bridge: the card
    writes its own end with AF_PACKET, which a capture there would miss."""
    if name in servers:
        server = servers[name]
        command = tcpdump(server.names.underlay_port(server.index), path)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    else:
        command = tcpdump(HOST_INTERFACE, path)
        process = hosts[name].popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "listening on" in line:
            break
    time.sleep(seconds)
    process.terminate()
    process.wait()


def summary(path: str, vpc_of: Callable[[int], Optional[str]] = lambda vni: None) -> str:
    """How many packets, of which kinds (inner protocols; VXLAN with each VNI and its VPC)."""
    packets = rdpcap(path)
    kinds: Counter = Counter()
    for packet in packets:
        if VXLAN in packet:
            vni, vpc = packet[VXLAN].vni, vpc_of(packet[VXLAN].vni)
            kinds[f"VXLAN VNI {vni:#x}" + (f" (VPC {vpc})" if vpc else "")] += 1
            packet = packet[VXLAN].payload
        kinds[_kind(packet)] += 1
    listed = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    return f"{len(packets)} packets" + (f": {listed}" if listed else "")


def _kind(packet) -> str:
    """A packet's protocol: TCP, UDP, ICMP; over IPv6 the same with "/IPv6", and neighbour
    discovery (the VPC router's answers) apart from ICMPv6's other messages."""
    if IPv6 in packet:
        if ICMPv6ND_NS in packet or ICMPv6ND_NA in packet:
            return "ICMPv6 ND"
        for transport, name in ((TCP, "TCP"), (UDP, "UDP")):
            if transport in packet:
                return f"{name}/IPv6"
        return "ICMPv6" if packet[IPv6].nh == ICMPV6 else f"IPv6 next header {packet[IPv6].nh}"
    if IP not in packet:
        return "not IPv4"
    for layer, name in ((TCP, "TCP"), (UDP, "UDP"), (ICMP, "ICMP")):
        if layer in packet:
            return name
    return f"IP protocol {packet[IP].proto}"
