"""``bidagent run``: the long-running service. APScheduler 3.x is only the trigger.

* The job store is in memory and rebuilt from the configuration at every start (APScheduler's
  persistent stores pickle jobs and lose runs in a crash); what ran and what is owed lives in our
  own cycle records, keyed by (profile, business date), so a missed run is recomputed and a double
  fire is a no-op. Jobs use ``coalesce=True``, ``max_instances=1`` and a generous misfire grace.
* On Amazon, each profile's daily cycle fires at ``schedule.daily_at`` in the profile's time zone.
  On the in-process sandbox, one tick every ``sandbox.seconds_per_day`` advances the simulated
  clock by a day and runs every profile's cycle, so a new user sees the agent work at once.
* Rows left ``sending`` by a crash are reconciled at start. Rule files are polled and reloaded all
  or nothing. SIGTERM/SIGINT stop the scheduler after the batch in flight; the process exits 0.
* One daemon per SQLite database: an exclusive lock on ``<database>.lock``; a second daemon
  refuses to start with a clear message.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import Session

from bidagent.agent.apply import reconcile_sending
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle import run_cycle
from bidagent.agent.health import check_health
from bidagent.agent.metrics import METRICS, serve_metrics
from bidagent.agent.profiles import profile_ids
from bidagent.agent.rulewatch import RuleWatcher
from bidagent.errors import DaemonLockedError, RuleSetError
from bidagent.settings import Settings
from bidagent.store import ProfileRecord, session_scope

__all__ = ["Daemon", "acquire_daemon_lock"]

log = structlog.get_logger(__name__)


def acquire_daemon_lock(settings: Settings) -> IO[str] | None:
    """Hold an exclusive lock for the daemon's lifetime (SQLite only; None on PostgreSQL)."""
    url = settings.database.url
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    path = Path(url.removeprefix("sqlite:///") + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise DaemonLockedError(
            f"another bidagent daemon ({owner}) already runs on {url}; "
            "one daemon per SQLite database (stop it first, or use PostgreSQL for several)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


class Daemon:
    """The service: build the schedule, run until told to stop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._lock: IO[str] | None = None
        self.ctx: AgentContext | None = None
        self.rules: RuleWatcher | None = None
        self.scheduler: BackgroundScheduler | None = None
        self._server: Any = None
        self._started = datetime.now(UTC)
        self.ticks = 0  # sandbox days fully run
        self._days_started = 0

    def _on_bad_rules(self, error: RuleSetError, fingerprint: str) -> None:
        from bidagent.agent.review import raise_review

        assert self.ctx is not None
        with session_scope(self.ctx.engine) as session:
            raise_review(
                session,
                kind="rules",
                severity="critical",
                summary=f"rule files rejected ({len(error.problems)} problem(s)); the last good set keeps running",
                dedupe_key=f"rules:{fingerprint[:16]}",
                evidence={"problems": [str(p) for p in error.problems]},
                now=self.ctx.now(),
            )

    def _cycle_all(self, trigger: str) -> None:
        assert self.ctx is not None
        assert self.rules is not None
        for profile_id in profile_ids(self.ctx):
            if self._stop.is_set():
                return
            start = time.perf_counter()
            result = run_cycle(self.ctx, profile_id, self.rules.current, trigger=trigger)
            METRICS.cycle(result.outcome, time.perf_counter() - start)
            log.info("cycle_summary", line=result.summary())

    def _sandbox_tick(self) -> None:
        """One simulated day: move the sandbox clock, then run every profile's cycle."""
        assert self.ctx is not None
        assert self.ctx.sandbox is not None
        if self._days_started:
            self.ctx.sandbox.advance(days=1)
        self._days_started += 1
        self._cycle_all("daemon")
        self.ticks += 1

    def _profile_cycle(self, profile_id: str) -> None:
        assert self.ctx is not None
        assert self.rules is not None
        start = time.perf_counter()
        result = run_cycle(self.ctx, profile_id, self.rules.current, trigger="daemon")
        METRICS.cycle(result.outcome, time.perf_counter() - start)
        log.info("cycle_summary", line=result.summary())

    def _guarded(self, job: Any, *args: Any) -> Any:
        def run() -> None:
            try:
                job(*args)
            except Exception:  # a job boundary: log it, keep the scheduler alive
                log.exception("job_failed", job=getattr(job, "__name__", str(job)))

        return run

    def _housekeeping(self) -> None:
        assert self.ctx is not None
        assert self.rules is not None
        self.rules.poll()
        from bidagent.agent.notify import deliver_pending
        from bidagent.agent.review import expire_items

        with session_scope(self.ctx.engine) as session:
            expire_items(session, self.ctx.now())
        deliver_pending(self.ctx.engine, self.settings, now=self.ctx.now())

    def _build_schedule(self) -> BackgroundScheduler:
        assert self.ctx is not None
        grace = self.settings.schedule.misfire_grace_s
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        )
        if self.ctx.sandbox is not None:
            scheduler.add_job(
                self._guarded(self._sandbox_tick),
                IntervalTrigger(seconds=self.settings.sandbox.seconds_per_day, timezone=UTC),
                id="sandbox-day", next_run_time=datetime.now(UTC),
            )  # fmt: skip
        else:
            at = self.settings.schedule.daily_at
            for profile_id in profile_ids(self.ctx):
                with Session(self.ctx.engine) as session:
                    profile = session.get(ProfileRecord, profile_id)
                tz = profile.timezone if profile else "UTC"
                scheduler.add_job(
                    self._guarded(self._profile_cycle, profile_id),
                    CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
                    id=f"cycle-{profile_id}",
                )
        scheduler.add_job(
            self._guarded(self._housekeeping),
            IntervalTrigger(seconds=self.settings.schedule.reload_rules_s, timezone=UTC),
            id="housekeeping",
        )
        return scheduler

    def request_stop(self, *_args: Any) -> None:
        """Signal handler: stop after the batch in flight."""
        log.info("daemon_stopping")
        self._stop.set()
        if self.ctx is not None:
            self.ctx.stopping.set()

    def run(self, *, max_ticks: int | None = None) -> int:
        """Run until SIGTERM/SIGINT (or ``max_ticks`` sandbox days, for tests). Returns 0."""
        self._lock = acquire_daemon_lock(self.settings)
        try:
            self.ctx = AgentContext.open(self.settings)
            self.rules = RuleWatcher(self.settings.rules_dir, self._on_bad_rules)
            reconcile_sending(self.ctx)
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, self.request_stop)
                signal.signal(signal.SIGINT, self.request_stop)
            if self.settings.http.port:
                self._server = serve_metrics(
                    self.settings.http.host, self.settings.http.port, self.ctx.engine,
                    lambda: check_health(self.settings, self.ctx.engine, started=self._started),  # type: ignore[union-attr]
                )  # fmt: skip
            self.scheduler = self._build_schedule()
            self.scheduler.start()
            log.info(
                "daemon_started", source=self.settings.ads.source, mode=self.settings.effective_mode
            )
            while not self._stop.wait(0.2):
                if max_ticks is not None and self.ticks >= max_ticks:
                    self.request_stop()
            self.scheduler.shutdown(wait=True)
            log.info("daemon_stopped")
            return 0
        finally:
            if self._server is not None:
                self._server.shutdown()
            if self.ctx is not None:
                self.ctx.close()
            if self._lock is not None:
                self._lock.close()
