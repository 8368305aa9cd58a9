"""The client policies of the retry-storm service: retries, backoff, the circuit breaker."""

from unittest import mock

from agents import service
from agents.service import Breaker, Caller


def test_the_breaker_opens_on_failures_lets_one_probe_through_later_and_closes_on_its_success():
    clock = [100.0]
    with mock.patch("agents.service.time.monotonic", lambda: clock[0]):
        breaker = Breaker()
        for _ in range(service.BREAKER_MINIMUM - 1):
            assert breaker.allow()
            breaker.record(False)
        assert breaker.allow()  # not enough outcomes yet
        breaker.record(False)
        assert not breaker.allow()  # open
        clock[0] += service.BREAKER_OPEN_S
        assert breaker.allow() and not breaker.allow()  # half-open: one probe, the rest wait
        breaker.record(False)
        assert not breaker.allow()  # the probe failed: open again
        clock[0] += service.BREAKER_OPEN_S
        assert breaker.allow()
        breaker.record(True)
        assert breaker.allow() and breaker.allow()  # closed


def test_naive_retries_at_once_backoff_waits_and_an_open_breaker_puts_nothing_on_the_wire():
    waits, attempts = [], []
    with (
        mock.patch("agents.service._attempt", lambda url, timeout: attempts.append(timeout) or False),
        mock.patch("agents.service.time.sleep", waits.append),
    ):
        assert not Caller("naive").request("http://x/")
        assert (attempts, waits) == ([2.0] * 4, [])
        attempts.clear()
        assert not Caller("backoff").request("http://x/")
        assert attempts == [0.5] * 4 and len(waits) == 3
        assert all(0.05 <= w <= 0.1 * 2**n for n, w in enumerate(waits))
        guarded = Caller("breaker")
        for _ in range(3):
            guarded.request("http://x/")
        attempts.clear()
        assert not guarded.request("http://x/") and attempts == []  # open: failed at once
