"""What an experiment's flow logs tell: the records (``flowlogs.txt``), the first REJECT of
each probed pair after the injection (the rule it names, and when a monitoring system reading
the flow logs could have known: a ``Watcher`` notes when each record appeared), and when a
reject-rate alarm on them would have fired."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Optional

from agents.flowlog_records import FIELDS, LOG_SUFFIX, NO_PATH, FlowLogRecord, read_records

ALARM = re.compile(r"^reject-rate>(\d+(?:\.\d+)?)/s$")


@dataclass(frozen=True)
class Alarm:
    """``reject-rate>N/s``: REJECTed packets per second, summed over every flow log record."""

    rate: float

    @classmethod
    def parse(cls, text: str) -> Alarm:
        found = ALARM.match(text.replace(" ", ""))
        if found is None:
            raise ValueError(f"alarm {text!r}: write it as reject-rate>N/s, e.g. reject-rate>5/s")
        return cls(float(found.group(1)))

    @property
    def condition(self) -> str:
        return f"reject-rate>{self.rate:g}/s"


def collect(directory: str, out_path: str) -> list[tuple[str, FlowLogRecord]]:
    """Gather the collector's files into ``out_path`` (AWS's header line, then every record,
    oldest first, after the name of its flow log), remove ``directory``; return the records."""
    found = read_records(directory)
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write("flow-log " + " ".join(FIELDS) + "\n")
        handle.writelines(f"{name} {record.line()}\n" for name, record in found)
    shutil.rmtree(directory, ignore_errors=True)
    return found


@dataclass(frozen=True)
class Seen:
    """A record as a monitoring system reading the flow logs got it: when it appeared."""

    at: float  # wall-clock time the record was in its file
    log: str
    record: FlowLogRecord


class Watcher:
    """Reads the collector's files every ``period`` seconds while an experiment runs, and
    notes when each record appeared (what detection could have used, and when)."""

    def __init__(self, directory: str, period: float = 0.05):
        self.directory, self.period = directory, period
        self.seen: list[Seen] = []
        self.offsets: dict[str, int] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stopping.wait(self.period):
            self.poll()

    def poll(self) -> None:
        if not os.path.isdir(self.directory):
            return
        now = time.time()
        for file in sorted(os.listdir(self.directory)):
            if not file.endswith(LOG_SUFFIX):
                continue
            with open(os.path.join(self.directory, file), encoding="utf-8") as handle:
                handle.seek(self.offsets.get(file, 0))
                text = handle.read()
            complete = text[: text.rfind("\n") + 1]  # a line still being written waits
            self.offsets[file] = self.offsets.get(file, 0) + len(complete.encode())
            name = file[: -len(LOG_SUFFIX)]
            self.seen += [
                Seen(now, name, FlowLogRecord.parse(line)) for line in complete.splitlines() if line
            ]


def first_reject(seen: list[Seen], addresses: tuple[str, str], injected_at: float) -> Optional[dict]:
    """The first REJECT between two addresses (either way) that appeared after the injection:
    the record, the rule it names, and ``time_to_detect``, the seconds from the injection
    until it was in its flow log's file."""
    for each in sorted(seen, key=lambda s: s.at):
        record = each.record
        if record.action != "REJECT" or {record.source, record.destination} != set(addresses):
            continue
        if each.at < injected_at or record.end < int(injected_at):
            continue
        return {
            "record": f"{each.log} {record.line()}",
            "interface": record.interface,
            "rule": record.rule,
            "time_to_detect": round(each.at - injected_at, 3),
        }
    return None


def alarm_time(seen: list[Seen], alarm: Alarm, injected_at: float) -> Optional[float]:
    """Seconds after the injection when the alarm fires: when a record appeared that took
    the REJECTed packets of one second (each record's spread evenly over its seconds), from
    the injection's second on, over the rate; None if it never did."""
    fired = _firing(seen, alarm, lambda second: second >= int(injected_at))
    return None if fired is None else round(fired - injected_at, 3)


def fires_before(seen: list[Seen], alarm: Alarm, injected_at: float) -> bool:
    """Did the rate already exceed in a second before the injection's (a background of
    REJECTs that the alarm would have reported as well)?"""
    return _firing(seen, alarm, lambda second: second < int(injected_at)) is not None


def _firing(seen: list[Seen], alarm: Alarm, counts) -> Optional[float]:
    per_second: dict[int, float] = {}
    for each in sorted(seen, key=lambda s: s.at):
        record = each.record
        if record.action != "REJECT":
            continue
        seconds = range(record.start, record.end + 1)
        for second in seconds:
            per_second[second] = per_second.get(second, 0.0) + record.packets / len(seconds)
            if counts(second) and per_second[second] > alarm.rate:
                return each.at
    return None


def paths_taken(found, source: str, destination: str, start: float, end: float) -> list[str]:
    """The ways to or from a site (``vpclab-path``: tunnels, Direct Connect links) that the flow
    log records of packets from ``source`` to ``destination`` name, among the records that lie
    within [``start``, ``end``) (a record's seconds: from its start to the end of its end's)."""
    names: list[str] = []
    for _, record in found:
        if (record.source, record.destination) != (source, destination) or record.action != "ACCEPT":
            continue
        if record.start < start or record.end + 1 > end:
            continue
        names += [p for p in record.path.split(",") if p != NO_PATH and p not in names]
    return sorted(names)


WAYS = ("to the site", "from the site")


def failover_phases(cut_at: float, settled: float, repaired_at: float, end_at: float) -> dict:
    """A failover's phases as its flow log records are judged: before the cut; from when AWS's
    side has surely moved (``settled`` s after the cut) to the repair; from 3 s after the
    repair (the way back settled) to the end."""
    return {
        "before": (-float("inf"), cut_at),
        "during": (cut_at + settled, repaired_at),
        "after": (repaired_at + 3.0, end_at + 1.0),
    }


def logged_paths(found, ends: tuple[str, str], phases: dict) -> dict:
    """Per phase, the paths (``vpclab-path``) that the ACCEPT records of the packets between
    ``ends`` (an instance's address, a site host's) name, each way (``WAYS``)."""
    source, target = ends
    return {
        phase: {
            WAYS[0]: paths_taken(found, source, target, start, end),
            WAYS[1]: paths_taken(found, target, source, start, end),
        }
        for phase, (start, end) in phases.items()
    }


def logged_records(found, ends: tuple[str, str], since: float) -> list[tuple[str, float, float, list[str]]]:
    """The pair's ACCEPT records, each way: (way, first second, past its last, its paths), in
    seconds since ``since``."""
    source, target = ends
    directions = {(source, target): WAYS[0], (target, source): WAYS[1]}
    return [
        (directions[(r.source, r.destination)], r.start - since, r.end + 1 - since, r.path.split(","))
        for _, r in found
        if (r.source, r.destination) in directions and r.action == "ACCEPT"
    ]


def said_paths(named: dict) -> str:
    """A phase's paths (``logged_paths``) as the summaries say them."""
    return ", ".join(f"{way} {'+'.join(named[way]) or 'nothing'}" for way in WAYS)


def path_faults(logged: dict, wanted: dict[str, list[str]], label: str = "") -> list[str]:
    """What the flow logs' paths per phase (``logged_paths``) miss: each way named some path,
    and only paths of ``wanted[phase]``."""
    faults = []
    for phase, named in logged.items():
        for way in WAYS:
            if not named[way] or not set(named[way]) <= set(wanted[phase]):
                faults.append(
                    f"{label}{phase} the outage the flow logs name {named[way] or 'no path'} {way}, "
                    f"not {wanted[phase]}"
                )
    return faults


def flow_logs_dir(out_dir: str) -> str:
    return os.path.join(out_dir, "flowlogs")
