"""The review queue: raising with deduplication, deciding, expiring (bidagent.agent.review.items)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bidagent.agent.review.decisions import decide
from bidagent.agent.review.items import (
    ITEM_KEYS,
    ChangeOutcome,
    expire_items,
    get_item,
    item_json,
    make_dedupe_key,
    raise_review,
)
from bidagent.errors import ReviewError
from bidagent.store import (
    ChangeRecord,
    NotificationRecord,
    ReviewItemRecord,
    session_scope,
)
from bidagent.store.review_items import list_items, recently_rejected

NOW = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def _raise(
    session: Session, key: str = "approval:p1:kw1:bid", **overrides: object
) -> ReviewItemRecord:
    fields: dict[str, object] = {
        "kind": "approval",
        "severity": "warning",
        "summary": "bid step over 50% held",
        "dedupe_key": key,
        "profile_id": "p1",
        "entity_kind": "keyword",
        "entity_id": "kw1",
        "entity_name": "running shoes",
        "rule_name": "bleeding-keywords",
        "evidence": {"clicks": 20, "orders": 0},
        "now": NOW,
    }
    fields.update(overrides)
    return raise_review(session, **fields)  # type: ignore[arg-type]


def _held(
    session: Session,
    item: ReviewItemRecord,
    entity_id: str = "kw1",
    old: str = "1.00",
    new: str = "0.40",
) -> ChangeRecord:
    change = ChangeRecord(
        profile_id="p1",
        entity_kind="keyword",
        entity_id=entity_id,
        entity_name=f"name of {entity_id}",
        field="bid",
        old_value=old,
        new_value=new,
        rule_name="bleeding-keywords",
        status="held",
        review_item_id=item.id,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(change)
    session.flush()
    return change


def _open_with_changes(engine: Engine, *entity_ids: str, key: str = "approval:p1:batch") -> int:
    with session_scope(engine) as session:
        item = _raise(session, key, hold_expiry=timedelta(days=3))
        for entity_id in entity_ids:
            _held(session, item, entity_id)
        return item.id or 0


@dataclass(frozen=True)
class Outcome:
    change_id: int
    status: str
    reason: str | None = None


class FakeApplier:
    """Applies a change when the live value still equals its old value, like the apply path."""

    def __init__(self, engine: Engine, live: dict[str, str], *, settle_rows: bool = True) -> None:
        self.engine, self.live, self.settle_rows = engine, live, settle_rows
        self.calls: list[tuple[list[int], str]] = []

    def __call__(self, change_ids: list[int], *, actor: str) -> list[Outcome]:
        self.calls.append((list(change_ids), actor))
        outcomes = []
        with session_scope(self.engine) as session:
            for change_id in change_ids:
                row = session.get(ChangeRecord, change_id)
                assert row is not None
                if self.live.get(row.entity_id, row.old_value) == row.old_value:
                    outcome = Outcome(change_id, "applied", f"approved by {actor}")
                    self.live[row.entity_id] = row.new_value or ""
                else:
                    reason = f"not applied: expected {row.old_value!r}, it is now {self.live[row.entity_id]!r}"
                    outcome = Outcome(change_id, "refused", reason)
                if self.settle_rows:
                    row.status = "applied" if outcome.status == "applied" else "failed"
                    row.reason = outcome.reason
                    session.add(row)
                outcomes.append(outcome)
        return outcomes


def _outbox(engine: Engine) -> list[tuple[int | None, str, str, dict[str, object] | None]]:
    with Session(engine) as session:
        rows = session.exec(select(NotificationRecord).order_by(col(NotificationRecord.id)))
        return [(r.review_item_id, r.event, r.webhook, r.payload) for r in rows]


def test_raise_opens_item_and_queues_an_opened_event(engine: Engine) -> None:
    """A new problem opens one item with every field set and queues one 'opened' event."""
    with session_scope(engine) as session:
        item = _raise(session, hold_expiry=timedelta(days=3))
    with Session(engine) as session:
        stored = session.get(ReviewItemRecord, item.id)
        assert stored is not None
        assert item_json(stored) == {
            "id": item.id,
            "kind": "approval",
            "severity": "warning",
            "status": "open",
            "profile_id": "p1",
            "entity_kind": "keyword",
            "entity_id": "kw1",
            "entity_name": "running shoes",
            "rule_name": "bleeding-keywords",
            "summary": "bid step over 50% held",
            "evidence": {"clicks": 20, "orders": 0},
            "occurrences": 1,
            "first_seen_at": "2025-03-10T08:00:00+00:00",
            "last_seen_at": "2025-03-10T08:00:00+00:00",
            "expires_at": "2025-03-13T08:00:00+00:00",
            "decided_by": None,
            "decided_at": None,
            "note": None,
            "change_count": None,
        }
    assert _outbox(engine) == [(item.id, "opened", "*", {"event": "opened", "severity": "warning"})]


def test_recurring_problem_bumps_the_open_item(engine: Engine) -> None:
    """The same dedupe key updates the open item (count, last seen, evidence, expiry), no new event."""
    with session_scope(engine) as session:
        first = _raise(session, hold_expiry=timedelta(days=3))
    later = NOW + timedelta(days=1)
    with session_scope(engine) as session:
        second = _raise(
            session, evidence={"clicks": 31, "orders": 0}, now=later, hold_expiry=timedelta(days=3)
        )
    assert second.id == first.id
    with Session(engine) as session:
        items = list_items(session)
        assert [
            (i.occurrences, i.first_seen_at, i.last_seen_at, i.expires_at, i.evidence)
            for i in items
        ] == [(2, NOW, later, later + timedelta(days=3), {"clicks": 31, "orders": 0})]
    assert [event for _, event, _, _ in _outbox(engine)] == ["opened"]


def test_rising_severity_is_announced_once_and_never_lowered(engine: Engine) -> None:
    """A bump at a higher severity escalates (one event); a later lower one keeps the higher."""
    with session_scope(engine) as session:
        item = _raise(session, severity="info")
        _raise(session, severity="critical")
        _raise(session, severity="warning")
    with Session(engine) as session:
        assert get_item(session, item.id or 0).item.severity == "critical"
    assert [(event, payload) for _, event, _, payload in _outbox(engine)] == [
        ("opened", {"event": "opened", "severity": "info"}),
        ("escalated", {"event": "escalated", "severity": "critical"}),
    ]


def test_closed_item_frees_its_dedupe_key(engine: Engine) -> None:
    """After an item is resolved, the same problem opens a fresh item."""
    with session_scope(engine) as session:
        first = _raise(session, "data:p1:stale", kind="data")
    decide(engine, [first.id or 0], "resolve", by="alice", note=None, now=NOW)
    with session_scope(engine) as session:
        second = _raise(session, "data:p1:stale", kind="data")
    assert second.id != first.id
    with Session(engine) as session:
        assert [(i.id, i.status) for i in list_items(session)] == [
            (first.id, "resolved"),
            (second.id, "open"),
        ]


def test_raise_refuses_unknown_kind_and_severity(engine: Engine) -> None:
    """Kinds and severities come from closed vocabularies."""
    with session_scope(engine) as session:
        with pytest.raises(ValueError, match="unknown review kind 'oops'"):
            _raise(session, kind="oops")
        with pytest.raises(ValueError, match="unknown severity 'fatal'"):
            _raise(session, severity="fatal")


def test_long_dedupe_keys_are_hashed_to_fit() -> None:
    """A key longer than the column keeps a readable prefix and a digest, and stays unique."""
    a = make_dedupe_key("rules", "x" * 600, "a")
    b = make_dedupe_key("rules", "x" * 600, "b")
    assert (len(a), a.startswith("rules:xxx"), a != b) == (512, True, True)
    assert make_dedupe_key("api", None, "auth") == "api::auth"


def test_list_items_filters(engine: Engine) -> None:
    """Each filter narrows the list; without filters every item is listed oldest first."""
    with session_scope(engine) as session:
        a = _raise(session, "k1")
        b = _raise(session, "k2", kind="data", severity="critical", rule_name=None, profile_id="p2")
    with Session(engine) as session:
        assert [i.id for i in list_items(session)] == [a.id, b.id]
        assert [i.id for i in list_items(session, kind="data")] == [b.id]
        assert [i.id for i in list_items(session, severity="warning")] == [a.id]
        assert [i.id for i in list_items(session, rule="bleeding-keywords")] == [a.id]
        assert [i.id for i in list_items(session, profile_id="p2")] == [b.id]
        assert list_items(session, status="approved") == []


def test_get_item_returns_its_changes_and_refuses_unknown_ids(engine: Engine) -> None:
    """get_item gives the item and its changes in order; an unknown id is a ReviewError."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
        assert item.id == item_id
        assert [(c.entity_id, c.status) for c in changes] == [("kw1", "held"), ("kw2", "held")]
        with pytest.raises(ReviewError, match="review item 999 does not exist"):
            get_item(session, 999)


def test_reject_marks_changes_rejected_and_feeds_the_cooldown(engine: Engine) -> None:
    """Rejecting records who and why on the item and marks its held changes rejected."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    later = NOW + timedelta(hours=2)
    made = decide(engine, [item_id], "reject", by="alice", note="too steep", now=later)
    assert [(d.item_id, d.status, d.refused) for d in made] == [(item_id, "rejected", False)]
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
        assert (item.status, item.decided_by, item.decided_at, item.note) == (
            "rejected",
            "alice",
            later,
            "too steep",
        )
        assert {(c.status, c.reason, c.finished_at) for c in changes} == {
            ("rejected", "rejected by alice: too steep", later)
        }
        assert [c.entity_id for c in recently_rejected(session, NOW)] == ["kw1", "kw2"]
        assert recently_rejected(session, later + timedelta(seconds=1)) == []
        assert recently_rejected(session, NOW, profile_id="p2") == []


def test_approve_applies_unmoved_changes_and_says_why_others_were_refused(engine: Engine) -> None:
    """Approval applies a change only if the entity still has the old value; the item says why not."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    applier = FakeApplier(engine, {"kw2": "1.30"})
    made = decide(engine, [item_id], "approve", by="bob", note="ok", now=NOW, applier=applier)
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
    ids = [c.id for c in changes]
    refusal = "not applied: expected '1.00', it is now '1.30'"
    assert applier.calls == [(ids, "bob")]
    assert [(d.status, d.refused, d.outcomes) for d in made] == [
        (
            "approved",
            True,
            (
                ChangeOutcome(ids[0], "applied", "approved by bob"),
                ChangeOutcome(ids[1], "refused", refusal),
            ),
        )
    ]
    assert (item.status, item.decided_by, item.note) == (
        "approved",
        "bob",
        f"ok\nchange {ids[1]} refused: {refusal}",
    )
    assert [c.status for c in changes] == ["applied", "failed"]


def test_approve_never_leaves_a_change_held(engine: Engine) -> None:
    """If the applier does not settle the rows itself, the decision records its outcomes."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    applier = FakeApplier(engine, {"kw2": "0.90"}, settle_rows=False)
    decide(engine, [item_id], "approve", by="bob", note=None, now=NOW, applier=applier)
    with Session(engine) as session:
        _, changes = get_item(session, item_id)
    assert [(c.status, c.reason) for c in changes] == [
        ("applied", "approved by bob"),
        ("failed", "not applied: expected '1.00', it is now '0.90'"),
    ]


def test_approve_applies_only_the_newest_proposal_per_entity_field(engine: Engine) -> None:
    """A recurring approval item holds one change per cycle; only the newest is applied."""
    with session_scope(engine) as session:
        item = _raise(session)
        old = _held(session, item, new="0.50")
        new = _held(session, item, new="0.45")
    applier = FakeApplier(engine, {})
    decide(engine, [item.id or 0], "approve", by="bob", note=None, now=NOW, applier=applier)
    assert applier.calls == [([new.id], "bob")]
    with Session(engine) as session:
        stale = session.get(ChangeRecord, old.id)
        assert stale is not None
        assert (stale.status, stale.reason) == (
            "superseded",
            "replaced by a newer proposal in the same review item",
        )


def test_a_decided_item_cannot_be_decided_again_and_batches_are_all_or_nothing(
    engine: Engine,
) -> None:
    """Deciding a closed item raises ReviewError naming it, and the other ids stay open."""
    first = _open_with_changes(engine, "kw1", key="a")
    second = _open_with_changes(engine, "kw2", key="b")
    decide(engine, [first], "reject", by="alice", note=None, now=NOW)
    with pytest.raises(ReviewError, match=f"review item {first} is already rejected by alice at"):
        decide(engine, [second, first], "reject", by="bob", note=None, now=NOW)
    with pytest.raises(ReviewError, match="review item 404 does not exist"):
        decide(engine, [second, 404], "reject", by="bob", note=None, now=NOW)
    with Session(engine) as session:
        item, changes = get_item(session, second)
        assert (item.status, [c.status for c in changes]) == ("open", ["held"])


def test_resolve_is_for_items_without_held_changes(engine: Engine) -> None:
    """Resolve closes an alert; on an item holding changes it is refused; approve needs changes."""
    held = _open_with_changes(engine, "kw1", key="held")
    with session_scope(engine) as session:
        alert = _raise(session, "alert:p1:spend", kind="alert").id or 0
    with pytest.raises(
        ReviewError, match=f"review item {held} holds 1 change\\(s\\): approve or reject it"
    ):
        decide(engine, [held], "resolve", by="alice", note=None, now=NOW)
    with pytest.raises(ReviewError, match=f"review item {alert} holds no changes to approve"):
        decide(
            engine, [alert], "approve", by="a", note=None, now=NOW, applier=FakeApplier(engine, {})
        )
    made = decide(engine, [alert], "resolve", by="alice", note="budget raised", now=NOW)
    assert [(d.item_id, d.status, d.outcomes) for d in made] == [(alert, "resolved", ())]


def test_applier_failure_reopens_the_items(engine: Engine) -> None:
    """When the apply path raises (e.g. kill switch), the item is open again and changes held."""
    item_id = _open_with_changes(engine, "kw1")

    def broken(change_ids: list[int], *, actor: str) -> list[Outcome]:
        raise ReviewError("kill switch engaged")

    with pytest.raises(ReviewError, match="kill switch engaged"):
        decide(engine, [item_id], "approve", by="bob", note=None, now=NOW, applier=broken)
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
        assert (item.status, item.decided_by, [c.status for c in changes]) == (
            "open",
            None,
            ["held"],
        )


def test_expiry_closes_stale_holds_and_their_changes(engine: Engine) -> None:
    """Open items past expires_at become expired with their held changes; others are untouched."""
    stale = _open_with_changes(engine, "kw1", key="stale")
    with session_scope(engine) as session:
        alert = _raise(session, "alert:p1", kind="alert").id
    with session_scope(engine) as session:
        assert expire_items(session, NOW + timedelta(days=3) - timedelta(seconds=1)) == 0
        assert expire_items(session, NOW + timedelta(days=3)) == 1
    with Session(engine) as session:
        item, changes = get_item(session, stale)
        assert (item.status, item.decided_by, [(c.status, c.reason) for c in changes]) == (
            "expired",
            "bidagent",
            [("expired", f"review item {stale} expired before a decision")],
        )
        assert [i.id for i in list_items(session, status="open")] == [alert]


def test_approving_an_expired_item_is_refused(engine: Engine) -> None:
    """An approval after the hold expired applies nothing: data has moved on."""
    item_id = _open_with_changes(engine, "kw1")
    applier = FakeApplier(engine, {})
    with pytest.raises(ReviewError, match=f"review item {item_id} is already expired"):
        decide(
            engine,
            [item_id],
            "approve",
            by="bob",
            note=None,
            now=NOW + timedelta(days=4),
            applier=applier,
        )
    assert applier.calls == []


def test_item_json_keys_are_stable(engine: Engine) -> None:
    """The JSON shape is pinned: docs/review.md documents exactly these keys."""
    item_id = _open_with_changes(engine, "kw1")
    with Session(engine) as session:
        body = item_json(*get_item(session, item_id))
    assert list(body) == [*ITEM_KEYS, "changes"]
    assert list(body["changes"][0]) == [
        "id",
        "profile_id",
        "entity_kind",
        "entity_id",
        "entity_name",
        "field",
        "old_value",
        "new_value",
        "rule_name",
        "status",
        "reason",
        "when",
        "old",
        "new",
        "rule",
        "actor",
        "cycle_id",
    ]
