"""Every Nitro card's metadata service and resolver, in one process.

Each card's services listen in the card's own metadata namespace (only its flows reach it).
They used to be two Python processes per card, about 13 and 23 MiB each: 1.1 GiB at 512
instances on 32 servers, half of a run's memory. This process enters each card's namespace in
turn (``netns.entered``), binds there the HTTP servers at 169.254.169.254:80 and
[fd00:ec2::254]:80 and the resolver's UDP and
TCP sockets (a socket keeps the namespace it was made in), and comes back; then a thread per
card serves HTTP, and one thread answers every card's DNS from one reading of the design.
Both read the running design (the run's intent file, again when it changes), so an instance
launched at run time is answered at once. Each card keeps its own logs:
``metadata-SERVER.log`` and ``resolver-SERVER.log``.

Once every socket is bound it writes ``card-services.ready`` in the run's directory: the
bring-up waits for that file, so no instance asks a card that does not listen yet.

Run as ``python -m agents.card_services --intent FILE --run-dir DIR --card SERVER=PID
...`` (PID: a process in the card's metadata namespace; as root).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Optional

from agents import resolver
from agents.launch import CARD_SERVICES_READY
from agents.metadata import MetadataServer, documents
from agents.netns import entered
from vpclab.intent.model import METADATA_ADDRESS, METADATA_ADDRESS_V6


class CardDocuments:
    """What one card's metadata service tells each of its instances (``metadata.documents``),
    by link-local address, from the running design as last read: an instance launched at run
    time is known at its first request, a terminated one no longer."""

    def __init__(self, source: resolver.Source, server: str):
        self.source, self.server = source, server
        self.seen = -1
        self.documents: dict[str, dict] = {}

    def get(self, client: str) -> Optional[dict]:
        with self.source.lock:
            self.source.refresh()
            if self.seen != self.source.version:
                assert self.source.plan is not None
                self.documents, self.seen = documents(self.source.plan, self.server), self.source.version
            return self.documents.get(client)


def _log_file(path: str):
    return open(path, "a", encoding="utf-8", buffering=1)  # open while the process runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="card_services", description=__doc__.splitlines()[0])
    parser.add_argument("--intent", required=True, help="the run's intent file")
    parser.add_argument("--run-dir", required=True, help="where each card's documents and logs are")
    parser.add_argument("--card", action="append", default=[], help="SERVER=PID, once per card")
    args = parser.parse_args(argv)
    source = resolver.Source(args.intent)
    web, dns = [], []
    for card in args.card:
        server, pid = card.split("=")
        documents = CardDocuments(source, server)
        metadata_log = _log_file(os.path.join(args.run_dir, f"metadata-{server}.log"))
        resolver_log = _log_file(os.path.join(args.run_dir, f"resolver-{server}.log"))
        printed = lambda line, log=metadata_log: print(line, file=log, flush=True)
        with entered(f"/proc/{pid}/ns/net"):  # the sockets stay in the card's namespace
            web.append(MetadataServer((str(METADATA_ADDRESS), 80), documents, log=printed))
            tokens = web[-1].tokens  # one service: a token is the client's in either family
            web.append(MetadataServer((str(METADATA_ADDRESS_V6), 80), documents, log=printed, tokens=tokens))
            datagrams, listeners = resolver.listen()
        design = resolver.RunningDesign(args.intent, server, source)
        with source.lock:
            design.refresh()
        dns.append((design, datagrams, listeners, resolver_log))
    for server in web:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(args.run_dir, CARD_SERVICES_READY), "w", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")  # every socket is bound: the bring-up may go on
    resolver.serve(dns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
