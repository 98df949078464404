"""One cycle for one profile: sync → windows → evaluate → conflicts → guardrails → plan → apply →
record → review items (docs/architecture.md §3). ``bidagent plan``, ``bidagent cycle`` and the daemon all call
:func:`run_cycle`; ``plan`` stops before the intent log.

A cycle is keyed by (profile, business date in the profile's time zone, schedule, mode). A
finished cycle is not run again unless forced (a ``--dry-run`` cycle never counts for the live
one), so a double fire or a restart does not act twice; a cycle
that died after writing its plan resumes by applying that plan instead of planning anew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import structlog

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.bid_suggestions import refresh_bid_suggestions
from bidagent.agent.cycle.change_sets import apply_and_settle, reconcile_and_settle
from bidagent.agent.cycle.engine_inputs import engine_settings_for
from bidagent.agent.cycle.fact_invariants import withheld_sources
from bidagent.agent.cycle.intent_log import write_plan
from bidagent.agent.cycle.rule_runs import record_plan_rule_runs
from bidagent.agent.cycle.saved_plan import fail_refused, refuse_moved
from bidagent.agent.cycle.sync import sync_dayparted, sync_entities, sync_reports
from bidagent.agent.review.escalation import (
    escalate_api_problem,
    escalate_data_problem,
    failure_kind,
)
from bidagent.agent.service.metrics import METRICS
from bidagent.business_dates import business_date
from bidagent.durations import parse_duration
from bidagent.engine import Plan, RuleSet, evaluate
from bidagent.engine.lookback import facts_lookback_days
from bidagent.errors import AdsError, AgentError, ReportFailed
from bidagent.store import CycleRecord, ProfileRecord, Session, session_scope
from bidagent.store.changes import cycle_change_ids, stale_planned_changes
from bidagent.store.cycles import (
    count_cycles,
    cycle_counts,
    finish_cycle,
    insert_cycle,
    latest_cycle,
    load_latest_cycle,
    set_cycle_phase,
)
from bidagent.store.engine_inputs import read_engine_inputs
from bidagent.store.profile_locks import hold_profile
from bidagent.store.profiles import load_profile
from bidagent.store.report_days import has_report_days, record_report_days
from bidagent.store.transitions import transition
from bidagent.store.types import utcnow

__all__ = ["CycleResult", "plan_profile", "run_cycle"]

log = structlog.get_logger(__name__)

_DONE = "today's cycle already finished"
# What a lock holder runs, as a waiter's message names it.
_COMMANDS = {"cli": "bidagent cycle", "daemon": "bidagent run"}


@dataclass
class CycleResult:
    """What one call of :func:`run_cycle` did."""

    profile_id: str
    business_date: date
    outcome: str  # succeeded | stale (stale data held every rule) | skipped | failed | interrupted
    cycle_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    plan: Plan | None = None
    error: str | None = None
    reason: str | None = None  # why a cycle was skipped

    def summary(self) -> str:
        """The one line an operator reads per cycle."""
        c = self.counts
        return (
            f"profile {self.profile_id} {self.business_date}: {self.outcome}; "
            f"applied {c.get('applied', 0)}, held {c.get('held', 0)}, failed {c.get('failed', 0)}, "
            f"dry-run {c.get('dry_run', 0)}, superseded {c.get('superseded', 0)}, "
            f"review items {c.get('reviews', 0)}"
            # Still planned after the apply step: the kill switch held them back.
            + (f"; kill switch held {c['planned']}" if c.get("planned") else "")
            + (f"; {self.error}" if self.error else "")
            + (f" ({self.reason})" if self.reason else "")
        )


def _profile(ctx: AgentContext, profile_id: str) -> ProfileRecord | None:
    return load_profile(ctx.engine, profile_id)


def _sync(ctx: AgentContext, profile_id: str, now: datetime) -> date:
    """Sync entities (recording external edits) and reports; return the business date."""
    sync_entities(ctx.client, ctx.engine, profile_id, now=now)
    ads = ctx.settings.ads
    refresh_bid_suggestions(ctx.client, ctx.engine, profile_id, now=now,
                            max_age=timedelta(days=ads.suggestion_max_age_days),
                            max_ad_groups=ads.suggestion_ad_groups)  # fmt: skip
    profile = _profile(ctx, profile_id)
    assert profile is not None, f"sync did not store profile {profile_id}"
    today = business_date(now, profile.timezone)
    # Never pulled whole before: pull the full history, so the freshness check has every day a
    # window needs.
    days = (
        ctx.settings.ads.restate_days
        if has_report_days(ctx.engine, profile_id)
        else ctx.settings.ads.history_days
    )
    start, end = today - timedelta(days=days), today - timedelta(days=1)
    try:
        sync_reports(ctx.client, ctx.engine, profile_id, start=start, end=end)
    except ReportFailed as exc:
        log.error("report_rejected", profile_id=profile_id, error=str(exc))
        with session_scope(ctx.engine) as session:
            escalate_data_problem(
                session,
                profile_id=profile_id,
                key=f"report:{getattr(exc, 'report_type', 'report')}",
                summary=f"report rejected, rules act on older data: {exc}",
                evidence={"start": start.isoformat(), "end": end.isoformat(), "error": str(exc)},
                now=now,
            )
        return today
    withheld = withheld_sources(ctx.engine, profile_id, start, end, now=now)
    record_report_days(ctx.engine, profile_id, start, end, pulled_at=now, withheld=withheld)
    return today


def _evaluate(
    ctx: AgentContext, profile_id: str, rule_set: RuleSet, now: datetime, *, dry_run: bool,
    scope: str,
) -> Plan:  # fmt: skip
    profile = _profile(ctx, profile_id)
    assert profile is not None
    settings = engine_settings_for(ctx.settings, profile)
    if dry_run:
        settings = replace(settings, mode="dry_run")
    today = business_date(now, profile.timezone)
    lookback = facts_lookback_days(rule_set, settings)
    with ctx.engine.connect() as connection:
        inputs = read_engine_inputs(connection, profile_id, today, facts_lookback_days=lookback)
    return evaluate(rule_set, inputs, settings, now, scope=scope)  # type: ignore[arg-type]


def plan_profile(
    ctx: AgentContext, profile_id: str, rule_set: RuleSet, *, sync: bool = True
) -> tuple[date, Plan]:
    """Steps 1–6 for one profile: what a cycle would change now, with nothing written."""
    if sync:
        # The sync records external edits: under the lock, so it never reads a listing mid-apply.
        owner = "bidagent plan"
        with hold_profile(
            ctx.engine, profile_id, owner=owner, wait_s=ctx.settings.schedule.lock_wait_s
        ):
            now = ctx.now()
            today = _sync(ctx, profile_id, now)
    else:
        now = ctx.now()
        profile = _profile(ctx, profile_id)
        if profile is None:
            raise AgentError(f"profile {profile_id} has never been synced: plan without --no-sync")
        today = business_date(now, profile.timezone)
    return today, _evaluate(ctx, profile_id, rule_set, now, dry_run=False, scope="daily")


def _claim(
    ctx: AgentContext, profile_id: str, today: date, schedule: str, *, force: bool, mode: str,
    trigger: str, rule_set: RuleSet, now: datetime,
) -> CycleRecord | None:  # fmt: skip
    """The cycle record to run under, or None when this cycle already finished."""
    with session_scope(ctx.engine) as session:
        existing = latest_cycle(session, profile_id, today, schedule, mode)
        if existing is not None and existing.outcome == "running" and not force:
            # We hold the profile's lock, so its owner is gone: resume its plan.
            log.warning("cycle_resumed", cycle_id=existing.id, phase=existing.phase)
            return existing
        if existing is not None and existing.outcome == "succeeded" and not force:
            return None
        record = _new_record(session, profile_id, today, schedule, mode=mode, trigger=trigger,
                             rule_set=rule_set, now=now)  # fmt: skip
        # None: another process claimed the same cycle between our read and write; it runs it.
        return insert_cycle(session, record)


def _new_record(
    session: Session, profile_id: str, today: date, schedule: str, *, mode: str, trigger: str,
    rule_set: RuleSet, now: datetime,
) -> CycleRecord:  # fmt: skip
    """A new cycle record under the first free key: a dry run's record takes "daily", the live
    cycle after it "daily#2", so the key stays unique over both modes."""
    taken = count_cycles(session, profile_id, today, schedule)
    return CycleRecord(
        profile_id=profile_id, business_date=today, mode=mode, trigger=trigger,
        schedule=f"{schedule}#{taken + 1}" if taken else schedule,
        ruleset_hash=rule_set.hash, started_at=now,
    )  # fmt: skip


def _counts(ctx: AgentContext, cycle_id: int, since: datetime | None = None) -> dict[str, int]:
    """Changes by status, and review items opened or seen again since the cycle began (those
    the engine raised and those the agent raised: a rejected report, a refused change)."""
    return cycle_counts(ctx.engine, cycle_id, since)


def _finish(
    ctx: AgentContext, cycle_id: int, *, outcome: str, counts: dict[str, int],
    timings: dict[str, float], error: str | None = None,
) -> None:  # fmt: skip
    finish_cycle(
        ctx.engine, cycle_id, outcome=outcome, counts=counts,
        timings={k: round(v, 4) for k, v in timings.items()}, error=error,
        finished_at=ctx.now(), recorded_at=utcnow(),
    )  # fmt: skip


def run_cycle(
    ctx: AgentContext,
    profile_id: str,
    rule_set: RuleSet,
    *,
    force: bool = False,
    dry_run: bool = False,
    schedule: str = "daily",
    scope: str = "daily",
    trigger: str = "cli",
    lock_wait_s: float | None = None,
    saved: Plan | None = None,
) -> CycleResult:
    """Run one whole cycle for one profile; see the module docstring for the guarantees.
    ``saved`` (``cycle --plan``) replaces the evaluation: that plan is written and applied, less
    each change whose entity no longer holds its old value (see ``saved_plan.refuse_moved``).

    The whole cycle runs under the profile's lock: waited for up to ``lock_wait_s`` seconds
    (default ``[schedule] lock_wait_s``), then :class:`ProfileBusyError` naming the holder.
    """
    wait_s = ctx.settings.schedule.lock_wait_s if lock_wait_s is None else lock_wait_s
    owner = f"{_COMMANDS.get(trigger, trigger)} {schedule}"
    with (
        structlog.contextvars.bound_contextvars(profile_id=profile_id),
        hold_profile(ctx.engine, profile_id, owner=owner, wait_s=wait_s),
    ):
        return _run_locked(
            ctx, profile_id, rule_set, force=force, dry_run=dry_run, schedule=schedule,
            scope=scope, trigger=trigger, saved=saved,
        )  # fmt: skip


def _run_locked(
    ctx: AgentContext, profile_id: str, rule_set: RuleSet, *, force: bool, dry_run: bool,
    schedule: str, scope: str, trigger: str, saved: Plan | None,
) -> CycleResult:  # fmt: skip
    """:func:`run_cycle` with the profile's lock held: a ``running`` cycle found here was left
    by a process that died (a live one would hold the lock), so it is resumed."""
    now = ctx.now()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    reconcile_and_settle(ctx, profile_id)
    profile = _profile(ctx, profile_id)
    today = business_date(now, profile.timezone) if profile else None
    mode = "dry_run" if dry_run or ctx.settings.effective_mode == "dry_run" else "live"
    if today is not None and not force and _finished(ctx, profile_id, today, schedule, mode):
        log.info("cycle_skipped", business_date=str(today), reason="already finished")
        return CycleResult(profile_id, today, "skipped", reason=_DONE)
    try:
        if scope == "daily" or profile is None:
            today = _sync(ctx, profile_id, now)
        else:
            sync_dayparted(ctx.client, ctx.engine, profile_id, now=now)
        timings["sync_s"] = time.perf_counter() - clock
    except Exception as exc:  # the cycle boundary: any sync failure is recorded, never lost
        return _sync_failed(ctx, profile_id, today or now.date(), schedule, exc, mode=mode,
                            trigger=trigger, rule_set=rule_set, now=now)  # fmt: skip
    assert today is not None
    record = _claim(
        ctx, profile_id, today, schedule, force=force, mode=mode, trigger=trigger,
        rule_set=rule_set, now=now,
    )  # fmt: skip
    if record is None:
        return CycleResult(profile_id, today, "skipped", reason=_DONE)
    cycle_id = record.id or 0
    with structlog.contextvars.bound_contextvars(cycle_id=cycle_id):
        try:
            return _run_claimed(
                ctx, record, rule_set, now, dry_run=dry_run, scope=scope, timings=timings,
                saved=saved,
            )  # fmt: skip
        except Exception as exc:  # the cycle boundary: record the outcome, keep the daemon up
            log.exception("cycle_failed", error=str(exc))
            METRICS.cycle_failed(failure_kind(exc)[1] if isinstance(exc, AdsError) else "error")
            counts = _counts(ctx, cycle_id)
            _finish(
                ctx, cycle_id, outcome="failed", counts=counts, timings=timings,
                error=f"{type(exc).__name__}: {exc}",
            )  # fmt: skip
            return CycleResult(profile_id, today, "failed", cycle_id, counts, error=str(exc))


def _sync_failed(
    ctx: AgentContext, profile_id: str, today: date, schedule: str, exc: Exception, *,
    mode: str, trigger: str, rule_set: RuleSet, now: datetime,
) -> CycleResult:  # fmt: skip
    """A sync that failed: a failed cycle record with the reason, a review item, a metric."""
    kind, reason = failure_kind(exc)
    error = f"sync failed: {type(exc).__name__}: {exc}"
    log.error("cycle_failed", phase="sync", reason=reason, error=error)
    with session_scope(ctx.engine) as session:
        escalate = escalate_api_problem if kind == "api" else escalate_data_problem
        escalate(
            session, profile_id=profile_id, key=f"sync:{type(exc).__name__}", summary=error,
            evidence={"error": str(exc), "phase": "sync"}, now=now,
        )  # fmt: skip
        record = insert_cycle(session, _new_record(session, profile_id, today, schedule, mode=mode,
                              trigger=trigger, rule_set=rule_set, now=now))  # fmt: skip
        cycle_id = record.id if record is not None else None
    METRICS.cycle_failed(reason)
    if cycle_id is None:
        return CycleResult(profile_id, today, "failed", error=error)
    counts = _counts(ctx, cycle_id)
    _finish(ctx, cycle_id, outcome="failed", counts=counts, timings={}, error=error)
    return CycleResult(profile_id, today, "failed", cycle_id, counts, error=error)


def _finished(ctx: AgentContext, profile_id: str, today: date, schedule: str, mode: str) -> bool:
    """Whether this cycle already succeeded in this mode; a failed one is run again at the next
    fire, and a dry run never uses up the day's live cycle."""
    record = load_latest_cycle(ctx.engine, profile_id, today, schedule, mode)
    return record is not None and record.outcome == "succeeded"


def _run_claimed(
    ctx: AgentContext, record: CycleRecord, rule_set: RuleSet, now: datetime, *, dry_run: bool,
    scope: str, timings: dict[str, float], saved: Plan | None,
) -> CycleResult:  # fmt: skip
    cycle_id = record.id or 0
    profile_id = record.profile_id
    plan: Plan | None = None
    clock = time.perf_counter()
    if record.phase == "started":
        _supersede_stale(ctx, profile_id, cycle_id, now)
        plan = saved or _evaluate(ctx, profile_id, rule_set, now, dry_run=dry_run, scope=scope)
        refused = refuse_moved(ctx, plan) if saved is not None else {}
        timings["evaluate_s"] = time.perf_counter() - clock
        hold_expiry = parse_duration(ctx.settings.review.hold_expiry)
        with session_scope(ctx.engine) as session:
            write_plan(session, record, plan, now=now, hold_expiry=hold_expiry)
            fail_refused(session, cycle_id, refused, now)
            record_plan_rule_runs(session, record, plan, rule_set, scope)
            set_cycle_phase(session, cycle_id, "planned")
        timings["plan_s"] = time.perf_counter() - clock
    with session_scope(ctx.engine) as session:
        planned = cycle_change_ids(session, cycle_id)
    clock = time.perf_counter()
    apply_and_settle(ctx, profile_id, planned)
    timings["apply_s"] = time.perf_counter() - clock
    if ctx.stopping.is_set():
        # Left "running" in phase "planned": the next start resumes by applying the rest.
        log.warning("cycle_interrupted", cycle_id=cycle_id)
        return CycleResult(profile_id, record.business_date, "interrupted", cycle_id)
    counts = _counts(ctx, cycle_id)
    stale = _all_rules_stale(plan, rule_set, scope)
    outcome = "stale" if stale else "succeeded"
    error = "stale data held every rule: " + "; ".join(stale) if stale else None
    if stale:
        METRICS.cycle_failed("stale")
    _finish(ctx, cycle_id, outcome=outcome, counts=counts, timings=timings, error=error)
    result = CycleResult(profile_id, record.business_date, outcome, cycle_id, counts, plan, error)
    log.debug("cycle_finished", summary=result.summary(), **counts)
    return result


def _all_rules_stale(plan: Plan | None, rule_set: RuleSet, scope: str) -> list[str]:
    """Each rule's freshness problem when stale data stopped every rule of a daily cycle (such a
    cycle changed nothing because it could not look, which is not a success); else []."""
    if plan is None or scope != "daily" or not rule_set.rules:
        return []
    problems = {s.rule_name: s.detail for s in plan.skips if s.reason == "freshness"}
    if not set(problems) >= {r.name for r in rule_set.rules}:
        return []
    return [f"{name}: {detail}" for name, detail in sorted(problems.items())]


def _supersede_stale(ctx: AgentContext, profile_id: str, cycle_id: int, now: datetime) -> None:
    """Changes still ``planned`` from an earlier cycle (held back by the kill switch) are stale:
    the new plan decides afresh from newer data, so they end as ``superseded``."""
    with session_scope(ctx.engine) as session:
        for row in stale_planned_changes(session, profile_id, cycle_id):
            transition(row, "superseded", now=now)
            row.reason = f"not sent before cycle {cycle_id} planned afresh"
            session.add(row)
