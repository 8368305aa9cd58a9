"""Probes that must leave the instance: frames built with scapy, sent to the VPC router's MAC.

    python -m agents.rawprobe --timeout 1 icmp:10.7.1.4 tcp:10.7.1.4:22:33001 ip:47:10.7.1.4
    python -m agents.rawprobe --spoof 10.0.1.9 --nonce 0123456789ab udp:10.0.2.5:53:33001

For a destination that is the instance's own address (another VPC may reuse it), the kernel
would answer a socket probe itself without sending anything. These frames go out on eth0 to
the Nitro card, which routes them as any packet; the probe succeeds only if a real reply
(echo reply, SYN-ACK, the listener's UDP or raw-IP answer) comes back. Prints a JSON list of
booleans in the order of the specs.

``--spoof ADDRESS`` sends each probe once from that source address, carrying the who-probe
``--nonce``, and waits for nothing: the target's listener says whether it heard it.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from scapy.arch import get_if_addr, get_if_hwaddr
from scapy.config import conf
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.sendrecv import AsyncSniffer, sendp, srp1

from agents.probe import WHO
from vpclab.layout.pipeline import ROUTER_MAC

INTERFACE = "eth0"


def frame(spec: str, source: str, mac: str, nonce: int, payload: bytes = b"vpclab-probe"):
    kind, _, rest = spec.partition(":")
    if kind == "ip":
        protocol, destination = rest.split(":")
        return Ether(src=mac, dst=ROUTER_MAC) / IP(src=source, dst=destination, proto=int(protocol)) / payload
    packet = Ether(src=mac, dst=ROUTER_MAC) / IP(src=source, dst=rest.split(":")[0])
    if kind == "icmp":
        return packet / ICMP(type=8, id=nonce, seq=1) / payload
    _, port, source_port = rest.split(":")
    if kind == "tcp":
        return packet / TCP(sport=int(source_port), dport=int(port), flags="S", seq=nonce) / payload
    return packet / UDP(sport=int(source_port), dport=int(port)) / payload


def attempt(spec: str, timeout: float, nonce: int) -> bool:
    """A real answer came back: for ICMP/TCP/UDP scapy's answers() (an echo reply, a SYN-ACK,
    the UDP reply; never the probe itself, should the card loop it back to its sender); for
    another IP protocol the listener's "NAME NONCE" answer from the destination."""
    address, mac = get_if_addr(INTERFACE), get_if_hwaddr(INTERFACE)
    if not spec.startswith("ip:"):
        return srp1(frame(spec, address, mac, nonce), iface=INTERFACE, timeout=timeout, verbose=0) is not None
    tag = f"{nonce:012x}"
    request = frame(spec, address, mac, nonce, WHO + tag.encode())
    destination = request[IP].dst

    def answer(packet) -> bool:
        return (
            IP in packet
            and packet[IP].src == destination
            and f" {tag}".encode() in bytes(packet[IP].payload)
            and WHO not in bytes(packet[IP].payload)
        )

    sniffer = AsyncSniffer(iface=INTERFACE, lfilter=answer, count=1, timeout=timeout, store=True)
    sniffer.start()
    sendp(request, iface=INTERFACE, verbose=0)
    sniffer.join()
    return bool(sniffer.results)


def spoof(specs: list[str], source: str, nonce: str) -> None:
    mac = get_if_hwaddr(INTERFACE)
    for spec in specs:
        sendp(frame(spec, source, mac, 1, WHO + nonce.encode()), iface=INTERFACE, verbose=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="rawprobe")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--spoof", help="send once from this source address; wait for nothing")
    parser.add_argument("--nonce", default="0" * 12, help="the who-probe nonce of --spoof")
    parser.add_argument("specs", nargs="+")
    args = parser.parse_args(argv)
    conf.verb = 0
    if args.spoof:
        spoof(args.specs, args.spoof, args.nonce)
        print(json.dumps([False] * len(args.specs)))
        return 0
    results = [False] * len(args.specs)

    def run(index: int, spec: str) -> None:
        results[index] = attempt(spec, args.timeout, 4000 + index)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(args.specs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
