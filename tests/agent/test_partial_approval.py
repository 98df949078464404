"""Deciding changes inside one review item: approve some, reject the rest, change sets whole
(bidagent.agent.review.decisions.decide_changes and bidagent.agent.review.change_choice)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bidagent.agent.review.change_choice import close_over_sets, split_changes
from bidagent.agent.review.decisions import decide_changes
from bidagent.agent.review.items import ChangeOutcome, get_item
from bidagent.errors import ReviewError
from bidagent.store import session_scope
from tests.agent.test_review import NOW, FakeApplier, Outcome, _held, _open_with_changes, _raise


@dataclass(frozen=True)
class Row:
    """A stand-in change row for the pure split: id, status, change set."""

    id: int
    status: str = "held"
    change_set: str | None = None


def _statuses(engine: Engine, item_id: int) -> tuple[str, str | None, str | None, list[tuple]]:
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
    return item.status, item.decided_by, item.note, [(c.status, c.reason) for c in changes]


def test_approving_some_changes_applies_them_and_rejects_the_rest(engine: Engine) -> None:
    """The chosen changes go to the apply path; every other held change is rejected; the item
    ends approved, decided by the person, with their note."""
    item_id = _open_with_changes(engine, "kw1", "kw2", "kw3")
    with Session(engine) as session:
        ids = [c.id or 0 for c in get_item(session, item_id).changes]
    applier = FakeApplier(engine, {})
    made = decide_changes(
        engine, item_id, [ids[0], ids[2]], by="lead", note="keep kw2", now=NOW, applier=applier
    )
    assert applier.calls == [([ids[0], ids[2]], "lead")]
    assert (made.item_id, made.decision, made.status, made.refused, made.outcomes) == (
        item_id,
        "approve",
        "approved",
        False,
        (
            ChangeOutcome(ids[0], "applied", "approved by lead"),
            ChangeOutcome(ids[2], "applied", "approved by lead"),
            ChangeOutcome(ids[1], "rejected", "rejected by lead: keep kw2"),
        ),
    )
    assert _statuses(engine, item_id) == (
        "approved",
        "lead",
        "keep kw2",
        [
            ("applied", "approved by lead"),
            ("rejected", "rejected by lead: keep kw2"),
            ("applied", "approved by lead"),
        ],
    )


def test_approving_none_rejects_the_item_and_calls_no_apply_path(engine: Engine) -> None:
    """With nothing approved every held change is rejected and the item ends rejected."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    applier = FakeApplier(engine, {})
    made = decide_changes(engine, item_id, [], by="lead", note=None, now=NOW, applier=applier)
    assert applier.calls == []
    assert (made.decision, made.status, [o.status for o in made.outcomes]) == (
        "reject",
        "rejected",
        ["rejected", "rejected"],
    )
    assert _statuses(engine, item_id) == (
        "rejected",
        "lead",
        None,
        [("rejected", "rejected by lead"), ("rejected", "rejected by lead")],
    )


def test_a_refused_change_is_named_in_the_note_and_the_rejected_are_not(engine: Engine) -> None:
    """An approved change whose entity moved makes the decision refused and is named in the
    note; the changes rejected by the person are not refusals."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    with Session(engine) as session:
        first, second = (c.id or 0 for c in get_item(session, item_id).changes)
    applier = FakeApplier(engine, {"kw1": "1.30"})
    made = decide_changes(engine, item_id, [first], by="lead", note="try", now=NOW, applier=applier)
    refusal = "not applied: expected '1.00', it is now '1.30'"
    assert (made.refused, made.outcomes) == (
        True,
        (
            ChangeOutcome(first, "refused", refusal),
            ChangeOutcome(second, "rejected", "rejected by lead: try"),
        ),
    )
    assert _statuses(engine, item_id)[2] == f"try\nchange {first} refused: {refusal}"


def test_bad_picks_are_refused_and_nothing_is_decided(engine: Engine) -> None:
    """Unknown ids, superseded ones, both sides at once, and explicit sides leaving a change
    undecided are refused with the reason; the item stays open with its changes held."""
    with session_scope(engine) as session:
        item = _raise(session, "approval:p1:picks")
        old = _held(session, item, "kw1", new="0.50")
        new = _held(session, item, "kw1", new="0.45")
        other = _held(session, item, "kw2")
    item_id, applier = item.id or 0, FakeApplier(engine, {})

    def refused(approve: list[int], reject: list[int] | None, message: str) -> None:
        with pytest.raises(ReviewError, match=message):
            decide_changes(
                engine, item_id, approve, reject, by="lead", note=None, now=NOW, applier=applier
            )

    refused([9999], None, f"change 9999 is not one of review item {item_id}'s; nothing was")
    refused([old.id or 0], None, f"change {old.id} is superseded, no longer held")
    refused([new.id or 0], [new.id or 0], f"changes {new.id} are both approved and rejected")
    refused([new.id or 0], [], f"changes {other.id} of review item {item_id} are neither")
    assert applier.calls == []
    assert _statuses(engine, item_id) == ("open", None, None, [("held", None)] * 3)


def test_explicit_sides_that_cover_the_item_are_honoured(engine: Engine) -> None:
    """Approve and reject lists that together cover every held change decide exactly those."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    with Session(engine) as session:
        first, second = (c.id or 0 for c in get_item(session, item_id).changes)
    applier = FakeApplier(engine, {})
    made = decide_changes(
        engine, item_id, [second], [first], by="lead", note=None, now=NOW, applier=applier
    )
    assert [(o.change_id, o.status) for o in made.outcomes] == [
        (second, "applied"),
        (first, "rejected"),
    ]


def test_an_apply_path_failure_reopens_the_item_with_every_change_held(engine: Engine) -> None:
    """When the apply path raises, the item is open again and the changes the person meant to
    reject are still held too: the whole decision can be made again."""
    item_id = _open_with_changes(engine, "kw1", "kw2")
    with Session(engine) as session:
        first = get_item(session, item_id).changes[0].id or 0

    def broken(change_ids: list[int], *, actor: str) -> list[Outcome]:
        raise ReviewError("kill switch engaged")

    with pytest.raises(ReviewError, match="kill switch engaged"):
        decide_changes(engine, item_id, [first], by="lead", note=None, now=NOW, applier=broken)
    assert _statuses(engine, item_id) == ("open", None, None, [("held", None)] * 2)


def test_a_decided_item_refuses_a_partial_decision(engine: Engine) -> None:
    """A partial decision on an item already decided is refused, naming who decided it."""
    item_id = _open_with_changes(engine, "kw1")
    decide_changes(engine, item_id, [], by="alice", note=None, now=NOW)
    with pytest.raises(ReviewError, match=f"review item {item_id} is already rejected by alice"):
        decide_changes(engine, item_id, [], by="bob", note=None, now=NOW)


def test_a_change_set_lands_whole_on_one_side() -> None:
    """Approving or rejecting one member of a change set takes its held partners along."""
    rows = [Row(1, change_set="s1"), Row(2, change_set="s1"), Row(3), Row(4, change_set="s2"),
            Row(5, change_set="s2"), Row(6, "applied", change_set="s2")]  # fmt: skip
    assert close_over_sets(rows, [1]) == {1, 2}
    assert split_changes(7, rows, [1]) == ([1, 2], [3, 4, 5])
    assert split_changes(7, rows, [3, 5]) == ([3, 4, 5], [1, 2])
    assert split_changes(7, rows, [3], [2, 4]) == ([3], [1, 2, 4, 5])
    with pytest.raises(ReviewError, match="change set s1 would be partly approved and partly"):
        split_changes(7, rows, [1, 3], [2, 4])


def test_a_ledger_change_set_is_approved_whole(engine: Engine) -> None:
    """On the ledger: approving one half of a change set applies both halves."""
    with session_scope(engine) as session:
        item = _raise(session, "approval:p1:set")
        harvest, negative, alone = (_held(session, item, e) for e in ("kw1", "kw2", "kw3"))
        for row in (harvest, negative):
            setattr(row, "change_set", "graduate:kw1")  # noqa: B010 - a column of a parallel branch
            session.add(row)
    applier = FakeApplier(engine, {})
    decide_changes(engine, item.id or 0, [harvest.id or 0], by="lead", note=None, now=NOW,
                   applier=applier)  # fmt: skip
    assert applier.calls == [([harvest.id, negative.id], "lead")]
    assert [s for s, _ in _statuses(engine, item.id or 0)[3]] == ["applied", "applied", "rejected"]
    assert alone.id not in applier.calls[0][0]
