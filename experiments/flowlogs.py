"""What an experiment's flow logs tell: the records (``flowlogs.txt``), the first REJECT of
each probed pair after the injection (the rule it names, and when a monitoring system reading
the flow logs could have known), and when a reject-rate alarm on them would have fired."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import Optional

from nitro_switch.flowlog_records import FIELDS, FlowLogRecord, read_records

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


def first_reject(
    found: list[tuple[str, FlowLogRecord]], addresses: tuple[str, str], injected_at: float, intervals: dict
) -> Optional[dict]:
    """The first REJECT between two addresses (either way) from the injection's second on:
    the record, the rule it names, and ``time_to_detect``, the seconds after the injection by
    which its flow log had written it (the end of its aggregation interval)."""
    for name, record in found:
        if record.action != "REJECT" or {record.source, record.destination} != set(addresses):
            continue
        if record.end < int(injected_at):
            continue
        written_by = max(record.start + intervals[name], record.end)
        return {
            "record": f"{name} {record.line()}",
            "interface": record.interface,
            "rule": record.rule,
            "time_to_detect": round(max(written_by - injected_at, 0.0), 3),
        }
    return None


def _rejects_per_second(found: list[tuple[str, FlowLogRecord]], intervals: dict) -> tuple[dict, dict]:
    """REJECTed packets per second (each record's spread evenly over its seconds), and when
    the last record of each second was written (the end of its aggregation interval)."""
    per_second: dict[int, float] = {}
    written: dict[int, float] = {}
    for name, record in found:
        if record.action != "REJECT":
            continue
        seconds = range(record.start, record.end + 1)
        for second in seconds:
            per_second[second] = per_second.get(second, 0.0) + record.packets / len(seconds)
            written[second] = max(written.get(second, 0.0), record.start + intervals[name], second + 1)
    return per_second, written


def alarm_time(found: list[tuple[str, FlowLogRecord]], alarm: Alarm, injected_at: float, intervals: dict):
    """Seconds after the injection when the alarm fires: the first second from the
    injection's on whose REJECTed packets exceed the rate, once its records were written;
    None if it never fires (``fires_before`` tells whether it did before the injection)."""
    per_second, written = _rejects_per_second(found, intervals)
    fired = [written[s] for s in per_second if per_second[s] > alarm.rate and s >= int(injected_at)]
    return round(min(fired) - injected_at, 3) if fired else None


def fires_before(
    found: list[tuple[str, FlowLogRecord]], alarm: Alarm, injected_at: float, intervals: dict
) -> bool:
    """Did the rate already exceed before the injection's second (a background of REJECTs
    that the alarm would have reported as well)?"""
    per_second, _ = _rejects_per_second(found, intervals)
    return any(rate > alarm.rate for second, rate in per_second.items() if second < int(injected_at))


def intervals_of(topology) -> dict:
    return {log.name: log.max_aggregation_interval for log in topology.flow_logs}


def flow_logs_dir(out_dir: str) -> str:
    return os.path.join(out_dir, "flowlogs")
