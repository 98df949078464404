"""The sender and the reconciler against the sandbox's fake Ads API, through the real client."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlmodel import Session, select

from bidagent.ads import EntityUpdate, Target
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.apply import apply_approved, apply_planned, reconcile_sending
from bidagent.settings import Settings
from bidagent.store import ChangeRecord, ReviewItemRecord, session_scope
from tests.agent.conftest import stored_change

TIMEOUT_AFTER_APPLY = """
[sandbox.faults]
seed = 3
[sandbox.faults.endpoints."PUT /sp/keywords"]
script = ["timeout_after_apply"]
"""


def _keywords(agent: AgentContext, count: int) -> tuple[str, list[Target]]:
    profile_id = str(agent.client.list_profiles()[0].profile_id)
    found = [k for k in agent.client.list_keywords(profile_id) if k.state == "enabled" and k.bid]
    return profile_id, found[:count]


def _row(
    agent: AgentContext, profile_id: str, target: Target, new: str, *, status: str = "planned",
    old: str | None = None, attempts: int = 0,
) -> int:  # fmt: skip
    now = agent.now()
    with session_scope(agent.engine) as session:
        row = ChangeRecord(
            profile_id=profile_id, entity_kind="keyword", entity_id=target.target_id,
            entity_name=target.keyword_text, field="bid",
            old_value=old if old is not None else format(target.bid, "f"), new_value=new,
            rule_name="test-rule", status=status, attempts=attempts, created_at=now,
            updated_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id or 0


def _bid(agent: AgentContext, profile_id: str, target_id: str) -> Decimal:
    live = agent.client.get_current(profile_id, "keyword", [target_id])[target_id]["bid"]
    return Decimal(str(live))


def test_planned_changes_are_applied_and_logged(agent: AgentContext) -> None:
    """Planned rows are sent once each and end applied with the live value equal to new."""
    profile_id, (first, second) = _keywords(agent, 2)
    ids = [_row(agent, profile_id, first, "0.51"), _row(agent, profile_id, second, "0.52")]
    outcomes = apply_planned(agent, ids)
    assert [(o.change_id, o.status) for o in outcomes] == [(ids[0], "applied"), (ids[1], "applied")]
    assert _bid(agent, profile_id, first.target_id) == Decimal("0.51")
    assert _bid(agent, profile_id, second.target_id) == Decimal("0.52")
    assert agent.sandbox is not None
    assert [(w.entity_id, w.field) for w in agent.sandbox.write_log()] == [
        (first.target_id, "bid"), (second.target_id, "bid"),
    ]  # fmt: skip
    assert all(stored_change(agent, i).attempts == 1 for i in ids)


def test_timeout_after_apply_is_settled_by_read_back_without_resend(
    settings_factory: Callable[..., Settings], agent_factory: Callable[..., AgentContext]
) -> None:
    """The API applied the bid but the client timed out: read-back marks it applied, no resend."""
    agent = agent_factory(settings_factory(TIMEOUT_AFTER_APPLY))
    profile_id, (target,) = _keywords(agent, 1)
    change_id = _row(agent, profile_id, target, "0.77")
    outcomes = apply_planned(agent, [change_id])
    assert [(o.status, o.reason) for o in outcomes] == [("applied", "confirmed by read-back")]
    assert agent.sandbox is not None
    writes = [w for w in agent.sandbox.write_log() if w.entity_id == target.target_id]
    assert len(writes) == 1
    assert stored_change(agent, change_id).attempts == 1


def test_reconcile_settles_rows_left_sending_by_a_crash(agent: AgentContext) -> None:
    """At start, `sending` rows become applied (value is live), resent (old value) or conflicts."""
    profile_id, (done, lost, moved) = _keywords(agent, 3)
    agent.client.update(profile_id, "keyword", [EntityUpdate(done.target_id, bid=Decimal("0.61"))])
    agent.client.update(profile_id, "keyword", [EntityUpdate(moved.target_id, bid=Decimal("2.22"))])
    assert agent.sandbox is not None
    writes_before = len(agent.sandbox.write_log())
    applied_id = _row(
        agent, profile_id, done, "0.61", status="sending", old=format(done.bid, "f"), attempts=1
    )
    resend_id = _row(agent, profile_id, lost, "0.62", status="sending", attempts=1)
    conflict_id = _row(
        agent, profile_id, moved, "0.63", status="sending", old=format(moved.bid, "f"), attempts=1
    )
    outcomes = {o.change_id: o.status for o in reconcile_sending(agent)}
    assert outcomes == {applied_id: "applied", resend_id: "applied", conflict_id: "failed"}
    assert _bid(agent, profile_id, lost.target_id) == Decimal("0.62")
    assert _bid(agent, profile_id, moved.target_id) == Decimal("2.22")
    assert len(agent.sandbox.write_log()) == writes_before + 1  # only the lost one was resent
    assert stored_change(agent, conflict_id).error_code == "conflict"
    with Session(agent.engine) as session:
        items = session.exec(select(ReviewItemRecord)).all()
    assert [(i.kind, i.entity_id) for i in items] == [("conflict", moved.target_id)]


def test_item_error_fails_the_change_with_amazons_reason(agent: AgentContext) -> None:
    """A bid over the marketplace maximum fails with BID_OUT_OF_MARKET_PLACE_RANGE, nothing sent."""
    profile_id, (target,) = _keywords(agent, 1)
    change_id = _row(agent, profile_id, target, "5000.00")
    (outcome,) = apply_planned(agent, [change_id])
    row = stored_change(agent, change_id)
    assert (outcome.status, row.status, row.error_code) == (
        "failed", "failed", "BID_OUT_OF_MARKET_PLACE_RANGE",
    )  # fmt: skip
    assert row.reason
    assert _bid(agent, profile_id, target.target_id) == target.bid


def test_approval_applies_only_if_the_entity_still_has_the_old_value(agent: AgentContext) -> None:
    """An approved held change is applied when unchanged and refused with the reason when moved."""
    profile_id, (same, moved) = _keywords(agent, 2)
    keep_id = _row(agent, profile_id, same, "0.44", status="held")
    moved_id = _row(agent, profile_id, moved, "0.45", status="held")
    agent.client.update(profile_id, "keyword", [EntityUpdate(moved.target_id, bid=Decimal("1.99"))])
    outcomes = {
        o.change_id: (o.status, o.reason)
        for o in apply_approved(agent, [keep_id, moved_id], actor="lead")
    }
    assert outcomes[keep_id] == ("applied", None)
    assert outcomes[moved_id][0] == "refused"
    assert "1.99" in (outcomes[moved_id][1] or "")
    assert _bid(agent, profile_id, same.target_id) == Decimal("0.44")
    assert _bid(agent, profile_id, moved.target_id) == Decimal("1.99")
    assert stored_change(agent, keep_id).actor == "approval"


ERROR_503 = """
[sandbox.faults]
seed = 3
[sandbox.faults.endpoints."PUT /sp/targets"]
script = ["error_503"]
"""


def test_a_503_on_targets_that_inherit_the_default_bid_settles_without_conflict(
    settings_factory: Callable[..., Settings], agent_factory: Callable[..., AgentContext]
) -> None:
    """Targets on their ad group's default bid read back as that default after a 503: the old
    value, so they are sent again and applied; no conflict, no review item."""
    agent = agent_factory(settings_factory(ERROR_503))
    profile_id = str(agent.client.list_profiles()[0].profile_id)
    inheriting = [
        t for t in agent.client.list_targets(profile_id) if t.bid is None and t.state == "enabled"
    ][:2]
    assert len(inheriting) == 2
    groups = {g.ad_group_id: g.default_bid for g in agent.client.list_ad_groups(profile_id)}
    now = agent.now()
    ids: list[int] = []
    with session_scope(agent.engine) as session:
        for target, new in zip(inheriting, ("0.41", "0.42"), strict=True):
            default = groups[target.ad_group_id]
            assert default is not None
            row = ChangeRecord(
                profile_id=profile_id, entity_kind="product_target", entity_id=target.target_id,
                field="bid", old_value=format(default, "f"), new_value=new, rule_name="test-rule",
                status="planned", created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(row)
            session.flush()
            ids.append(row.id or 0)
    outcomes = apply_planned(agent, ids)
    assert sorted((o.change_id, o.status) for o in outcomes) == [(i, "applied") for i in ids]
    live = agent.client.get_current(profile_id, "product_target", [t.target_id for t in inheriting])
    assert [live[t.target_id]["bid"] for t in inheriting] == [Decimal("0.41"), Decimal("0.42")]
    assert agent.sandbox is not None
    assert [(w.entity_id, w.field) for w in agent.sandbox.write_log()] == [
        (t.target_id, "bid") for t in inheriting
    ]
    with Session(agent.engine) as session:
        assert session.exec(select(ReviewItemRecord)).all() == []
    assert [stored_change(agent, i).attempts for i in ids] == [2, 2]
