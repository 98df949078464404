"""``/healthz`` and ``/metrics`` on the console app: unauthenticated, and every series the
ledger knows, in Prometheus text through prometheus_client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bidagent.agent.service.metrics import METRICS
from bidagent.store import ChangeRecord, CycleRecord, NotificationRecord, ReviewItemRecord
from bidagent.store.types import utcnow
from tests.console.conftest import ConsoleWorld


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_expose_the_ledger_and_the_new_series(
    console: Callable[..., TestClient], console_world: ConsoleWorld
) -> None:
    """Without signing in, /metrics lists changes by status, open items, each profile's last
    successful cycle and data age, the kill switch and the outbox, with the ledger's values."""
    client = console()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "set-cookie" not in response.headers
    samples = _samples(response.text)
    with Session(console_world.agent.engine) as session:
        changes = Counter(c.status for c in session.exec(select(ChangeRecord)))
        open_items = len(list(session.exec(select(ReviewItemRecord).where(
            ReviewItemRecord.status == "open"))))  # fmt: skip
        newest = max(session.exec(select(CycleRecord)), key=lambda c: c.id or 0)
        outbox = Counter(n.status for n in session.exec(select(NotificationRecord)))
    profile = (("profile_id", newest.profile_id),)
    assert {
        labels[0][1]: value
        for (name, labels), value in samples.items()
        if name == "bidagent_changes"
    } == {status: float(n) for status, n in changes.items()}
    assert samples[("bidagent_review_items_open", ())] == open_items
    assert newest.recorded_at is not None
    assert samples[("bidagent_last_successful_cycle_timestamp_seconds", profile)] == (
        newest.recorded_at.timestamp()
    )
    assert samples[("bidagent_data_age_days", profile)] == 1.0
    assert samples[("bidagent_kill_switch_engaged", (("scope", "global"),))] == 0.0
    assert samples[("bidagent_outbox_notifications", (("status", "pending"),))] == outbox["pending"]
    assert samples[("bidagent_outbox_notifications", (("status", "dead"),))] == outbox["dead"]


def test_metrics_carry_this_processs_counters(
    console: Callable[..., TestClient], console_world: ConsoleWorld
) -> None:
    """The in-process counters appear as Prometheus counters and a summary, with their values."""
    METRICS.cycle("succeeded", 2.5)
    METRICS.cycle_failed("throttled")
    snap = METRICS.snapshot()
    samples = _samples(console().get("/metrics").text)
    assert (
        samples[("bidagent_cycles_total", (("outcome", "succeeded"),))] == snap.cycles["succeeded"]
    )
    assert (
        samples[("bidagent_cycles_failed_total", (("reason", "throttled"),))]
        == (snap.failed_cycles["throttled"])
    )
    assert samples[("bidagent_cycle_duration_seconds_count", ())] == snap.cycle_seconds_count
    assert samples[("bidagent_cycle_duration_seconds_sum", ())] == snap.cycle_seconds_sum
    assert samples[("bidagent_api_calls_total", (("status", "200"),))] == snap.api_calls["200"]


def test_healthz_answers_without_signing_in(
    console: Callable[..., TestClient], console_world: ConsoleWorld
) -> None:
    """/healthz is the health check: 200 with the last cycle while it is on time, 503 once the
    newest cycle failed."""
    client = console()
    with Session(console_world.agent.engine) as session:
        newest = max(session.exec(select(CycleRecord)), key=lambda c: c.id or 0)
        newest.recorded_at = utcnow()  # the world was cycled once per session, maybe long ago
        session.add(newest)
        session.commit()
    healthy = client.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.text.startswith("last cycle ") and "succeeded" in healthy.text
    with Session(console_world.agent.engine) as session:
        newest = max(session.exec(select(CycleRecord)), key=lambda c: c.id or 0)
        newest.outcome, newest.error = "failed", "auth: token refused"
        session.add(newest)
        session.commit()
    failed = client.get("/healthz")
    assert failed.status_code == 503
    assert failed.text.rstrip().endswith(": auth: token refused")
