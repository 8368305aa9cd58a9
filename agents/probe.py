"""Probes that run inside instance hosts: listeners, and a client that tries connections.

    python -m agents.probe listen --tcp 22,443 --udp 53 --ip 47 --name web1
    python -m agents.probe connect --timeout 1 tcp:10.0.1.5:443:33001 icmp:10.0.1.5 \
        icmp:10.2.1.4:8501 ip:47:10.0.1.5 dns:10.0.0.2:db.corp.internal \
        tcp:[2001:db8:1000:1::10]:443:33002 icmp:[2001:db8:1000:1::10] ...

An IPv6 address is written in brackets; a ping to one is an ICMPv6 echo. The listeners answer
on both families (an IPv6 socket beside each IPv4 one, where the host has IPv6).

The client prints one JSON list, in the order of the specs: who answered (the listener's
instance name, which it returns with the probe's nonce; '?' for a ping; for a DNS query, the
rcode and the addresses of the answer, 'NOERROR 10.0.2.4'), or null. Every spec
runs in its own thread, so a host probes all its targets in about one timeout.

The listener also hears every who-probe that arrives, answered or not (a raw socket per
protocol sees a TCP SYN's payload too) and prints ``heard NONCE``: a probe sent from a
spoofed address, whose answer goes nowhere, is caught so.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import dns.exception
import dns.message
import dns.query
import dns.rcode

from agents.icmp import ECHO_REPLY, echo_request

WHO = b"vpclab-who "  # a probe asking who answers: the listener replies "NAME NONCE"
NONCE_LENGTH = 12  # hex digits
HEARD = ("tcp", "udp")
PING_HEADERS = 28  # ping -s counts the ICMP payload: the IP and ICMP headers come on top
# attempts one client makes at once: verify starts a client in every instance at the same time.
# Measured on a 32-instance TGW hub (6,912 probes): with every attempt at once, 890 of the
# 1,120 answered probes were answered only on the retry and a DNS query missed both tries; at
# 128, 668-845 and none missed, in the same probing time; at 32, 108, but twice as slow
CONCURRENT_ATTEMPTS = 128
PING_SIZE = 84  # ping's default: 56 bytes of data
ICMP_ECHO_REPLY = ECHO_REPLY
ECHO6_REQUEST, ECHO6_REPLY = 128, 129  # ICMPv6's echo (RFC 4443)
FAMILIES = (socket.AF_INET, socket.AF_INET6)
ANY = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}
IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2  # Linux's socket option: set Don't Fragment, never fragment
_print_lock = threading.Lock()


def listen(tcp_ports: list[int], udp_ports: list[int], ip_protocols: list[int], name: str) -> None:
    threads = [
        threading.Thread(target=_tcp_server, args=(p, name, family), daemon=True)
        for p in tcp_ports
        for family in FAMILIES
    ]
    threads += [
        threading.Thread(target=_udp_echo, args=(p, name, family), daemon=True)
        for p in udp_ports
        for family in FAMILIES
    ]
    threads += [threading.Thread(target=_raw_echo, args=(p, name), daemon=True) for p in ip_protocols]
    threads += [threading.Thread(target=_hear, args=(socket.getprotobyname(p),), daemon=True) for p in HEARD]
    for thread in threads:
        thread.start()
    print("listening", flush=True)
    threading.Event().wait()


def _nonce_in(packet: bytes) -> Optional[str]:
    at = packet.find(WHO)
    if at < 0:
        return None
    return packet[at + len(WHO) : at + len(WHO) + NONCE_LENGTH].decode(errors="replace")


def _say_heard(nonce: str) -> None:
    with _print_lock:
        print(f"heard {nonce}", flush=True)


def _hear(protocol: int) -> None:
    """Print the nonce of every who-probe of ``protocol`` that reaches this instance."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol) as raw:
        while True:
            nonce = _nonce_in(raw.recv(65535))
            if nonce:
                _say_heard(nonce)


def _raw_echo(protocol: int, name: str) -> None:
    """Answer who-probes of another IP protocol (47, 50, ...) in kind, from a raw socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol) as raw:
        while True:
            packet, peer = raw.recvfrom(65535)
            nonce = _nonce_in(packet)
            if nonce:
                _say_heard(nonce)
                raw.sendto(f"{name} {nonce}\n".encode(), peer)


def _answer(data: bytes, name: str) -> bytes:
    """Echo, except a who-probe, answered with this instance's name and the probe's nonce."""
    if data.startswith(WHO):
        return f"{name} {data[len(WHO) :].decode(errors='replace').strip()}\n".encode()
    return data


def _bound(family: socket.AddressFamily, kind: int, port: int) -> Optional[socket.socket]:
    """A socket of ``family`` bound to ``port`` on every address of it (IPv6: IPv6 only, so
    the IPv4 socket keeps IPv4's); None where the host has no IPv6."""
    bound = socket.socket(family, kind)
    bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        bound.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        bound.bind((ANY[family], port))
    except OSError:
        bound.close()
        if family == socket.AF_INET6:
            return None
        raise
    return bound


def _tcp_server(port: int, name: str, family: socket.AddressFamily = socket.AF_INET) -> None:
    """Accept connections; answer whatever each one sends until it closes."""
    server = _bound(family, socket.SOCK_STREAM, port)
    if server is None:
        return
    server.listen(64)
    while True:
        connection, _ = server.accept()
        threading.Thread(target=_echo_stream, args=(connection, name), daemon=True).start()


def _echo_stream(connection, name: str) -> None:
    with connection:
        try:
            while data := connection.recv(4096):
                connection.sendall(_answer(data, name))
        except OSError:
            pass


def _udp_echo(port: int, name: str, family: socket.AddressFamily = socket.AF_INET) -> None:
    server = _bound(family, socket.SOCK_DGRAM, port)
    if server is None:
        return
    while True:
        data, peer = server.recvfrom(2048)
        server.sendto(_answer(data, name), peer)


def attempt(spec: str, timeout: float) -> Optional[str]:
    """Who answered the probe ``spec``: the instance's name (TCP/UDP), '?' for an ICMP echo
    reply (ping cannot say who), or None when nothing answered in time."""
    kind, _, rest = spec.partition(":")
    if kind == "dns":
        address, name = fields(rest)
        return _dns_attempt(address, name, timeout)
    if kind == "icmp":  # icmp:ADDRESS[:SIZE]: SIZE bytes of IP, with Don't Fragment
        address, *size = fields(rest)
        if ":" in address:
            return _ping6(address, timeout)
        return _ping(address, int(size[0]) if size else None, timeout)
    nonce = secrets.token_hex(NONCE_LENGTH // 2)
    if kind == "ip":
        protocol, address = fields(rest)
        return _raw_attempt(int(protocol), address, nonce, timeout)
    address, port, source_port = fields(rest)
    kind_of_socket = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, kind_of_socket) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        probe.settimeout(timeout)
        probe.bind((ANY[family], int(source_port)))
        try:
            if kind == "tcp":
                probe.connect((address, int(port)))
                probe.sendall(WHO + nonce.encode())
                answer = probe.recv(2048)
            else:
                probe.sendto(WHO + nonce.encode(), (address, int(port)))
                answer = probe.recvfrom(2048)[0]
        except OSError:
            return None
    name, _, echoed = answer.decode(errors="replace").strip().partition(" ")
    return name if echoed == nonce else None


def _ping(address: str, size: Optional[int], timeout: float) -> Optional[str]:
    """One ICMP echo request, as ``ping -c 1`` sends it (84 bytes of IP; with ``size``, that
    many and Don't Fragment, as ``ping -M do -s``), from a raw socket: verify sends thousands
    at once, and a process per ping took the CPU that the answers needed. '?' if answered."""
    ident, payload = secrets.randbits(16), secrets.token_bytes((size or PING_SIZE) - PING_HEADERS)
    request = echo_request(ident, 1, payload)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        if size is not None:
            raw.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        try:
            raw.sendto(request, (address, 0))  # header and payload
            while (left := deadline - time.monotonic()) > 0:
                raw.settimeout(left)
                packet, peer = raw.recvfrom(65535)
                reply = packet[(packet[0] & 0x0F) * 4 :]
                if peer[0] == address and reply[0] == ICMP_ECHO_REPLY and reply[4:6] == request[4:6]:
                    return "?"
        except OSError:  # too long for the way out (EMSGSIZE), or no answer in time
            return None
    return None


def _ping6(address: str, timeout: float) -> Optional[str]:
    """One ICMPv6 echo request (the kernel fills in its checksum); '?' if answered."""
    ident, payload = secrets.randbits(16), secrets.token_bytes(PING_SIZE - PING_HEADERS)
    request = bytes([ECHO6_REQUEST, 0, 0, 0]) + ident.to_bytes(2, "big") + (1).to_bytes(2, "big") + payload
    wanted = socket.inet_pton(socket.AF_INET6, address)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as raw:
        try:
            raw.sendto(request, (address, 0))
            while (left := deadline - time.monotonic()) > 0:
                raw.settimeout(left)
                reply, peer = raw.recvfrom(65535)  # no IP header on an IPv6 raw socket
                same = socket.inet_pton(socket.AF_INET6, peer[0].split("%")[0]) == wanted
                if same and reply[0] == ECHO6_REPLY and reply[4:6] == request[4:6]:
                    return "?"
        except OSError:
            return None
    return None


def fields(text: str) -> list[str]:
    """A spec's fields after its kind, split at colons; an address in brackets is one field."""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        return [address, *(rest[1:].split(":") if rest else [])]
    return text.split(":")


def _dns_attempt(address: str, name: str, timeout: float) -> Optional[str]:
    """An A query for ``name`` to the resolver at ``address``: the rcode, then the addresses
    the answer holds (after its CNAMEs), sorted; None when nothing answered in time."""
    try:
        response = dns.query.udp(dns.message.make_query(name, "A"), address, timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return None
    addresses = sorted(rdata.to_text() for rrset in response.answer for rdata in rrset if rrset.rdtype == 1)
    return " ".join([dns.rcode.to_text(response.rcode()), *addresses])


def _raw_attempt(protocol: int, address: str, nonce: str, timeout: float) -> Optional[str]:
    """A who-probe in a packet of IP protocol ``protocol``; the answer is "NAME NONCE"."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol) as raw:
        raw.settimeout(timeout)
        raw.sendto(WHO + nonce.encode(), (address, 0))
        try:
            while True:
                packet, peer = raw.recvfrom(65535)
                payload = packet[(packet[0] & 0x0F) * 4 :]  # after the IP header
                name, _, echoed = payload.decode(errors="replace").strip().partition(" ")
                if peer[0] == address and echoed == nonce:
                    return name
        except OSError:
            return None


def connect(specs: list[str], timeout: float) -> list[Optional[str]]:
    results: list[Optional[str]] = [None] * len(specs)

    def run(index: int, spec: str) -> None:
        results[index] = attempt(spec, timeout)

    with ThreadPoolExecutor(max_workers=CONCURRENT_ATTEMPTS) as pool:
        list(pool.map(lambda item: run(*item), enumerate(specs)))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="probe")
    commands = parser.add_subparsers(dest="command", required=True)
    listener = commands.add_parser("listen")
    listener.add_argument("--tcp", default="")
    listener.add_argument("--udp", default="")
    listener.add_argument("--ip", default="", help="other IP protocols to answer, e.g. 47,50")
    listener.add_argument("--name", default=socket.gethostname(), help="answer who-probes so")
    client = commands.add_parser("connect")
    client.add_argument("--timeout", type=float, default=1.0)
    client.add_argument("specs", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "listen":
        ports = lambda text: [int(p) for p in text.split(",") if p]
        listen(ports(args.tcp), ports(args.udp), ports(args.ip), args.name)
    print(json.dumps(connect(args.specs, args.timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
