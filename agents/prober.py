"""Steady probes from inside an instance host; prints one JSON list of samples at the end.

    python -m agents.prober icmp 10.0.1.4 --rate 20 --duration 8
    python -m agents.prober udp 10.0.1.4:7 --rate 20 --duration 8
    python -m agents.prober tcp 10.0.1.4:7 --rate 20 --duration 8   (one stream)
    python -m agents.prober tcp-new 10.0.1.4:7 --rate 20 --duration 8   (a connection each)

A sample is [sequence, send time (host clock, epoch s), round trip in ms or null]. A probe
counts as lost when its answer takes longer than --timeout (a TCP segment that is
retransmitted after an outage is late, hence lost for the timeline).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

from agents.icmp import echo_request


class Prober:
    def __init__(self, rate: float, duration: float, timeout: float):
        self.rate, self.duration, self.timeout = rate, duration, timeout
        self.sent: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.lock = threading.Lock()

    def answer(self, sequence: int) -> None:
        with self.lock:
            if sequence in self.sent and sequence not in self.answered:
                self.answered[sequence] = time.time()

    def send(self, sequence: int) -> None:
        raise NotImplementedError

    def receive(self) -> None:
        raise NotImplementedError

    def run(self, send) -> list:
        receiver = threading.Thread(target=self.receive, daemon=True)
        receiver.start()
        start = time.time()
        for sequence in range(int(self.rate * self.duration)):
            wait = start + sequence / self.rate - time.time()
            if wait > 0:
                time.sleep(wait)
            with self.lock:
                self.sent[sequence] = time.time()
            try:
                send(sequence)
            except OSError:
                pass
        time.sleep(self.timeout)
        samples = []
        for sequence, sent in sorted(self.sent.items()):
            answered = self.answered.get(sequence)
            ok = answered is not None and answered - sent <= self.timeout
            rtt = round((answered - sent) * 1000, 3) if answered is not None and ok else None
            samples.append([sequence, round(sent, 4), rtt])
        return samples


class IcmpProber(Prober):
    def __init__(self, address: str, **options):
        super().__init__(**options)
        self.address, self.ident = address, os.getpid() & 0xFFFF
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)

    def send(self, sequence: int) -> None:
        self.sock.sendto(echo_request(self.ident, sequence, b"vpclab-probe"), (self.address, 0))

    def receive(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(2048)
            kind, _, _, ident, sequence = struct.unpack("!BBHHH", data[20:28])
            if kind == 0 and ident == self.ident and peer[0] == self.address:
                self.answer(sequence)


class UdpProber(Prober):
    def __init__(self, address: str, port: int, **options):
        super().__init__(**options)
        self.target = (address, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, sequence: int) -> None:
        self.sock.sendto(struct.pack("!I", sequence), self.target)

    def receive(self) -> None:
        while True:
            data, _ = self.sock.recvfrom(2048)
            self.answer(struct.unpack("!I", data[:4])[0])


class TcpStreamProber(Prober):
    """One TCP connection for the whole run: each probe is 4 bytes, echoed by the listener."""

    def __init__(self, address: str, port: int, **options):
        super().__init__(**options)
        self.sock = socket.create_connection((address, port), timeout=5)
        self.sock.settimeout(None)

    def send(self, sequence: int) -> None:
        self.sock.sendall(struct.pack("!I", sequence))

    def receive(self) -> None:
        buffer = b""
        while True:
            data = self.sock.recv(4096)
            if not data:
                return
            buffer += data
            while len(buffer) >= 4:
                self.answer(struct.unpack("!I", buffer[:4])[0])
                buffer = buffer[4:]


class TcpConnectProber(Prober):
    """A new TCP connection per probe (connect, 4 bytes, the echo, close): what a client that
    opens connections sees, where a stream would ride on its tracked connection."""

    def __init__(self, address: str, port: int, **options):
        super().__init__(**options)
        self.target = (address, port)

    def send(self, sequence: int) -> None:
        threading.Thread(target=self._exchange, args=(sequence,), daemon=True).start()

    def _exchange(self, sequence: int) -> None:
        try:
            with socket.create_connection(self.target, timeout=self.timeout) as connection:
                connection.sendall(struct.pack("!I", sequence))
                if connection.recv(4) == struct.pack("!I", sequence):
                    self.answer(sequence)
        except OSError:
            pass  # refused, timed out or reset: lost

    def receive(self) -> None:
        return None  # each exchange answers for itself


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="prober")
    parser.add_argument("protocol", choices=["icmp", "udp", "tcp", "tcp-new"])
    parser.add_argument("target", help="IP, or IP:PORT for udp/tcp")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=0.5)
    args = parser.parse_args(argv)
    options = dict(rate=args.rate, duration=args.duration, timeout=args.timeout)
    prober: Prober
    if args.protocol == "icmp":
        prober = IcmpProber(args.target, **options)
    else:
        address, port = args.target.split(":")
        kind = {"udp": UdpProber, "tcp": TcpStreamProber, "tcp-new": TcpConnectProber}[args.protocol]
        try:
            prober = kind(address, int(port), **options)
        except OSError as error:
            print(json.dumps({"error": f"cannot open the stream: {error}"}))
            return 1
    print("started", flush=True)
    print(json.dumps(prober.run(prober.send)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
