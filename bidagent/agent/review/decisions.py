"""Deciding review items: approve, reject or resolve, all of a batch or none of it; or, inside
one item, approve some held changes and reject the rest (:func:`decide_changes`).

Owns what a decision does: claiming open items under a row lock (so two people cannot both
approve), settling held changes (rejected, superseded by a fresher hold, or handed to the apply
path), and reopening items when the apply path fails before it could vouch for anything.

It must not speak HTTP: approving calls an *applier* (the apply path, which re-reads the live
value and refuses a change whose entity moved) outside any database transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import structlog

from bidagent.agent.review.change_choice import split_changes
from bidagent.agent.review.items import (
    ChangeOutcome,
    ItemWithChanges,
    expire_items,
    settle_changes,
)
from bidagent.errors import ReviewError
from bidagent.store import ChangeRecord, Engine, Session, session_scope
from bidagent.store.change_log import change_by_id
from bidagent.store.changes import load_changes
from bidagent.store.review_items import changes_of, item_by_id, lock_items
from bidagent.store.statuses import CHANGE_TRANSITIONS, ChangeStatus, ReviewStatus
from bidagent.store.transitions import transition

__all__ = ["Applier", "ChangeOutcome", "Decision", "decide", "decide_changes"]

log = structlog.get_logger(__name__)


class Applier(Protocol):
    """Applies approved held changes; ``bidagent.agent.cycle.change_sets.applier_for(ctx)`` returns one."""

    def __call__(self, change_ids: list[int], *, actor: str) -> Sequence[ChangeOutcome]: ...


@dataclass(frozen=True)
class Decision:
    """The result of deciding one item: its new status and what became of its changes."""

    item_id: int
    decision: str
    status: str
    outcomes: tuple[ChangeOutcome, ...]

    @property
    def refused(self) -> bool:
        """True when an approval left at least one approved change unapplied (entity moved,
        paused...); the changes a partial approval rejected do not count."""
        return self.decision == "approve" and any(
            o.status not in ("applied", "rejected") for o in self.outcomes
        )


_DECIDED_STATUS: dict[str, ReviewStatus] = {
    "approve": "approved",
    "reject": "rejected",
    "resolve": "resolved",
}


def _claim(session: Session, item_ids: Sequence[int], decision: str) -> list[ItemWithChanges]:
    """Load and lock the items; refuse the whole batch if any cannot take this decision."""
    found = lock_items(session, item_ids)
    problems = []
    claimed = []
    for item_id in dict.fromkeys(item_ids):
        item = found.get(item_id)
        if item is None:
            problems.append(f"review item {item_id} does not exist")
            continue
        if item.status != "open":
            by = f" by {item.decided_by}" if item.decided_by else ""
            when = f" at {item.decided_at.isoformat()}" if item.decided_at else ""
            problems.append(f"review item {item_id} is already {item.status}{by}{when}")
            continue
        changes = changes_of(session, item_id)
        held = [c for c in changes if c.status == "held"]
        if decision == "approve" and not held:
            problems.append(f"review item {item_id} holds no changes to approve: resolve it")
        elif decision == "resolve" and held:
            problems.append(
                f"review item {item_id} holds {len(held)} change(s): approve or reject it"
            )
        claimed.append(ItemWithChanges(item, changes))
    if problems:
        raise ReviewError("; ".join(problems) + "; nothing was decided")
    return claimed


def _supersede_stale(changes: Sequence[ChangeRecord], now: datetime) -> list[int]:
    """Keep the newest held change per entity field (the item recurred on fresher data); the
    older ones become ``superseded``. Return the ids left to apply."""
    newest: dict[tuple[str, str, str], ChangeRecord] = {}
    for change in changes:
        if change.status == "held":
            newest[(change.entity_kind, change.entity_id, change.field)] = change
    keep = {c.id for c in newest.values()}
    for change in changes:
        if change.status == "held" and change.id not in keep:
            transition(change, "superseded", now=now)
            change.reason = "replaced by a newer proposal in the same review item"
    return sorted(c for c in keep if c is not None)


def decide(
    engine: Engine,
    item_ids: Sequence[int],
    decision: Literal["approve", "reject", "resolve"],
    *,
    by: str,
    note: str | None,
    now: datetime,
    applier: Applier | None = None,
) -> list[Decision]:
    """Approve, reject or resolve open items, all of them or (with :class:`ReviewError`) none.

    Approving records the decision first (so two people cannot both approve), then calls
    ``applier`` with the held changes outside any transaction, then records each outcome; a
    change the applier did not apply (entity moved, kill switch) is named in the item's note.
    Rejecting marks held changes ``rejected``, which keeps the engine from proposing them again
    within the rule's cooldown. Resolving closes an item that holds no changes.
    """
    if decision not in _DECIDED_STATUS:
        raise ValueError(f"unknown decision {decision!r}")
    if decision == "approve" and applier is None:
        raise ValueError(
            "approving needs an applier: bidagent.agent.cycle.change_sets.applier_for(ctx)"
        )
    if not item_ids:
        raise ReviewError("no review items given")
    with session_scope(engine) as session:
        expire_items(session, now)
    status = _DECIDED_STATUS[decision]
    decisions: list[Decision] = []
    to_apply: dict[int, list[int]] = {}
    with session_scope(engine) as session:
        for item, changes in _claim(session, item_ids, decision):
            transition(item, status, now=now)
            item.decided_by = by
            item.decided_at = now
            item.note = note
            session.add(item)
            if decision == "approve":
                to_apply[item.id or 0] = _supersede_stale(changes, now)
                session.add_all(changes)
                continue
            why = f"{status} by {by}" + (f": {note}" if note else "")
            outcomes = settle_changes(changes, "rejected", why, now) if changes else []
            session.add_all(changes)
            decisions.append(Decision(item.id or 0, decision, status, tuple(outcomes)))
    if decision == "approve":
        assert applier is not None
        decisions = _apply_approved(engine, to_apply, applier, by=by, note=note, now=now)
    for made in decisions:
        log.info(
            "review_decided",
            review_id=made.item_id,
            decision=decision,
            by=by,
            changes=len(made.outcomes),
            refused=made.refused,
        )
    return decisions


def _rejected_why(by: str, note: str | None) -> str:
    return f"rejected by {by}" + (f": {note}" if note else "")


def _apply_approved(
    engine: Engine,
    to_apply: dict[int, list[int]],
    applier: Applier,
    *,
    by: str,
    note: str | None,
    now: datetime,
    to_reject: dict[int, list[int]] | None = None,
) -> list[Decision]:
    """Apply the approved changes of each item, then record their outcomes and reject the
    changes of ``to_reject`` (a partial approval's rest) in one transaction."""
    change_ids = [c for ids in to_apply.values() for c in ids]
    try:
        results = {o.change_id: o for o in applier(change_ids, actor=by)}
    except BaseException:
        # Nothing we can vouch for was applied: reopen the items so the decision can be retried;
        # changes the applier did settle keep their own status, the rest stay held.
        with session_scope(engine) as session:
            for item_id in to_apply:
                item = item_by_id(session, item_id)
                if item is not None:
                    transition(item, "open", now=now)
                    item.decided_by, item.decided_at, item.note = None, None, None
                    session.add(item)
        raise
    decisions = []
    with session_scope(engine) as session:
        for item_id, ids in to_apply.items():
            outcomes = []
            for change_id in ids:
                result = results.get(change_id)
                status = result.status if result else "failed"
                reason = result.reason if result else "the apply path reported no outcome"
                change = change_by_id(session, change_id)
                if change is not None and change.status == "held":
                    # The applier normally settles rows itself; never leave one held.
                    # A held row can only move where the table allows; anything else ends failed.
                    settled: ChangeStatus = next(
                        (s for s in CHANGE_TRANSITIONS["held"] if s == status), "failed"
                    )
                    transition(change, settled, now=now)
                    change.reason = reason
                    session.add(change)
                outcomes.append(ChangeOutcome(change_id, status, reason))
            rejected = load_changes(session, (to_reject or {}).get(item_id, []))
            outcomes += settle_changes(rejected, "rejected", _rejected_why(by, note), now)
            session.add_all(rejected)
            unapplied = [
                f"change {o.change_id} {o.status}: {o.reason}"
                for o in outcomes
                if o.status not in ("applied", "rejected")
            ]
            if unapplied:
                item = item_by_id(session, item_id)
                assert item is not None
                item.note = "\n".join([*([note] if note else []), *unapplied])
                session.add(item)
            decisions.append(Decision(item_id, "approve", "approved", tuple(outcomes)))
    return decisions


def decide_changes(
    engine: Engine,
    item_id: int,
    approve_ids: Sequence[int],
    reject_ids: Sequence[int] | None = None,
    *,
    by: str,
    note: str | None,
    now: datetime,
    applier: Applier | None = None,
) -> Decision:
    """Approve some of one open item's held changes and reject the others.

    ``reject_ids`` None rejects every held change not in ``approve_ids``; either way every held
    change of the item is settled, and a change set is approved or rejected whole
    (:func:`~bidagent.agent.review.change_choice.split_changes`, which also says what is
    refused). The item ends ``approved`` when anything was approved, ``rejected`` when nothing
    was. Approved changes go through ``applier`` as :func:`decide` sends them (the entity must
    still hold the old value); the rejected ones are recorded with the outcomes, after the
    apply path returns, so a failure that reopens the item leaves the whole decision to retry.
    """
    with session_scope(engine) as session:
        expire_items(session, now)
    with session_scope(engine) as session:
        ((item, changes),) = _claim(session, [item_id], "approve")
        _supersede_stale(changes, now)  # an older proposal of a recurring item: not decidable
        approve, reject = split_changes(item_id, changes, approve_ids, reject_ids)
        if approve and applier is None:
            raise ValueError(
                "approving needs an applier: bidagent.agent.cycle.change_sets.applier_for(ctx)"
            )
        status: ReviewStatus = "approved" if approve else "rejected"
        transition(item, status, now=now)
        item.decided_by, item.decided_at, item.note = by, now, note
        session.add(item)
        if not approve:
            why = _rejected_why(by, note)
            outcomes = settle_changes(
                [c for c in changes if c.id in set(reject)], "rejected", why, now
            )
        session.add_all(changes)
    if approve:
        assert applier is not None
        (made,) = _apply_approved(
            engine, {item_id: approve}, applier, by=by, note=note, now=now,
            to_reject={item_id: reject},
        )  # fmt: skip
    else:
        made = Decision(item_id, "reject", "rejected", tuple(outcomes))
    log.info(
        "review_decided", review_id=item_id, decision=made.decision, by=by,
        approved=len(approve), rejected=len(reject), refused=made.refused,
    )  # fmt: skip
    return made
