"""What the console's Cycles pages show, gathered once for the HTML pages and the JSON API.

The list: cycles newest first, :data:`PAGE_SIZE` a page (keyset paging by id, ``before``), by
profile and outcome, each with its outcome, the reason it gives (the record's ``error``: why
it failed, or which rules stale data held), its durations by phase and its counts as recorded
when it finished. One cycle: the same, its changes by their status now (a later approval moves
them), and what each rule did in it (``cycle_rules`` beside the rule's changes by status).

Durations by phase, from the record's timings: ``sync`` (reconcile and sync), ``evaluate``,
``write plan`` (the record's ``plan_s`` counts from the same start as ``evaluate_s``, so the
write is their difference) and ``apply``; a cycle resumed after a crash has no evaluate or
plan timings, a cycle whose sync failed none at all. It must not render nor write.
"""

from __future__ import annotations

from dataclasses import dataclass

from bidagent.console.rule_views import RuleCounts
from bidagent.store import CycleRecord, Session
from bidagent.store.cycle_list import (
    CycleFilter,
    count_listed_cycles,
    cycle_by_id,
    cycle_choices,
    cycle_status_counts,
    page_cycles,
)
from bidagent.store.rule_runs import RuleRunRecord, change_statuses_by_rule, cycle_rule_runs

__all__ = [
    "OUTCOMES",
    "PAGE_SIZE",
    "PHASES",
    "CycleDetail",
    "CycleRow",
    "CyclesView",
    "RuleInCycle",
    "cycle_detail",
    "cycles_view",
    "phase_durations",
]

PAGE_SIZE = 50
# Every outcome a cycle record can have ("running": in progress, or interrupted and resumable).
OUTCOMES = ("running", "succeeded", "stale", "failed")
PHASES = ("sync", "evaluate", "write plan", "apply")


def phase_durations(timings: dict[str, float] | None) -> dict[str, float | None]:
    """Seconds per phase of :data:`PHASES` (None where the record has no timing for it)."""
    t = timings or {}
    evaluate, planned = t.get("evaluate_s"), t.get("plan_s")
    write = planned - evaluate if planned is not None and evaluate is not None else None
    return {
        "sync": t.get("sync_s"),
        "evaluate": evaluate,
        "write plan": write if write is None else max(write, 0.0),
        "apply": t.get("apply_s"),
    }


@dataclass(frozen=True)
class CycleRow:
    """One cycle with its durations by phase and in all."""

    cycle: CycleRecord
    phases: dict[str, float | None]

    @property
    def total_s(self) -> float | None:
        """The phases added up (None when none was timed)."""
        known = [s for s in self.phases.values() if s is not None]
        return sum(known) if known else None

    @property
    def counts(self) -> dict[str, int]:
        """The counts recorded when the cycle finished (changes by status, ``reviews``)."""
        return dict(sorted((self.cycle.counts or {}).items()))


def _row(cycle: CycleRecord) -> CycleRow:
    return CycleRow(cycle, phase_durations(cycle.timings))


@dataclass(frozen=True)
class CyclesView:
    """One page of the cycle list."""

    rows: list[CycleRow]
    where: CycleFilter
    before: int | None
    total: int
    position: int  # how many matching cycles come before this page
    profiles: list[str]
    outcomes: list[str]

    @property
    def next_before(self) -> int | None:
        """``before`` of the next (older) page, None on the last one."""
        if self.position + len(self.rows) >= self.total or not self.rows:
            return None
        return self.rows[-1].cycle.id


def cycles_view(session: Session, where: CycleFilter, before: int | None) -> CyclesView:
    """The page of cycles matching ``where`` below id ``before`` (the newest page: None)."""
    cycles = page_cycles(session, where, before_id=before, limit=PAGE_SIZE)
    total = count_listed_cycles(session, where)
    position = count_listed_cycles(session, where, from_id=before) if before is not None else 0
    profiles, outcomes = cycle_choices(session)
    return CyclesView(
        rows=[_row(c) for c in cycles],
        where=where,
        before=before,
        total=total,
        position=position,
        profiles=profiles,
        outcomes=sorted({*OUTCOMES, *outcomes}),
    )


@dataclass(frozen=True)
class RuleInCycle:
    """What one rule did in the cycle."""

    run: RuleRunRecord
    counts: RuleCounts


@dataclass(frozen=True)
class CycleDetail:
    """One cycle's page."""

    row: CycleRow
    statuses: dict[str, int]
    rules: list[RuleInCycle]

    @property
    def changes(self) -> int:
        """How many changes the cycle made."""
        return sum(self.statuses.values())


def cycle_detail(session: Session, cycle_id: int) -> CycleDetail | None:
    """The cycle's page, or None when there is no such cycle."""
    cycle = cycle_by_id(session, cycle_id)
    if cycle is None:
        return None
    runs = cycle_rule_runs(session, cycle_id)
    by_rule = change_statuses_by_rule(session, [cycle_id])
    rules = [
        RuleInCycle(
            run,
            RuleCounts(
                run.matched, run.proposed, run.skipped, run.alerts,
                dict(sorted(by_rule.get((cycle_id, run.rule_name), {}).items())),
                dict(run.skips or {}),
            ),
        )
        for run in runs
    ]  # fmt: skip
    statuses = dict(sorted(cycle_status_counts(session, cycle_id).items()))
    return CycleDetail(_row(cycle), statuses, rules)
