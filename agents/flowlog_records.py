"""VPC Flow Log records from the cards' IPFIX samples: which interface, which verdict, and
their aggregation into AWS's version-2 records (plus ``vpclab-rule``), per flow log.

Pure: ``Aggregator.add`` takes decoded IPFIX records, ``Aggregator.due`` returns the lines
whose aggregation interval ended. The running collector (``flowlog_collector``) feeds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from agents.ipfix import Record
from vpclab.intent import model as m
from vpclab.layout.pipeline import SampleKey
from vpclab.layout.plan import Plan

FORMAT_VERSION = 2
ACCOUNT = "123456789012"  # a design's default account (the id AWS's guides use)
FIELDS = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status vpclab-rule"
).split()
LOG_SUFFIX = ".log"  # a flow log's file: NAME.log
BY_STATE = "-"  # vpclab-rule of an ACCEPT by connection state


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

    def records(self, key: tuple) -> list[FlowLogRecord]:
        """The window's records: what was accepted (less what a later stage dropped), and
        what was rejected, each with its own first and last second (as AWS's records)."""
        interface, protocol, source, destination, port, to_port, account = key
        common = (interface, source, destination, port, to_port, protocol)
        out = []
        accepted = self.accepted
        packets = accepted.packets - self.dropped_later.packets
        if packets > 0 and accepted.start is not None and accepted.end is not None:
            octets = accepted.bytes - self.dropped_later.bytes
            rule = accepted.rule or BY_STATE
            out.append(
                FlowLogRecord(
                    *common, packets, octets, accepted.start, accepted.end, "ACCEPT", rule, account=account
                )
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
                    account=account,
                )
            )
        return out


class Aggregator:
    """Samples -> per flow log, per interface and 5-tuple, records every aggregation interval."""

    def __init__(self, interfaces: Interfaces):
        self.interfaces = interfaces
        self.windows: dict[tuple, Window] = {}  # (flow log name, key) -> window

    def add(self, card: str, record: Record, now: float) -> None:
        fields = record.fields
        if "source" not in fields or "packets" not in fields:
            return  # not IPv4 (ARP, ...), or an options record
        instance = self.interfaces.instance(card, record)
        if instance is None:
            return
        verdict = SampleKey.read(record.domain, "VERDICT")
        key = (
            interface_id(instance.name),
            fields.get("protocol", 0),
            fields["source"],
            fields["destination"],
            fields.get("source_port", 0),
            fields.get("destination_port", 0),
            self.interfaces.topology.owner(instance.vpc).id,  # the record's account-id
        )
        start = int(record.export_time - fields.get("start_delta_us", 0) / 1e6)
        end = int(record.export_time - fields.get("end_delta_us", 0) / 1e6)
        rule = self.interfaces.origins.get(fields.get("point", -1), "?")
        for log in self.interfaces.topology.flow_logs:
            if not log.covers(instance):
                continue
            window = self.windows.setdefault((log.name, key), Window(now))
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

    def due(self, now: float, everything: bool = False) -> list[tuple[str, FlowLogRecord]]:
        """(flow log name, record) of every window whose interval ended (or all of them)."""
        logs = {log.name: log for log in self.interfaces.topology.flow_logs}
        out = []
        for (name, key), window in list(self.windows.items()):
            log = logs.get(name)
            if log is None or everything or now - window.opened >= log.max_aggregation_interval:
                del self.windows[(name, key)]
                out += [(name, r) for r in window.records(key) if log is not None and log.keeps(r.action)]
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
