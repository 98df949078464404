"""Process metrics and the optional local ``/healthz`` + ``/metrics`` endpoint.

Counters that only this process sees (API calls by status, cycle durations) live in memory;
counts that the database already knows (changes by status, open review items) are read at scrape
time, so two processes never disagree about them. Prometheus text format, no client library.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bidagent.store import Engine, Session
from bidagent.store.ledger_summary import change_status_counts, open_item_count

__all__ = ["METRICS", "CountingTransport", "Metrics", "serve_metrics"]


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

    def render(self, engine: Engine | None) -> str:
        """Prometheus text exposition of everything known."""
        lines = [
            "# HELP bidagent_api_calls_total Ads API responses by HTTP status or error.",
            "# TYPE bidagent_api_calls_total counter",
        ]
        with self._lock:
            lines += [
                f'bidagent_api_calls_total{{status="{s}"}} {n}'
                for s, n in sorted(self.api_calls.items())
            ]
            lines += ["# HELP bidagent_cycles_total Cycles run by this process, by outcome.",
                      "# TYPE bidagent_cycles_total counter"]  # fmt: skip
            lines += [
                f'bidagent_cycles_total{{outcome="{o}"}} {n}'
                for o, n in sorted(self.cycles.items())
            ]
            lines += ["# HELP bidagent_cycles_failed_total Failed cycles of this process, by reason.",
                      "# TYPE bidagent_cycles_failed_total counter"]  # fmt: skip
            lines += [
                f'bidagent_cycles_failed_total{{reason="{r}"}} {n}'
                for r, n in sorted(self.failed_cycles.items())
            ]
            lines += [
                "# HELP bidagent_cycle_duration_seconds Wall time of cycles.",
                "# TYPE bidagent_cycle_duration_seconds summary",
                f"bidagent_cycle_duration_seconds_sum {self.cycle_seconds_sum:.3f}",
                f"bidagent_cycle_duration_seconds_count {self.cycle_seconds_count}",
            ]
        if engine is not None:
            lines += _ledger_lines(engine)
        return "\n".join(lines) + "\n"


def _ledger_lines(engine: Engine) -> list[str]:
    with Session(engine) as session:
        changes = change_status_counts(session)
        open_items = open_item_count(session)
    lines = [
        "# HELP bidagent_changes Changes in the ledger by status.",
        "# TYPE bidagent_changes gauge",
    ]
    lines += [f'bidagent_changes{{status="{s}"}} {n}' for s, n in sorted(changes)]
    lines += [
        "# HELP bidagent_review_items_open Review items waiting for a person.",
        "# TYPE bidagent_review_items_open gauge",
        f"bidagent_review_items_open {open_items}",
    ]
    return lines


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


def serve_metrics(
    host: str, port: int, engine: Engine, health: Callable[[], tuple[bool, str]]
) -> ThreadingHTTPServer:
    """Start ``/healthz`` and ``/metrics`` on a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, status, kind = METRICS.render(engine), 200, "text/plain; version=0.0.4"
            elif self.path == "/healthz":
                ok, reason = health()
                body, status, kind = reason + "\n", 200 if ok else 503, "text/plain"
            else:
                body, status, kind = "not found\n", 404, "text/plain"
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:  # scrapes are not worth a log line each
            return

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return server
