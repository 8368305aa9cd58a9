"""A small request/response service and its client, run inside instances: what a retry
storm is made of.

    python -m agents.service serve --port 8080 --workers 8 --queue 8 [--upstream URL --policy P]
    python -m agents.service client URL --rate 50 --duration 12 --policy naive|backoff|breaker

The server admits ``workers + queue`` requests at once and refuses the rest with 503 (its
pool is full); each request takes ``--service-ms`` and, with ``--upstream``, one call to the
next tier through the same policy (502 if that fails). It prints one JSON line a second: the
busiest its pool was, and how many it refused. The client sends ``--rate`` requests a second
whatever happens (an open loop, as users do) and prints, at the end, per second: requests
offered, attempts on the wire, successes, failures and latency percentiles.

Policies (``Caller``): ``naive`` retries at once, 3 times, each attempt waiting up to 2 s;
``backoff`` waits 0.1, 0.2, 0.4 s (capped at 1 s, with jitter) between its 3 retries and
gives an attempt 0.5 s; ``breaker`` is ``backoff`` behind a circuit breaker that opens when
half of the last 20 attempts failed, fails at once while open, and lets one attempt through
after a second (half-open): a success closes it.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import random
import sys
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

POLICIES = {
    # name: (attempt timeout s, retries, first backoff s or None: at once, behind a breaker)
    "naive": (2.0, 3, None, False),
    "backoff": (0.5, 3, 0.1, False),
    "breaker": (0.5, 3, 0.1, True),
}
BACKOFF_CAP = 1.0
BREAKER_WINDOW, BREAKER_RATIO, BREAKER_MINIMUM, BREAKER_OPEN_S = 20, 0.5, 10, 1.0


class Breaker:
    """Closed: attempts go; open (half of the last attempts failed): none goes for a while;
    then half-open: one goes, and its outcome closes or reopens the breaker."""

    def __init__(self):
        self.outcomes: deque = deque(maxlen=BREAKER_WINDOW)
        self.opened_at: float | None = None
        self.probing = False
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            if self.opened_at is None:
                return True
            if time.monotonic() - self.opened_at >= BREAKER_OPEN_S and not self.probing:
                self.probing = True
                return True
            return False

    def record(self, ok: bool) -> None:
        with self.lock:
            if self.opened_at is not None:
                if self.probing:
                    self.probing = False
                    if ok:
                        self.opened_at = None
                        self.outcomes.clear()
                    else:
                        self.opened_at = time.monotonic()
                return
            self.outcomes.append(ok)
            failures = self.outcomes.count(False)
            if len(self.outcomes) >= BREAKER_MINIMUM and failures >= BREAKER_RATIO * len(self.outcomes):
                self.opened_at = time.monotonic()


class Caller:
    """Calls a URL under a policy; counts the attempts it puts on the wire, per second."""

    def __init__(self, policy: str):
        self.timeout, self.retries, self.backoff, guarded = POLICIES[policy]
        self.breaker = Breaker() if guarded else None
        self.attempts: dict[int, int] = defaultdict(int)
        self.lock = threading.Lock()

    def request(self, url: str) -> bool:
        for attempt in range(self.retries + 1):
            if attempt and self.backoff is not None:
                wait = min(BACKOFF_CAP, self.backoff * 2 ** (attempt - 1))
                time.sleep(wait * random.uniform(0.5, 1.0))
            if self.breaker is not None and not self.breaker.allow():
                continue  # failed at once: nothing on the wire
            with self.lock:
                self.attempts[int(time.time())] += 1
            ok = _attempt(url, self.timeout)
            if self.breaker is not None:
                self.breaker.record(ok)
            if ok:
                return True
        return False


def _attempt(url: str, timeout: float) -> bool:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class Pool:
    """Admission (workers + queue at once, the rest refused) and occupancy per second."""

    def __init__(self, workers: int, queue: int):
        self.admitted = threading.BoundedSemaphore(workers + queue)
        self.working = threading.BoundedSemaphore(workers)
        self.busy = 0
        self.lock = threading.Lock()
        self.busiest: dict[int, int] = defaultdict(int)
        self.refused: dict[int, int] = defaultdict(int)

    def note(self, change: int) -> None:
        with self.lock:
            self.busy += change
            second = int(time.time())
            self.busiest[second] = max(self.busiest[second], self.busy)


def serve(args) -> None:
    pool = Pool(args.workers, args.queue)
    caller = Caller(args.policy) if args.upstream else None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if not pool.admitted.acquire(blocking=False):
                with pool.lock:
                    pool.refused[int(time.time())] += 1
                return self._answer(503)
            try:
                with pool.working:
                    pool.note(+1)
                    try:
                        time.sleep(args.service_ms / 1000)
                        ok = caller.request(args.upstream) if caller else True
                    finally:
                        pool.note(-1)
                self._answer(200 if ok else 502)
            finally:
                pool.admitted.release()

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"listening": args.port}), flush=True)
    while True:
        time.sleep(1.0)
        second = int(time.time()) - 1
        with pool.lock:
            line = {
                "t": second,
                "busiest": pool.busiest.pop(second, pool.busy),
                "refused": pool.refused.pop(second, 0),
            }
        line["upstream_attempts"] = caller.attempts.get(second, 0) if caller else 0
        print(json.dumps(line), flush=True)


def client(args) -> None:
    caller = Caller(args.policy)
    outcomes: list[tuple[float, float, bool]] = []  # (sent, latency s, ok)
    lock = threading.Lock()

    def one() -> None:
        sent = time.time()
        ok = caller.request(args.url)
        with lock:
            outcomes.append((sent, time.time() - sent, ok))

    print("started", flush=True)
    start = time.time()
    threads = []
    for n in range(int(args.rate * args.duration)):
        time.sleep(max(0.0, start + n / args.rate - time.time()))
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=30)
    seconds = range(int(start), int(start + args.duration) + 1)
    series = []
    for second in seconds:
        mine = [o for o in outcomes if int(o[0]) == second]
        latencies = sorted(latency for _, latency, ok in mine if ok)
        series.append(
            {
                "t": second,
                "offered": len(mine),
                "attempts": caller.attempts.get(second, 0),
                "successes": sum(1 for o in mine if o[2]),
                "failures": sum(1 for o in mine if not o[2]),
                "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
                "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
            }
        )
    print(json.dumps(series), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve")
    server.add_argument("--port", type=int, default=8080)
    server.add_argument("--workers", type=int, default=8)
    server.add_argument("--queue", type=int, default=8)
    server.add_argument("--service-ms", type=float, default=10.0)
    server.add_argument("--upstream", help="the next tier's URL")
    server.add_argument("--policy", choices=POLICIES, default="naive")
    caller = commands.add_parser("client")
    caller.add_argument("url")
    caller.add_argument("--rate", type=float, default=50.0)
    caller.add_argument("--duration", type=float, default=12.0)
    caller.add_argument("--policy", choices=POLICIES, default="naive")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args)
    else:
        client(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
