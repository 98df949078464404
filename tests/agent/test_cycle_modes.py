"""Dry runs consume nothing: a dry-run cycle never stands for the day's live one, and `plan`
records no decision."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import plan_profile, run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import RuleSet
from bidagent.store import ChangeRecord, CycleRecord, ReviewItemRecord


def test_dry_run_then_live_on_the_same_day_both_run(agent: AgentContext, rule_set: RuleSet) -> None:
    """A dry run first, then the live cycle of the same day: both run and the live one sends."""
    (profile_id,) = profile_ids(agent)
    dry = run_cycle(agent, profile_id, rule_set, dry_run=True)
    live = run_cycle(agent, profile_id, rule_set)
    again = run_cycle(agent, profile_id, rule_set)
    assert (dry.outcome, live.outcome, again.outcome) == ("succeeded", "succeeded", "skipped")
    with Session(agent.engine) as session:
        records = session.exec(select(CycleRecord).order_by(CycleRecord.id)).all()  # type: ignore[arg-type]
        rows = session.exec(select(ChangeRecord)).all()
    assert [(r.mode, r.schedule, r.outcome) for r in records] == [
        ("dry_run", "daily", "succeeded"),
        ("live", "daily#2", "succeeded"),
    ]
    by_cycle = Counter((r.cycle_id, r.status) for r in rows)
    assert by_cycle[(dry.cycle_id, "dry_run")] > 0
    assert by_cycle[(live.cycle_id, "applied")] > 0
    assert agent.sandbox is not None
    assert len(agent.sandbox.write_log()) >= by_cycle[(live.cycle_id, "applied")]


def test_plan_leaves_no_change_rows_cycle_records_or_review_items(
    agent: AgentContext, rule_set: RuleSet
) -> None:
    """`plan` (with its sync) proposes changes but writes no change row, cycle or review item."""
    (profile_id,) = profile_ids(agent)
    _, plan = plan_profile(agent, profile_id, rule_set)
    assert plan.proposals
    with Session(agent.engine) as session:
        assert session.exec(select(ChangeRecord)).all() == []
        assert session.exec(select(CycleRecord)).all() == []
        assert session.exec(select(ReviewItemRecord)).all() == []
    assert agent.sandbox is not None and agent.sandbox.write_log() == []
