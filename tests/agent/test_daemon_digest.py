"""The daemon schedules the daily digest (``[notify] digest_at``): a cron job at that time of day
in the host's time zone, which queues the digest in the outbox and posts it when it fires."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from tzlocal import get_localzone

from bidagent.agent.service.daemon import Daemon
from bidagent.settings import load_settings
from bidagent.store import NotificationRecord
from tests.agent.test_daemon import _config, _rows, _wait
from tests.agent.test_notify import Receiver


def _next_local(at: time) -> datetime:
    """The next moment the local clock reads ``at``."""
    zone = get_localzone()
    now = datetime.now(zone)
    for days in (0, 1):
        candidate = datetime.combine(now.date() + timedelta(days=days), at, tzinfo=zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable")


def test_the_digest_is_scheduled_at_digest_at_and_queued_when_it_fires(tmp_path: Path) -> None:
    """With digest_at set, the daemon has one digest job firing daily at that local time; when
    it fires, a digest is queued in the outbox and posted to the webhook."""
    receiver = Receiver()
    extra = f"""
[notify]
digest_at = "07:45"
[[notify.webhooks]]
name = "ops"
kind = "json"
url = "{receiver.url("/hook")}"
min_severity = "critical"
"""
    settings = load_settings(_config(tmp_path, extra))
    daemon = Daemon(settings)
    thread = threading.Thread(target=daemon.run, name="daemon-under-test")
    thread.start()
    try:
        _wait(
            lambda: daemon.scheduler is not None and daemon.scheduler.get_job("digest") is not None
        )
        assert daemon.scheduler is not None
        job = daemon.scheduler.get_job("digest")
        assert (str(job.trigger), job.trigger.timezone) == (
            "cron[hour='7', minute='45', second='0']", get_localzone(),
        )  # fmt: skip
        assert job.next_run_time == _next_local(time(7, 45))
        assert [r for r in _rows(settings, NotificationRecord) if r.event == "digest"] == []
        job.modify(next_run_time=datetime.now(UTC))  # the time has come
        _wait(lambda: any(body["event"] == "digest" for _, body in receiver.bodies))
    finally:
        daemon.request_stop()
        thread.join(timeout=60)
        receiver.stop()
    assert not thread.is_alive()
    digests = [r for r in _rows(settings, NotificationRecord) if r.event == "digest"]
    assert [(r.webhook, r.status, r.attempts) for r in digests] == [("ops", "sent", 1)]
    (body,) = [body for _, body in receiver.bodies if body["event"] == "digest"]
    assert (body["source"], sorted(body["digest"])) == ("bidagent", [
        "changes_applied", "changes_by_rule", "money_moved", "open_items", "open_items_by_kind",
        "period_end", "period_start",
    ])  # fmt: skip


def test_no_digest_job_without_digest_at(tmp_path: Path) -> None:
    """Without digest_at the daemon schedules no digest."""
    settings = load_settings(_config(tmp_path))
    daemon = Daemon(settings)
    thread = threading.Thread(target=daemon.run, name="daemon-under-test")
    thread.start()
    try:
        _wait(lambda: daemon.scheduler is not None and daemon.scheduler.running)
        assert daemon.scheduler is not None
        assert sorted(job.id for job in daemon.scheduler.get_jobs()) == [
            "housekeeping",
            "sandbox-day",
        ]
    finally:
        daemon.request_stop()
        thread.join(timeout=60)
    assert not thread.is_alive()
