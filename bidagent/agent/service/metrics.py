"""The counters only this process sees: Ads API calls by status, cycles by outcome and reason,
cycle durations.

They live in memory, thread-safe; the console's ``/metrics`` (:mod:`bidagent.console.metrics`)
exposes a :meth:`Metrics.snapshot` of them next to the counts the database knows, which it reads
at scrape time so two processes never disagree about them. It must not render an exposition
format or serve HTTP.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import httpx

__all__ = ["METRICS", "CountingTransport", "Metrics", "MetricsSnapshot"]


class Metrics:
    """Thread-safe in-process counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.api_calls: Counter[str] = Counter()
        self.cycles: Counter[str] = Counter()
        self.failed_cycles: Counter[str] = Counter()
        self.cycle_seconds_sum = 0.0
        self.cycle_seconds_count = 0

    def api_call(self, status: str) -> None:
        """Count one API response (its HTTP status) or transport error (its exception name)."""
        with self._lock:
            self.api_calls[status] += 1

    def cycle(self, outcome: str, seconds: float) -> None:
        """Count one finished cycle and its duration."""
        with self._lock:
            self.cycles[outcome] += 1
            self.cycle_seconds_sum += seconds
            self.cycle_seconds_count += 1

    def cycle_failed(self, reason: str) -> None:
        """Count one failed cycle by reason (auth, throttled, api, report, data, error)."""
        with self._lock:
            self.failed_cycles[reason] += 1

    def snapshot(self) -> MetricsSnapshot:
        """A consistent copy of every counter, for one scrape."""
        with self._lock:
            return MetricsSnapshot(
                api_calls=dict(self.api_calls),
                cycles=dict(self.cycles),
                failed_cycles=dict(self.failed_cycles),
                cycle_seconds_sum=self.cycle_seconds_sum,
                cycle_seconds_count=self.cycle_seconds_count,
            )


@dataclass(frozen=True)
class MetricsSnapshot:
    """The in-process counters at one moment (:meth:`Metrics.snapshot`)."""

    api_calls: dict[str, int]
    cycles: dict[str, int]
    failed_cycles: dict[str, int]
    cycle_seconds_sum: float
    cycle_seconds_count: int


METRICS = Metrics()


class CountingTransport(httpx.BaseTransport):
    """Wraps a transport to count API calls by status; never sees or logs request contents."""

    def __init__(self, inner: httpx.BaseTransport, metrics: Metrics = METRICS) -> None:
        self._inner = inner
        self._metrics = metrics

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._inner.handle_request(request)
        except httpx.HTTPError as exc:
            self._metrics.api_call(type(exc).__name__)
            raise
        self._metrics.api_call(str(response.status_code))
        return response

    def close(self) -> None:
        self._inner.close()
