"""The ``cycle_rules`` reads: each (rule, profile)'s newest row, one profile's, a rule's history,
and the changes of those cycles by rule and status; the cycle list's paging and filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bidagent.store import ChangeRecord, CycleRecord, RuleRunRecord, session_scope
from bidagent.store.cycle_list import (
    CycleFilter,
    count_listed_cycles,
    cycle_choices,
    cycle_status_counts,
    page_cycles,
)
from bidagent.store.rule_runs import (
    change_statuses_by_rule,
    cycle_rule_runs,
    latest_rule_runs,
    record_rule_runs,
    rule_run_history,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _world(engine: Engine) -> None:
    """Profiles a and b; cycles 1-3 of a (3 failed), 4-5 of b; rule x in every cycle, y only in
    1 and 4; changes of x in cycles 2 and 5."""
    plan = [("a", "succeeded"), ("a", "succeeded"), ("a", "failed"), ("b", "succeeded"),
            ("b", "stale")]  # fmt: skip
    with session_scope(engine) as session:
        for i, (profile, outcome) in enumerate(plan, start=1):
            session.add(
                CycleRecord(id=i, profile_id=profile, business_date=date(2026, 1, i),
                            mode="live", outcome=outcome, started_at=NOW + timedelta(days=i))
            )  # fmt: skip
        session.flush()
        record_rule_runs(session, [
            RuleRunRecord(cycle_id=i, rule_name="x", profile_id=p, matched=i, proposed=1)
            for i, (p, _) in enumerate(plan, start=1)
        ] + [
            RuleRunRecord(cycle_id=1, rule_name="y", profile_id="a", skipped=2),
            RuleRunRecord(cycle_id=4, rule_name="y", profile_id="b", skipped=3),
        ])  # fmt: skip
        for cycle, status in ((2, "applied"), (2, "applied"), (2, "held"), (5, "failed")):
            session.add(
                ChangeRecord(cycle_id=cycle, profile_id="a" if cycle == 2 else "b",
                             entity_kind="keyword", entity_id="k", field="bid", rule_name="x",
                             status=status, created_at=NOW, updated_at=NOW)
            )  # fmt: skip
        session.add(
            ChangeRecord(cycle_id=2, profile_id="a", entity_kind="keyword", entity_id="k",
                         field="bid", actor="external", status="applied", created_at=NOW,
                         updated_at=NOW)
        )  # fmt: skip


def test_latest_rows_per_rule_and_profile(engine: Engine) -> None:
    """The newest cycle of each (rule, profile), by rule then profile; or of one profile."""
    _world(engine)
    with Session(engine) as session:
        every = [(r.rule_name, r.profile_id, r.cycle_id) for r in latest_rule_runs(session)]
        one = [(r.rule_name, r.cycle_id) for r in latest_rule_runs(session, profile_id="a")]
        none = latest_rule_runs(session, profile_id="zzz")
    assert every == [("x", "a", 3), ("x", "b", 5), ("y", "a", 1), ("y", "b", 4)]
    assert (one, none) == ([("x", 3), ("y", 1)], [])


def test_history_and_change_statuses(engine: Engine) -> None:
    """A rule's rows newest first with their cycles; the changes of cycles by rule and status
    (a change without a rule is left out); one cycle's rows and its changes by status."""
    _world(engine)
    with Session(engine) as session:
        history = [(r.cycle_id, c.outcome) for r, c in rule_run_history(session, "x", limit=3)]
        of_b = [r.cycle_id for r, _ in rule_run_history(session, "x", profile_id="b")]
        statuses = change_statuses_by_rule(session, [2, 5, 1])
        runs = [r.rule_name for r in cycle_rule_runs(session, 1)]
        counts = cycle_status_counts(session, 2)
    assert history == [(5, "stale"), (4, "succeeded"), (3, "failed")]
    assert of_b == [5, 4]
    assert statuses == {(2, "x"): {"applied": 2, "held": 1}, (5, "x"): {"failed": 1}}
    assert (runs, counts) == (["x", "y"], {"applied": 3, "held": 1})


def test_cycle_pages_filters_and_choices(engine: Engine) -> None:
    """Keyset pages newest first, counts before a page, the filters, and the choices present."""
    _world(engine)
    with Session(engine) as session:
        first = [c.id for c in page_cycles(session, CycleFilter(), before_id=None, limit=2)]
        second = [c.id for c in page_cycles(session, CycleFilter(), before_id=4, limit=2)]
        of_a = CycleFilter(profile_id="a", outcome="succeeded")
        filtered = [c.id for c in page_cycles(session, of_a, before_id=None, limit=10)]
        counts = (
            count_listed_cycles(session, CycleFilter()),
            count_listed_cycles(session, CycleFilter(), from_id=4),
            count_listed_cycles(session, of_a),
        )
        choices = cycle_choices(session)
    assert (first, second, filtered, counts) == ([5, 4], [3, 2], [2, 1], (5, 2, 2))
    assert choices == (["a", "b"], ["failed", "stale", "succeeded"])
