"""Probes that must leave the instance: frames built with scapy, sent to the VPC router's MAC.

    python -m nitro_switch.rawprobe --timeout 1 icmp:10.7.1.4 tcp:10.7.1.4:22:33001 ...

For a destination that is the instance's own address (another VPC may reuse it), the kernel
would answer a socket probe itself without sending anything. These frames go out on eth0 to
the Nitro card, which routes them as any packet; the probe succeeds only if a real reply
(echo reply, SYN-ACK, a UDP datagram from the port) comes back. Prints a JSON list of
booleans in the order of the specs.
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
from scapy.sendrecv import srp1

from controller.pipeline import ROUTER_MAC

INTERFACE = "eth0"


def frame(spec: str, source: str, mac: str, nonce: int):
    kind, _, rest = spec.partition(":")
    packet = Ether(src=mac, dst=ROUTER_MAC) / IP(src=source, dst=rest.split(":")[0])
    if kind == "icmp":
        return packet / ICMP(type=8, id=nonce, seq=1) / b"vpclab-probe"
    _, port, source_port = rest.split(":")
    if kind == "tcp":
        return packet / TCP(sport=int(source_port), dport=int(port), flags="S", seq=nonce)
    return packet / UDP(sport=int(source_port), dport=int(port)) / b"vpclab-probe"


def attempt(spec: str, timeout: float, nonce: int) -> bool:
    """A real answer came back (scapy's answers(): an echo reply, a SYN-ACK, the UDP reply;
    never the probe itself, should the card loop it back to its sender)."""
    request = frame(spec, get_if_addr(INTERFACE), get_if_hwaddr(INTERFACE), nonce)
    return srp1(request, iface=INTERFACE, timeout=timeout, verbose=0) is not None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="rawprobe")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("specs", nargs="+")
    args = parser.parse_args(argv)
    conf.verb = 0
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
