"""The cycle end to end on the sandbox: plan, apply, log, idempotence, kill switch, revert."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_requests import CREATION_FIELDS
from bidagent.agent.cycle.revert import apply_revert, plan_revert
from bidagent.agent.cycle.run import plan_profile, run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.agent.service.kill_switch import pause, resume
from bidagent.engine import RuleSet
from bidagent.store import ChangeRecord, CycleRecord
from bidagent.store.changes import applied_changes


def _changes(agent: AgentContext) -> list[ChangeRecord]:
    with Session(agent.engine) as session:
        return list(session.exec(select(ChangeRecord).order_by(ChangeRecord.id)))  # type: ignore[arg-type]


def _live(agent: AgentContext, row: ChangeRecord) -> object:
    current = agent.client.get_current(row.profile_id, row.entity_kind, [row.entity_id])
    return current[row.entity_id][row.field]


def _same(field: str, live: object, text: str | None) -> bool:
    if field in ("bid", "budget", "default_bid"):
        return text is not None and Decimal(str(live)) == Decimal(text)
    return str(live).lower() == str(text).lower()


def test_cycle_applies_rule_changes_to_the_sandbox(agent: AgentContext, rule_set: RuleSet) -> None:
    """A first cycle applies changes; each applied row's new value is live in the sandbox."""
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    assert result.outcome == "succeeded"
    rows = _changes(agent)
    applied = [r for r in rows if r.status == "applied"]
    assert applied, Counter(r.status for r in rows)
    assert result.counts["applied"] == len(applied)
    for row in applied:
        assert row.rule_name and row.rule_hash and row.evidence
        if row.field in ("bid", "budget", "state", "default_bid"):
            assert _same(row.field, _live(agent, row), row.new_value), row
    writes = agent.sandbox.write_log() if agent.sandbox else []
    applied_updates = [r for r in applied if r.field in ("bid", "budget", "state", "default_bid")]
    assert len(writes) >= len(applied_updates)


def test_second_cycle_on_the_same_day_does_nothing(agent: AgentContext, rule_set: RuleSet) -> None:
    """A double fire finds the finished cycle: no new cycle record, no new change."""
    (profile_id,) = profile_ids(agent)
    first = run_cycle(agent, profile_id, rule_set)
    before = len(_changes(agent))
    second = run_cycle(agent, profile_id, rule_set)
    assert (first.outcome, second.outcome) == ("succeeded", "skipped")
    assert len(_changes(agent)) == before
    with Session(agent.engine) as session:
        assert len(session.exec(select(CycleRecord)).all()) == 1


def test_plan_writes_nothing_and_is_repeatable(agent: AgentContext, rule_set: RuleSet) -> None:
    """`plan` proposes with evidence and records nothing; planning twice gives the same plan."""
    (profile_id,) = profile_ids(agent)
    _, first = plan_profile(agent, profile_id, rule_set)
    _, second = plan_profile(agent, profile_id, rule_set)
    assert first.proposals
    assert all(p.evidence for p in first.proposals)
    key = [(p.entity_id, p.field, p.new_value, p.rule_name) for p in first.proposals]
    assert key == [(p.entity_id, p.field, p.new_value, p.rule_name) for p in second.proposals]
    assert _changes(agent) == []
    assert agent.sandbox is not None and agent.sandbox.write_log() == []


def test_kill_switch_stops_every_send(agent: AgentContext, rule_set: RuleSet) -> None:
    """With the switch engaged the cycle plans but sends nothing; the sandbox sees no write."""
    (profile_id,) = profile_ids(agent)
    pause(agent.engine, reason="test", by="pytest", now=agent.now())
    result = run_cycle(agent, profile_id, rule_set)
    assert result.outcome == "succeeded"
    statuses = Counter(r.status for r in _changes(agent))
    assert statuses["planned"] > 0 and statuses["applied"] == 0
    assert agent.sandbox is not None and agent.sandbox.write_log() == []
    resume(agent.engine, by="pytest", now=agent.now())
    agent.sandbox.advance(days=1)
    run_cycle(agent, profile_id, rule_set)
    leftovers = [r for r in _changes(agent) if r.cycle_id == result.cycle_id]
    assert {r.status for r in leftovers} <= {"superseded", "held", "dry_run"}


def test_dry_run_records_without_sending(agent: AgentContext, rule_set: RuleSet) -> None:
    """A dry-run cycle records every change as dry_run and the sandbox sees no write."""
    (profile_id,) = profile_ids(agent)
    run_cycle(agent, profile_id, rule_set, dry_run=True)
    statuses = {r.status for r in _changes(agent)}
    assert "dry_run" in statuses and "applied" not in statuses and "planned" not in statuses
    assert agent.sandbox is not None and agent.sandbox.write_log() == []


def test_revert_cycle_restores_old_values(agent: AgentContext, rule_set: RuleSet) -> None:
    """Reverting a cycle writes revert changes: the sandbox holds the old values again and the
    entities the cycle created are archived."""
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    with Session(agent.engine) as session:
        originals = applied_changes(session, cycle_id=result.cycle_id)
    items = plan_revert(agent, originals)
    todo = [i for i in items if i.skip_reason is None]
    assert todo
    outcomes = apply_revert(agent, todo, by="pytest")
    assert {o.status for o in outcomes} == {"applied"}
    rows = {r.id: r for r in _changes(agent)}
    for item in todo:
        original = rows[item.original.id]
        assert original.status == "reverted"
        if original.field not in CREATION_FIELDS:
            assert _same(original.field, _live(agent, original), original.old_value)
    reverts = [r for r in rows.values() if r.actor == "revert"]
    for undo in (r for r in reverts if r.new_value == "archived"):
        assert _live(agent, undo) == "archived"
    assert len(reverts) == len(todo)
    assert all(r.reverts_change_id for r in reverts)


def test_external_edit_is_recorded_and_cools_the_field(
    agent: AgentContext, rule_set: RuleSet
) -> None:
    """A bid changed behind our back is logged as an external change at the next sync."""
    from bidagent.ads import EntityUpdate

    (profile_id,) = profile_ids(agent)
    run_cycle(agent, profile_id, rule_set)
    row = next(r for r in _changes(agent) if r.status == "applied" and r.field == "bid")
    agent.client.update(
        profile_id, row.entity_kind, [EntityUpdate(entity_id=row.entity_id, bid=Decimal("3.33"))]
    )  # type: ignore[arg-type]
    assert agent.sandbox is not None
    agent.sandbox.advance(days=1)
    run_cycle(agent, profile_id, rule_set)
    external = [r for r in _changes(agent) if r.actor == "external"]
    assert [(r.entity_id, r.field, r.old_value, Decimal(r.new_value or "0")) for r in external] == [
        (row.entity_id, "bid", row.new_value, Decimal("3.33"))
    ]
    later = [
        r
        for r in _changes(agent)
        if r.entity_id == row.entity_id and r.field == "bid" and (r.id or 0) > (external[0].id or 0)
    ]
    assert later == []


def test_a_recurring_hold_keeps_one_item_with_only_the_fresh_changes(
    agent: AgentContext, rule_set: RuleSet
) -> None:
    """Day two re-holds the same batch: the item is bumped, and day one's holds are superseded."""
    from bidagent.store import ReviewItemRecord

    (profile_id,) = profile_ids(agent)
    first = run_cycle(agent, profile_id, rule_set)
    assert agent.sandbox is not None
    agent.sandbox.advance(days=1)
    second = run_cycle(agent, profile_id, rule_set)
    with Session(agent.engine) as session:
        items = session.exec(select(ReviewItemRecord)).all()
    rows = _changes(agent)
    assert items
    assert len({i.dedupe_key for i in items}) == len(items)
    # A change Amazon refused again (a recurring failure) bumps its item too; its rows are failed,
    # not held, so only the items that hold changes are the subject here.
    holds = [
        i for i in items if i.occurrences == 2 and not i.dedupe_key.startswith("change-failed:")
    ]
    assert holds
    for item in holds:
        mine = [r for r in rows if r.review_item_id == item.id]
        held = [r for r in mine if r.status == "held"]
        assert {r.cycle_id for r in held} <= {second.cycle_id}
        day_one = [r.status for r in mine if r.cycle_id == first.cycle_id]
        assert set(day_one) <= {"superseded"}


def test_a_failed_cycle_runs_again_at_the_next_fire(
    agent: AgentContext, rule_set: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle that failed is recorded as failed and is not mistaken for done the same day."""
    import bidagent.agent.cycle.run as cycle_module

    (profile_id,) = profile_ids(agent)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("engine exploded")

    with monkeypatch.context() as patch:
        patch.setattr(cycle_module, "evaluate", broken)
        failed = run_cycle(agent, profile_id, rule_set)
    retried = run_cycle(agent, profile_id, rule_set)
    assert (failed.outcome, failed.error) == ("failed", "engine exploded")
    assert retried.outcome == "succeeded"
    assert retried.cycle_id != failed.cycle_id
    with Session(agent.engine) as session:
        records = session.exec(select(CycleRecord).order_by(CycleRecord.id)).all()  # type: ignore[arg-type]
    assert [(r.outcome, r.schedule) for r in records] == [
        ("failed", "daily"),
        ("succeeded", "daily#2"),
    ]


def test_a_rejected_proposal_is_not_raised_again_within_the_cooldown(
    agent: AgentContext, rule_set: RuleSet
) -> None:
    """Rejecting held changes keeps their rule off those entity fields for the rule's cooldown."""
    from bidagent.agent.cycle.change_sets import applier_for
    from bidagent.agent.review.decisions import decide
    from bidagent.store import ReviewItemRecord

    (profile_id,) = profile_ids(agent)
    run_cycle(agent, profile_id, rule_set)
    with Session(agent.engine) as session:
        items = session.exec(
            select(ReviewItemRecord).where(ReviewItemRecord.status == "open")
        ).all()
    rows = _changes(agent)
    holding = [
        i.id for i in items if any(r.review_item_id == i.id and r.status == "held" for r in rows)
    ]
    assert holding
    decide(
        agent.engine, holding, "reject", by="pytest", note=None, now=agent.now(),
        applier=applier_for(agent),
    )  # fmt: skip
    rejected = {
        (r.rule_name, r.entity_id, r.field) for r in _changes(agent) if r.status == "rejected"
    }
    assert rejected
    assert agent.sandbox is not None
    agent.sandbox.advance(days=1)
    second = run_cycle(agent, profile_id, rule_set)
    again = {
        (r.rule_name, r.entity_id, r.field)
        for r in _changes(agent)
        if r.cycle_id == second.cycle_id and r.status in ("planned", "held", "applied")
    }
    assert rejected & again == set()
