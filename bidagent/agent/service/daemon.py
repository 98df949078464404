"""``bidagent run``: the long-running service. APScheduler 3.x is only the trigger.

* The job store is in memory and rebuilt from the configuration at every start (APScheduler's
  persistent stores pickle jobs and lose runs in a crash); what ran and what is owed lives in our
  own cycle records, keyed by (profile, business date), so a missed run is recomputed and a double
  fire is a no-op. Jobs use ``coalesce=True``, ``max_instances=1`` and a generous misfire grace.
* On Amazon, each profile's daily cycle fires at ``schedule.daily_at`` in the profile's time zone
  (and at start, when today's time has passed: a cycle already finished today is a no-op).
  Dayparting rules (``schedule``/``until``) add one job per profile and distinct minute at which
  a period opens or closes; each firing runs the ``daypart`` scope as its own cycle
  (``daypart@HH:MM``), so it is idempotent like the daily one. The jobs are rebuilt whenever
  the rule set reloads.
* On the in-process sandbox, one tick every ``sandbox.seconds_per_day`` advances the simulated
  clock by a day and runs every profile's daily cycle, so a new user sees the agent work at once.
  Only daily cycles run there: a simulated day passes in one step, so there is no time of day
  for a dayparting period to open or close in (``bidagent plan``/``rules test`` show them).
* Rows left ``sending`` by a crash are reconciled at start. Rule files are polled and reloaded all
  or nothing; a rejected set keeps the last good one and raises one ``rules`` review item, which
  a later good set resolves. SIGTERM/SIGINT stop the scheduler after the batch in flight; the
  process exits 0.
* One daemon per SQLite database: an exclusive lock on ``<database>.lock``; a second daemon
  refuses to start with a clear message.
* The web console, when ``[console] port`` is set, is served in this process: the CLI hands the
  daemon a *serve* hook (``bidagent.console.server.start_console``; the agent layer does not
  import the console) that starts it once the context is open and is stopped last.
* The daily digest (``[notify] digest_at``) fires at that time of day in the host's local time
  zone (``TZ``, as cron reads it), on the sandbox too; it covers the time since the last digest on
  the agent's clock (:func:`bidagent.agent.review.notify.enqueue_digest`, which also ignores a
  double fire) and is posted at once.
* One writer per profile (``store/profile_locks.py``): every cycle runs under its profile's lock.
  A profile another process holds (``bidagent cycle``, a revert, an approval) is skipped for
  this tick with a ``cycle_skipped`` event naming the holder, and run at the next tick or fire.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from tzlocal import get_localzone

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_sets import reconcile_and_settle
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.agent.review.rule_items import raise_rules_review, resolve_rules_review
from bidagent.agent.service.daemon_lock import acquire_daemon_lock
from bidagent.agent.service.daypart_times import daypart_times
from bidagent.agent.service.health import check_health
from bidagent.agent.service.kill_switch import ensure_not_paused
from bidagent.agent.service.metrics import METRICS
from bidagent.agent.service.rule_watch import RuleWatcher
from bidagent.errors import AgentError, PausedError, ProfileBusyError, RuleSetError
from bidagent.settings import Settings
from bidagent.store import Session, session_scope
from bidagent.store.profile_locks import hold_profile
from bidagent.store.profiles import stored_timezones

__all__ = ["Daemon", "ServeHook", "Served", "acquire_daemon_lock", "daypart_times"]

log = structlog.get_logger(__name__)


class Served(Protocol):
    """Something a serve hook started, that the daemon stops when it stops."""

    def stop(self) -> None: ...


# Starts a server beside the daemon: given the open context and the health check, it returns what
# to stop at the end. A failure to start is an AgentError (the daemon then exits 1).
ServeHook = Callable[[AgentContext, Callable[[], tuple[bool, str]]], Served]


class Daemon:
    """The service: build the schedule, run until told to stop."""

    def __init__(self, settings: Settings, *, serve: ServeHook | None = None) -> None:
        self.settings = settings
        self._serve = serve
        self._stop = threading.Event()
        self._lock: IO[str] | None = None
        self.ctx: AgentContext | None = None
        self.rules: RuleWatcher | None = None
        self.scheduler: BackgroundScheduler | None = None
        self._server: Served | None = None
        self._started = datetime.now(UTC)
        self.ticks = 0  # sandbox days fully run
        self._days_started = 0
        self._max_days: int | None = None

    def _on_bad_rules(self, error: RuleSetError, fingerprint: str) -> None:
        assert self.ctx is not None
        raise_rules_review(
            self.ctx.engine, self.settings.rules_dir, error, fingerprint, self.ctx.now()
        )

    def _on_good_rules(self) -> None:
        assert self.ctx is not None
        resolve_rules_review(self.ctx.engine, self.settings.rules_dir, self.ctx.now())

    def _cycle_all(self) -> bool:
        """Every profile's daily cycle; False when a stop cut the round short."""
        assert self.ctx is not None
        for profile_id in profile_ids(self.ctx):
            if self._stop.is_set():
                return False
            self._profile_cycle(profile_id)
        return not self._stop.is_set()

    def _sandbox_tick(self) -> None:
        """One simulated day: move the sandbox clock, then run every profile's cycle. A stop
        requested before the day starts leaves the clock alone; a day cut short does not count."""
        assert self.ctx is not None
        assert self.ctx.sandbox is not None
        if self._stop.is_set():
            return
        if self._max_days is not None and self._days_started >= self._max_days:
            # The last day is done: a tick that fires before the main loop sees it must not
            # start (and then interrupt) one more day.
            return
        if self._days_started:
            self.ctx.sandbox.advance(days=1)
        self._days_started += 1
        if self._cycle_all():
            self.ticks += 1

    def _profile_cycle(
        self, profile_id: str, *, scope: str = "daily", schedule: str = "daily"
    ) -> None:
        assert self.ctx is not None
        assert self.rules is not None
        if self._stop.is_set():
            return
        start = time.perf_counter()
        try:
            # Never waits: another process working on the profile is left to finish, and
            # the next tick (or fire) runs this cycle; a finished one is then a no-op.
            result = run_cycle(
                self.ctx, profile_id, self.rules.current, trigger="daemon", scope=scope,
                schedule=schedule, lock_wait_s=0,
            )  # fmt: skip
        except ProfileBusyError as exc:
            log.warning("cycle_skipped", profile_id=profile_id, schedule=schedule,
                        reason="profile busy", error=str(exc))  # fmt: skip
            return
        METRICS.cycle(result.outcome, time.perf_counter() - start)
        try:
            ensure_not_paused(self.ctx.engine, profile_id)
            paused = False
        except PausedError:
            paused = True
        # The one line per cycle at INFO; each change's own line is at DEBUG.
        line = result.summary() + ("; kill switch engaged: nothing sent" if paused else "")
        log.info("cycle_summary", line=line, schedule=schedule, paused=paused)

    def _reconcile_all(self) -> None:
        """Settle rows left ``sending``, each profile under its lock: rows another process is
        sending right now are its to settle (its cycle holds the lock), never read back here."""
        assert self.ctx is not None
        for profile_id in profile_ids(self.ctx):
            try:
                with hold_profile(self.ctx.engine, profile_id, owner="bidagent run", wait_s=0):
                    reconcile_and_settle(self.ctx, profile_id)
            except ProfileBusyError as exc:
                log.warning("reconcile_skipped", profile_id=profile_id, error=str(exc))

    def _guarded(self, job: Any, *args: Any, **kwargs: Any) -> Any:
        def run() -> None:
            try:
                job(*args, **kwargs)
            except Exception:  # a job boundary: log it, keep the scheduler alive
                log.exception("job_failed", job=getattr(job, "__name__", str(job)))

        return run

    def _housekeeping(self) -> None:
        """Reload rules, expire held items, deliver notifications: each step on its own, so a
        failing one (a file vanishing mid-read, a webhook down) does not starve the others."""
        from bidagent.agent.review.items import expire_items
        from bidagent.agent.review.notify import deliver_pending

        assert self.ctx is not None
        ctx = self.ctx

        def expire() -> None:
            with session_scope(ctx.engine) as session:
                expire_items(session, ctx.now())

        steps = [
            ("reload_rules", self._reload_rules),
            ("expire_items", expire),
            ("deliver_notifications", lambda: deliver_pending(ctx.engine, self.settings, now=ctx.now())),
        ]  # fmt: skip
        for name, step in steps:
            if self._stop.is_set():
                return
            try:
                step()
            except Exception:  # a job boundary: the next round tries again
                log.exception("housekeeping_failed", step=name)

    def _digest(self) -> None:
        """Queue the daily digest, then post what is due (it and anything waiting)."""
        from bidagent.agent.review.notify import deliver_pending, enqueue_digest

        assert self.ctx is not None
        with session_scope(self.ctx.engine) as session:
            queued = enqueue_digest(session, self.settings, self.ctx.now())
        if queued is not None:
            deliver_pending(self.ctx.engine, self.settings, now=self.ctx.now())

    def _reload_rules(self) -> None:
        assert self.rules is not None
        if not self.rules.poll():
            return
        self._on_good_rules()
        if self.scheduler is not None and self.ctx is not None and self.ctx.sandbox is None:
            self._schedule_dayparts(self.scheduler)

    def _timezones(self) -> dict[str, str]:
        """Each managed profile's time zone: stored by a sync, else as the API lists it."""
        assert self.ctx is not None
        ids = profile_ids(self.ctx)
        with Session(self.ctx.engine) as session:
            zones = stored_timezones(session, ids)
        if len(zones) < len(ids):
            listed = {p.profile_id: p.timezone for p in self.ctx.client.list_profiles()}
            for profile_id in ids:
                if profile_id not in zones:
                    if profile_id not in listed:
                        raise AgentError(
                            f"profile {profile_id} is not visible to these credentials"
                        )
                    zones[profile_id] = listed[profile_id]
        return zones

    def _schedule_dayparts(self, scheduler: BackgroundScheduler) -> None:
        """(Re)build the dayparting jobs from the current rule set."""
        assert self.rules is not None
        for job in scheduler.get_jobs():
            if job.id.startswith("daypart-"):
                job.remove()
        times = daypart_times(self.rules.current)
        for profile_id, tz in self._timezones().items():
            for hour, minute in times:
                at = f"{hour:02d}:{minute:02d}"
                scheduler.add_job(
                    self._guarded(
                        self._profile_cycle, profile_id, scope="daypart", schedule=f"daypart@{at}"
                    ),
                    CronTrigger(hour=hour, minute=minute, timezone=tz),
                    id=f"daypart-{profile_id}-{at}",
                )
        log.info("daypart_jobs_scheduled", times=[f"{h:02d}:{m:02d}" for h, m in times])

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
            for profile_id, tz in self._timezones().items():
                local = datetime.now(ZoneInfo(tz))
                owed = (local.hour, local.minute) >= (at.hour, at.minute)
                scheduler.add_job(
                    self._guarded(self._profile_cycle, profile_id),
                    CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
                    id=f"cycle-{profile_id}",
                    # Started after today's time: run now; a cycle that already ran is a no-op.
                    **({"next_run_time": datetime.now(UTC)} if owed else {}),
                )
            self._schedule_dayparts(scheduler)
        digest_at = self.settings.notify.digest_at
        if digest_at is not None:
            scheduler.add_job(
                self._guarded(self._digest),
                CronTrigger(hour=digest_at.hour, minute=digest_at.minute, second=digest_at.second,
                            timezone=get_localzone()),
                id="digest",
            )  # fmt: skip
        scheduler.add_job(
            self._guarded(self._housekeeping),
            IntervalTrigger(seconds=self.settings.schedule.reload_rules_s, timezone=UTC),
            id="housekeeping",
        )
        return scheduler

    def request_stop(self, *_args: Any) -> None:
        """Stop after the batch in flight. Safe from a signal handler and from any thread: it
        only sets events (logging from a signal handler can re-enter a half-written line)."""
        self._stop.set()
        if self.ctx is not None:
            self.ctx.stopping.set()

    def run(self, *, max_ticks: int | None = None) -> int:
        """Run until SIGTERM/SIGINT (or ``max_ticks`` sandbox days, for tests). Returns 0."""
        self._lock = acquire_daemon_lock(self.settings)
        self._max_days = max_ticks
        if threading.current_thread() is threading.main_thread():
            # Installed first, so a SIGTERM during start-up (reconcile) also ends cleanly.
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
        try:
            self.ctx = AgentContext.open(self.settings)
            if self._stop.is_set():
                self.ctx.stopping.set()
            self.rules = RuleWatcher(self.settings.rules_dir, self._on_bad_rules)
            self._reconcile_all()
            if self._serve is not None:
                ctx, settings, started = self.ctx, self.settings, self._started
                self._server = self._serve(
                    ctx, lambda: check_health(settings, ctx.engine, started=started)
                )
            self.scheduler = self._build_schedule()
            self.scheduler.start()
            log.info(
                "daemon_started", source=self.settings.ads.source, mode=self.settings.effective_mode
            )
            while not self._stop.wait(0.2):
                if max_ticks is not None and self.ticks >= max_ticks:
                    self.request_stop()
            log.info("daemon_stopping")
            self.scheduler.shutdown(wait=True)
            log.info("daemon_stopped")
            return 0
        finally:
            if self._server is not None:
                self._server.stop()
            if self.ctx is not None:
                self.ctx.close()
            if self._lock is not None:
                self._lock.close()
