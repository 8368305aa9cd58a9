"""The Route 53 Resolver of one Nitro card: DNS over UDP and TCP on port 53, in the card's metadata
namespace, for the card's own instances only (never forwarded off the card).

The card hands it an instance's queries to 169.254.169.253, or to the VPC's base + 2 (as
``RESOLVER_STAND_IN``), or over IPv6 to fd00:ec2::253, from the instance's link-local address
(IPv4's or IPv6's): so it knows who asks, and
which VPC's private zones apply, even where VPCs overlap. It answers from the running design
(the run's intent file, read again when it changes), with dnspython for the wire format, and
logs one JSON line per query.

``agents.card_services`` runs every card's resolver in one process.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
from typing import Optional

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from vpclab.intent.changes import Intent
from vpclab.intent.dns import resolve
from vpclab.intent.model import RESOLVER_ADDRESS, RESOLVER_ADDRESS_V6
from vpclab.layout.plan import RESOLVER_STAND_IN, Plan

PORT = 53
TCP_IDLE = 5.0  # seconds a TCP client may stay silent before the resolver hangs up
WIRE_TEXT = {"TXT": '"{}"', "CNAME": "{}.", "PTR": "{}."}  # a value as dnspython's text form wants it


class Source:
    """The run's intent file as last read: the design and its plan, read again when the file
    changes; one per process, however many cards it answers for (they share it)."""

    def __init__(self, intent_file: str):
        self.intent_file = intent_file
        self.loaded_at = -1.0
        self.version = 0
        self.topology = Intent.load(intent_file)[0].topology
        self.plan: Optional[Plan] = None
        self.lock = threading.Lock()  # TCP clients are answered from threads

    def refresh(self) -> None:
        changed = os.stat(self.intent_file).st_mtime
        if changed != self.loaded_at:
            self.topology = Intent.load(self.intent_file)[0].topology
            self.plan = Plan(self.topology)
            self.loaded_at = changed
            self.version += 1


class RunningDesign:
    """One card's view of the running design: who asks from which link-local address."""

    def __init__(self, intent_file: str, server: str, source: Optional[Source] = None):
        self.source = source or Source(intent_file)
        self.server = server
        self.seen = -1  # the source's version the askers were taken from
        self.askers: dict[str, str] = {}  # link-local address -> VPC name

    @property
    def topology(self):
        return self.source.topology

    @property
    def lock(self):
        return self.source.lock

    def refresh(self) -> None:
        self.source.refresh()
        if self.seen != self.source.version:
            assert self.source.plan is not None
            on_card = self.source.plan.on_server(self.server)
            self.askers = {str(local.link_local): local.instance.vpc for local in on_card}
            self.askers |= {
                str(local.link_local_v6): local.instance.vpc for local in on_card if local.instance.ipv6
            }
            self.seen = self.source.version


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


def listen() -> tuple[list, list]:
    """UDP and TCP sockets on each address the card hands queries to, in the namespace the
    calling thread is in (the card's metadata namespace)."""
    datagrams, listeners = [], []
    for address in (str(RESOLVER_ADDRESS), str(RESOLVER_STAND_IN), str(RESOLVER_ADDRESS_V6)):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((address, PORT))
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, PORT))
        tcp.listen(16)
        datagrams.append(udp)
        listeners.append(tcp)
    return datagrams, listeners


def serve(cards: list) -> None:
    """Answer every card's queries: ``cards`` holds (its RunningDesign, its UDP sockets, its TCP
    listeners, its log). Each answer leaves from the address asked (a resolver's client drops
    an answer from another); TCP clients get a thread each."""
    owner = {}
    for design, datagrams, listeners, log in cards:
        print(json.dumps({"listening": [s.getsockname() for s in datagrams]}), file=log, flush=True)
        for sock in datagrams + listeners:
            owner[sock] = (design, sock in listeners, log)
    while True:
        ready, _, _ = select.select(list(owner), [], [])
        for sock in ready:
            design, listening, log = owner[sock]
            if listening:
                connection, peer = sock.accept()
                asker = peer[0]
                threading.Thread(target=_stream, args=(design, connection, asker, log), daemon=True).start()
                continue
            data, peer = sock.recvfrom(4096)  # (address, port), and IPv6's flow info and scope
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue  # not DNS: nothing to answer
            sock.sendto(respond(design, query, peer[0], "udp", log).to_wire(), peer)


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
