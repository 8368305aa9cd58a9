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

from agents.flowlog_records import FIELDS, LOG_SUFFIX, FlowLogRecord, read_records

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


def flow_logs_dir(out_dir: str) -> str:
    return os.path.join(out_dir, "flowlogs")
