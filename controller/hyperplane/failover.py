"""The health of a failover route's paths, and which path it should take (pure, no switch).

Like BFD or an IP SLA track: each path is probed at the health check's interval; a path goes
down after ``failures`` probes in a row were not answered within one interval, and up again
after ``recoveries`` answered in a row (so a flapping path does not pull traffic back). The
route wants its first path that is up, in the file's order: the primary when it is well, and
back to it (fail-back) once it has recovered. With every path down it stays where it is. A path
other than the one in use counts as down until it has answered ``recoveries`` probes in a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class PathHealth:
    up: bool  # the route's active path starts trusted; the others must first answer
    missed_in_row: int = 0
    answered_in_row: int = 0
    sent: int = 0
    answered: int = 0
    rtt_ms: Optional[float] = None  # of the last answer
    changed_at: Optional[float] = None  # when it last went up or down

    def observe(
        self, answered: bool, now: float, rtt_ms: Optional[float], failures: int, recoveries: int
    ) -> bool:
        """Record one probe's fate; True if it went up (``recoveries`` answered in a row) or
        down (``failures`` missed in a row) with it."""
        if answered:
            self.answered += 1
            self.rtt_ms = rtt_ms
            self.answered_in_row += 1
            self.missed_in_row = 0
            flips = not self.up and self.answered_in_row >= recoveries
        else:
            self.missed_in_row += 1
            self.answered_in_row = 0
            flips = self.up and self.missed_in_row >= failures
        if flips:
            self.up = not self.up
            self.changed_at = now
        return flips

    def describe(self) -> str:
        state = "up" if self.up else "down"
        rtt = f", rtt {self.rtt_ms:.2f} ms" if self.rtt_ms is not None else ""
        return f"{state} ({self.answered}/{self.sent} answered{rtt})"


@dataclass
class RouteHealth:
    failures: int
    recoveries: int
    active: int
    paths: list[PathHealth] = field(default_factory=list)

    @classmethod
    def new(cls, count: int, failures: int, recoveries: int, active: int) -> RouteHealth:
        """The path in use is trusted until its probes say otherwise; every other path is up
        only once it has answered ``recoveries`` probes in a row (a controller that starts, or
        restarts on a backup path, moves nothing before it knows)."""
        return cls(failures, recoveries, active, [PathHealth(up=n == active) for n in range(count)])

    def sent(self, path: int) -> None:
        self.paths[path].sent += 1

    def observe(self, path: int, answered: bool, now: float, rtt_ms: Optional[float] = None) -> bool:
        """Record one probe's fate; True if the path went up or down with it."""
        return self.paths[path].observe(answered, now, rtt_ms, self.failures, self.recoveries)

    def wanted(self) -> int:
        """The path the route should take: the first one up, else the one it has."""
        return next((n for n, health in enumerate(self.paths) if health.up), self.active)

    def reason(self, path: int, names: list[str]) -> str:
        """Why the route moves to ``path``, in words (``names``: each path's)."""
        if path < self.active:
            return f"{names[path]} answered {self.recoveries} probes in a row"
        return f"{names[self.active]} missed {self.failures} probes in a row"
