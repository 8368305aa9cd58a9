"""The Route 53 Resolver of one Nitro card: DNS over UDP and TCP on port 53, in the card's metadata
namespace, for the card's own instances only (never forwarded off the card).

The card hands it an instance's queries to 169.254.169.253, or to the VPC's base + 2 (as
``RESOLVER_STAND_IN``), from the instance's link-local address: so it knows who asks, and
which VPC's private zones apply, even where VPCs overlap. It answers from the running design
(the run's intent file, read again when it changes), with dnspython for the wire format, and
logs one JSON line per query.

Run as ``python -m nitro_switch.resolver --intent FILE --server NAME``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from controller.plan import RESOLVER_STAND_IN, Plan
from vpclab.intent.changes import Intent
from vpclab.intent.dns import resolve
from vpclab.intent.model import RESOLVER_ADDRESS

PORT = 53
TCP_IDLE = 5.0  # seconds a TCP client may stay silent before the resolver hangs up
WIRE_TEXT = {"TXT": '"{}"', "CNAME": "{}.", "PTR": "{}."}  # a value as dnspython's text form wants it


class RunningDesign:
    """The design as the controller runs it, and who asks from which link-local address."""

    def __init__(self, intent_file: str, server: str):
        self.intent_file, self.server = intent_file, server
        self.loaded_at = -1.0
        self.topology = Intent.load(intent_file)[0].topology
        self.askers: dict[str, str] = {}  # link-local address -> VPC name
        self.lock = threading.Lock()  # TCP clients are answered from threads

    def refresh(self) -> None:
        changed = os.stat(self.intent_file).st_mtime
        if changed != self.loaded_at:
            self.topology = Intent.load(self.intent_file)[0].topology
            plan = Plan(self.topology)
            self.askers = {str(local.link_local): local.instance.vpc for local in plan.on_server(self.server)}
            self.loaded_at = changed


def answer(design: RunningDesign, query: dns.message.Message, asker: str) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    vpc = design.askers.get(asker)
    if vpc is None or len(query.question) != 1:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    question = query.question[0]
    kind = dns.rdatatype.to_text(question.rdtype)
    found = resolve(design.topology, vpc, question.name.to_text(), kind)
    for record in found.records:
        values = [WIRE_TEXT.get(record.type, "{}").format(value) for value in record.values]
        response.answer.append(
            dns.rrset.from_text(record.name + ".", record.ttl, dns.rdataclass.IN, record.type, *values)
        )
    response.set_rcode(dns.rcode.from_text(found.rcode))
    return response


def serve(design: RunningDesign, log) -> None:
    """Answer on each address the card hands queries to, over UDP and TCP, each answer from
    the address asked (a resolver's client drops an answer from another)."""
    datagrams, listeners = [], []
    for address in (str(RESOLVER_ADDRESS), str(RESOLVER_STAND_IN)):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((address, PORT))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, PORT))
        tcp.listen(16)
        datagrams.append(udp)
        listeners.append(tcp)
    print(json.dumps({"listening": [s.getsockname() for s in datagrams]}), file=log, flush=True)
    while True:
        ready, _, _ = select.select(datagrams + listeners, [], [])
        for sock in ready:
            if sock in listeners:
                connection, (asker, _) = sock.accept()
                threading.Thread(target=_stream, args=(design, connection, asker, log), daemon=True).start()
                continue
            data, (asker, port) = sock.recvfrom(4096)
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue  # not DNS: nothing to answer
            sock.sendto(respond(design, query, asker, "udp", log).to_wire(), (asker, port))


def _stream(design: RunningDesign, connection, asker: str, log) -> None:
    """DNS over TCP: length-prefixed queries, each answered, until the client closes."""
    with connection:
        while True:
            try:
                query, _ = dns.query.receive_tcp(connection, time.time() + TCP_IDLE)
            except (dns.exception.DNSException, OSError, EOFError):
                return
            dns.query.send_tcp(connection, respond(design, query, asker, "tcp", log))


def respond(design: RunningDesign, query: dns.message.Message, asker: str, transport: str, log):
    """The answer to ``query`` (SERVFAIL if answering failed), logged as one JSON line."""
    question = query.question[0] if query.question else None
    try:
        with design.lock:
            design.refresh()
            response = answer(design, query, asker)
    except Exception as error:  # one bad answer must not end the resolver
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), file=log, flush=True)
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.SERVFAIL)
    print(
        json.dumps(
            {
                "time": time.time(),
                "asker": asker,
                "transport": transport,
                "name": question.name.to_text() if question is not None else None,
                "type": dns.rdatatype.to_text(question.rdtype) if question is not None else None,
                "rcode": dns.rcode.to_text(response.rcode()),
                "answers": [rrset.to_text() for rrset in response.answer],
            }
        ),
        file=log,
        flush=True,
    )
    return response


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="resolver", description=__doc__.splitlines()[0])
    parser.add_argument("--intent", required=True, help="the run's intent file")
    parser.add_argument("--server", required=True, help="the server whose card this resolver serves")
    args = parser.parse_args(argv)
    design = RunningDesign(args.intent, args.server)
    design.refresh()
    serve(design, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
