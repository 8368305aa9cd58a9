"""VPC Flow Log records from the cards' IPFIX samples: which interface, which verdict, and
their aggregation into AWS's version-2 records (plus ``vpclab-rule`` and ``vpclab-path``), per
flow log.

A path sample (taken where a packet goes into a VPN tunnel or onto a Direct Connect link, or
comes out of one) belongs to no interface: it names the way to or from a site for the records
of its 5-tuple, whichever interface's they are. It may come from another card than the
verdict's, a moment later: a window of traffic to or from a site's prefixes waits a little past
its interval for it.

Pure: ``Aggregator.add`` takes decoded IPFIX records, ``Aggregator.due`` returns the lines
whose aggregation interval ended. The running collector (``flowlog_collector``) feeds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network
from typing import Optional

from agents.ipfix import Record
from vpclab.intent import model as m
from vpclab.layout.hybrid import path_origins
from vpclab.layout.pipeline import SampleKey
from vpclab.layout.plan import Plan, observation_point

FORMAT_VERSION = 2
ACCOUNT = "123456789012"  # a design's default account (the id AWS's guides use)
FIELDS = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status vpclab-rule vpclab-path"
).split()
LOG_SUFFIX = ".log"  # a flow log's file: NAME.log
BY_STATE = "-"  # vpclab-rule of an ACCEPT by connection state
NO_PATH = "-"  # vpclab-path of traffic that crosses no VPN tunnel or Direct Connect link
PATH_RECENT = 2.0  # seconds a path sample names the path of windows its 5-tuple opens later
PATH_WAIT = 2.0  # seconds a window of a site's traffic waits past its interval for its path


def interface_id(instance: str) -> str:
    """The flow log's interface-id of an instance (vpclab names its one ENI after it)."""
    return f"eni-{instance}"


@dataclass(frozen=True)
class FlowLogRecord:
    interface: str
    source: str
    destination: str
    source_port: int
    destination_port: int
    protocol: int
    packets: int
    bytes: int
    start: int
    end: int
    action: str  # ACCEPT | REJECT
    rule: str
    status: str = "OK"
    account: str = ACCOUNT  # the id of the account that owns the interface's VPC
    path: str = NO_PATH  # the tunnels and links to or from a site the packets took (comma-separated)

    def line(self) -> str:
        return " ".join(
            str(value)
            for value in (
                FORMAT_VERSION,
                self.account,
                self.interface,
                self.source,
                self.destination,
                self.source_port,
                self.destination_port,
                self.protocol,
                self.packets,
                self.bytes,
                self.start,
                self.end,
                self.action,
                self.status,
                self.rule,
                self.path,
            )
        )

    @classmethod
    def parse(cls, line: str) -> FlowLogRecord:
        parts = line.split()
        if len(parts) != len(FIELDS) or parts[0] != str(FORMAT_VERSION):
            raise ValueError(f"not a version-{FORMAT_VERSION} flow log record: {line!r}")
        port, to_port, protocol, packets, octets, first, last = (int(parts[i]) for i in range(5, 12))
        return cls(
            parts[2],
            parts[3],
            parts[4],
            port,
            to_port,
            protocol,
            packets,
            octets,
            first,
            last,
            action=parts[12],
            rule=parts[14],
            status=parts[13],
            account=parts[1],
            path=parts[15],
        )


class Interfaces:
    """Who is who in the samples of a design: instances by card port and by MAC, the YAML
    object by observation point."""

    def __init__(self, topology: m.Topology, origins: dict[int, str]):
        """``origins``: observation point -> YAML object, as Hyperplane compiled the design
        (``vpclab.layout.plan.ORIGINS_FILE``)."""
        plan = Plan(topology)
        self.topology = topology
        self.by_port = {(p.instance.server, p.interface): p.instance for p in plan.instances.values()}
        self.by_mac = {p.mac: p.instance for p in plan.instances.values()}
        self.origins = origins
        self.paths = {observation_point(origin): path for origin, path in path_origins(topology).items()}
        self.site_networks = [ip_network(c) for site in topology.hybrid.sites for c in site.cidrs]

    def via_site(self, source: str, destination: str) -> bool:
        """Whether traffic between the two addresses crosses to or from a site (its path is named)."""
        addresses = (ip_address(source), ip_address(destination))
        return any(a in network for a in addresses for network in self.site_networks)

    def instance(self, card: str, record: Record) -> Optional[m.Instance]:
        """The instance whose interface records this sample (None: no instance's)."""
        side = SampleKey.read(record.domain, "SIDE")
        if side in (SampleKey.SENDING, SampleKey.EITHER):
            found = self.by_port.get((card, record.fields.get("interface", "")))
            if found is not None or side == SampleKey.SENDING:
                return found
        return self.by_mac.get(record.fields.get("destination_mac", ""))


@dataclass
class Tally:
    """Packets and bytes of one verdict in a window, their first and last second, the rule."""

    packets: int = 0
    bytes: int = 0
    start: Optional[int] = None
    end: Optional[int] = None
    rule: str = ""

    def add(self, packets: int, octets: int, start: int, end: int) -> None:
        self.packets += packets
        self.bytes += octets
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)


@dataclass
class Window:
    """One interface's 5-tuple over one aggregation interval: what it accepted, rejected, and
    accepted at its SG before a later stage dropped it."""

    opened: float  # when its first sample arrived (the interval counts from there)
    accepted: Tally = field(default_factory=Tally)
    rejected: Tally = field(default_factory=Tally)
    dropped_later: Tally = field(default_factory=Tally)
    paths: list[str] = field(default_factory=list)  # the ways to or from a site, as first seen
    via_site: bool = False  # its addresses are a site's: it waits for its path

    def took(self, path: str) -> None:
        if path not in self.paths:
            self.paths.append(path)

    def ready(self, now: float, interval: float) -> bool:
        """Whether its interval ended (and, for a site's traffic, its path came or the wait did)."""
        waited = now - self.opened
        named = bool(self.paths) or not self.via_site
        return waited >= interval and (named or waited >= interval + PATH_WAIT)

    def records(self, key: tuple) -> list[FlowLogRecord]:
        """The window's records: what was accepted (less what a later stage dropped), and
        what was rejected, each with its own first and last second (as AWS's records)."""
        interface, protocol, source, destination, port, to_port, account = key
        common = (interface, source, destination, port, to_port, protocol)
        named = {"account": account, "path": ",".join(self.paths) or NO_PATH}
        out = []
        accepted = self.accepted
        packets = accepted.packets - self.dropped_later.packets
        if packets > 0 and accepted.start is not None and accepted.end is not None:
            octets = accepted.bytes - self.dropped_later.bytes
            rule = accepted.rule or BY_STATE
            out.append(
                FlowLogRecord(*common, packets, octets, accepted.start, accepted.end, "ACCEPT", rule, **named)
            )
        rejected = self.rejected
        if rejected.packets and rejected.start is not None and rejected.end is not None:
            out.append(
                FlowLogRecord(
                    *common,
                    rejected.packets,
                    rejected.bytes,
                    rejected.start,
                    rejected.end,
                    "REJECT",
                    rejected.rule,
                    **named,
                )
            )
        return out


class Aggregator:
    """Samples -> per flow log, per interface and 5-tuple, records every aggregation interval."""

    def __init__(self, interfaces: Interfaces):
        self.interfaces = interfaces
        self.windows: dict[tuple, Window] = {}  # (flow log name, key) -> window
        self.by_flow: dict[tuple, set[tuple]] = {}  # 5-tuple -> its windows' (flow log name, key)
        self.paths: dict[tuple, tuple[str, float]] = {}  # 5-tuple -> its latest path, when seen

    def add(self, card: str, record: Record, now: float) -> None:
        fields = record.fields
        if "source" not in fields or "packets" not in fields:
            return  # not IP (ARP, ...), or an options record
        five = (
            fields.get("protocol", 0),
            fields["source"],
            fields["destination"],
            fields.get("source_port", 0),
            fields.get("destination_port", 0),
        )
        if SampleKey.read(record.domain, "PATH"):
            self._took(five, self.interfaces.paths.get(fields.get("point", -1), "?"), now)
            return
        instance = self.interfaces.instance(card, record)
        if instance is None:
            return
        verdict = SampleKey.read(record.domain, "VERDICT")
        key = (interface_id(instance.name), *five, self.interfaces.topology.owner(instance.vpc).id)
        start = int(record.export_time - fields.get("start_delta_us", 0) / 1e6)
        end = int(record.export_time - fields.get("end_delta_us", 0) / 1e6)
        rule = self.interfaces.origins.get(fields.get("point", -1), "?")
        for log in self.interfaces.topology.flow_logs:
            if not log.covers(instance):
                continue
            window = self.windows.get((log.name, key)) or self._open(log.name, key, now)
            counts = (fields["packets"], fields.get("bytes", 0), start, end)
            if verdict == SampleKey.REJECT:
                window.rejected.add(*counts)
                window.rejected.rule = window.rejected.rule or rule
                if SampleKey.read(record.domain, "AFTER_ACCEPT"):
                    window.dropped_later.add(*counts)
            else:
                window.accepted.add(*counts)
                if verdict == SampleKey.ACCEPT_BY_RULE:
                    window.accepted.rule = window.accepted.rule or rule

    def _open(self, name: str, key: tuple, now: float) -> Window:
        """A new window of flow log ``name`` for ``key``, with its 5-tuple's path if just seen."""
        five = key[1:6]
        window = self.windows[(name, key)] = Window(now, via_site=self.interfaces.via_site(five[1], five[2]))
        self.by_flow.setdefault(five, set()).add((name, key))
        path, seen = self.paths.get(five, ("", 0.0))
        if path and now - seen <= PATH_RECENT:
            window.took(path)
        return window

    def _took(self, five: tuple, path: str, now: float) -> None:
        """A packet of ``five`` took ``path``: its open windows say so, and those it opens soon."""
        self.paths[five] = (path, now)
        for opened in self.by_flow.get(five, ()):
            self.windows[opened].took(path)

    def due(self, now: float, everything: bool = False) -> list[tuple[str, FlowLogRecord]]:
        """(flow log name, record) of every window whose interval ended (or all of them)."""
        logs = {log.name: log for log in self.interfaces.topology.flow_logs}
        out = []
        for (name, key), window in list(self.windows.items()):
            log = logs.get(name)
            if log is None or everything or window.ready(now, log.max_aggregation_interval):
                del self.windows[(name, key)]
                self.by_flow[key[1:6]].discard((name, key))
                if not self.by_flow[key[1:6]]:
                    del self.by_flow[key[1:6]]
                out += [(name, r) for r in window.records(key) if log is not None and log.keeps(r.action)]
        for five, (_, seen) in list(self.paths.items()):
            if now - seen > PATH_RECENT:
                del self.paths[five]
        return out


def read_records(directory: str) -> list[tuple[str, FlowLogRecord]]:
    """(flow log name, record) of every file the collector wrote in ``directory``, oldest
    first (by the end of their interval)."""
    found: list[tuple[str, FlowLogRecord]] = []
    if not os.path.isdir(directory):
        return found
    for file in sorted(os.listdir(directory)):
        if not file.endswith(LOG_SUFFIX):
            continue
        with open(os.path.join(directory, file), encoding="utf-8") as handle:
            found += [
                (file[: -len(LOG_SUFFIX)], FlowLogRecord.parse(line)) for line in handle if line.strip()
            ]
    return sorted(found, key=lambda item: (item[1].end, item[1].start))
