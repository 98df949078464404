"""``/metrics``: the agent's Prometheus series, through prometheus_client.

Two kinds of series. This process's own counters (Ads API calls by status, cycles by outcome and
by failure reason, cycle durations: :data:`bidagent.agent.service.metrics.METRICS`), which only
the process that runs the cycles has: the console beside the daemon (``bidagent run``) exposes
them, a console serving alone shows them at zero. And what the database knows, read at scrape
time so every replica agrees: changes by status, open review items, each profile's last
successful cycle (wall time) and data age (days between the profile's business date and the
stalest report source's newest day), the kill switch per scope, and the outbox's pending and
dead notifications. It must not write, and must not serve HTTP (``pages/probes.py`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from bidagent.agent.service.kill_switch import GLOBAL_SCOPE
from bidagent.agent.service.metrics import METRICS, Metrics
from bidagent.business_dates import business_date
from bidagent.store import Engine, Session
from bidagent.store.ledger_summary import change_status_counts, open_item_count
from bidagent.store.profile_status import (
    ProfileStatus,
    notification_status_counts,
    profile_statuses,
    switch_rows,
)

__all__ = ["AgentCollector", "data_age_days", "metrics_registry"]

_OUTBOX_STATUSES = ("pending", "dead")


def data_age_days(status: ProfileStatus, now: datetime) -> int | None:
    """Days from the profile's newest report day of its stalest source to its business date
    at ``now`` (None before any report)."""
    if not status.newest_days:
        return None
    today = business_date(now, status.timezone or "UTC")
    return (today - min(status.newest_days.values())).days


class AgentCollector(Collector):
    """Every bidagent series, collected at scrape time."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], metrics: Metrics = METRICS
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        """The process counters, then the ledger's gauges."""
        yield from self._process()
        yield from self._ledger()

    def _process(self) -> Iterator[Metric]:
        snap = self._metrics.snapshot()
        for name, text, label, values in (
            ("bidagent_api_calls", "Ads API responses by HTTP status or error.", "status",
             snap.api_calls),
            ("bidagent_cycles", "Cycles run by this process, by outcome.", "outcome",
             snap.cycles),
            ("bidagent_cycles_failed", "Failed cycles of this process, by reason.", "reason",
             snap.failed_cycles),
        ):  # fmt: skip
            family = CounterMetricFamily(name, text, labels=[label])
            for key, count in sorted(values.items()):
                family.add_metric([key], count)
            yield family
        yield SummaryMetricFamily(
            "bidagent_cycle_duration_seconds",
            "Wall time of this process's cycles.",
            count_value=snap.cycle_seconds_count,
            sum_value=snap.cycle_seconds_sum,
        )

    def _ledger(self) -> Iterator[Metric]:
        with Session(self._engine) as session:
            changes = change_status_counts(session)
            open_items = open_item_count(session)
            profiles = profile_statuses(session)
            switches = switch_rows(session)
            outbox = notification_status_counts(session)
        now = self._clock()
        family = GaugeMetricFamily(
            "bidagent_changes", "Changes in the ledger by status.", labels=["status"]
        )
        for change_status, count in changes:
            family.add_metric([change_status], count)
        yield family
        yield GaugeMetricFamily(
            "bidagent_review_items_open", "Review items waiting for a person.", value=open_items
        )
        success = GaugeMetricFamily(
            "bidagent_last_successful_cycle_timestamp_seconds",
            "When each profile's newest successful cycle was recorded (Unix time, wall clock).",
            labels=["profile_id"],
        )
        age = GaugeMetricFamily(
            "bidagent_data_age_days",
            "Days from each profile's newest report day (stalest source) to its business date.",
            labels=["profile_id"],
        )
        for status in profiles:
            last = status.last_success
            if last is not None and last.recorded_at is not None:
                success.add_metric([status.profile_id], last.recorded_at.timestamp())
            days = data_age_days(status, now)
            if days is not None:
                age.add_metric([status.profile_id], days)
        yield success
        yield age
        engaged = {row.scope: row.paused for row in switches}
        switch = GaugeMetricFamily(
            "bidagent_kill_switch_engaged",
            "1 while the kill switch of a scope (global or a profile id) is engaged.",
            labels=["scope"],
        )
        for scope in sorted({GLOBAL_SCOPE, *engaged}):
            switch.add_metric([scope], 1.0 if engaged.get(scope) else 0.0)
        yield switch
        family = GaugeMetricFamily(
            "bidagent_outbox_notifications",
            "Notifications waiting to be delivered (pending) or given up (dead).",
            labels=["status"],
        )
        for status_name in _OUTBOX_STATUSES:
            family.add_metric([status_name], outbox.get(status_name, 0))
        yield family


def metrics_registry(engine: Engine, clock: Callable[[], datetime]) -> CollectorRegistry:
    """A registry of its own holding only bidagent's series (no process or GC collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(engine, clock))
    return registry
