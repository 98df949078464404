"""The review queue: raising, listing, deciding and expiring review items.

Owns the life of a review item (``open`` → ``approved | rejected | resolved | expired``), the
deduplication of recurring problems onto one open item, the held changes' fate when an item is
decided or expires, and the announcement of new and escalated items to the notification outbox
(one fan-out row per event; :mod:`bidagent.agent.notify` turns it into one row per webhook).

It must not speak HTTP: approving calls an *applier* (the apply path, which re-reads the live
value and refuses a change whose entity moved) outside any database transaction, and it must not
decide what deserves review: callers (cycle, guardrails, sync, apply) do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol

import structlog
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bidagent.errors import ReviewError
from bidagent.store import (
    CHANGE_STATUSES,
    REVIEW_KINDS,
    ChangeRecord,
    NotificationRecord,
    ReviewItemRecord,
    session_scope,
)

__all__ = [
    "ALL_WEBHOOKS",
    "CHANGE_KEYS",
    "ITEM_KEYS",
    "SEVERITIES",
    "Applier",
    "ApplyOutcome",
    "ChangeOutcome",
    "Decision",
    "ItemWithChanges",
    "change_counts",
    "change_json",
    "decide",
    "expire_items",
    "get_item",
    "item_json",
    "list_items",
    "make_dedupe_key",
    "raise_review",
    "recently_rejected",
]

log = structlog.get_logger(__name__)

SEVERITIES = ("info", "warning", "critical")  # in rising order
ALL_WEBHOOKS = "*"  # an outbox row not yet fanned out to the configured webhooks
SYSTEM_ACTOR = "bidagent"
_MAX_KEY = 512  # ReviewItemRecord.dedupe_key's column width

# The stable JSON shape of an item and of a change (docs/review.md; a test pins the keys).
# fmt: off
ITEM_KEYS = (
    "id", "kind", "severity", "status", "profile_id", "entity_kind", "entity_id", "entity_name",
    "rule_name", "summary", "evidence", "occurrences", "first_seen_at", "last_seen_at",
    "expires_at", "decided_by", "decided_at", "note", "change_count",
)
CHANGE_KEYS = (
    "id", "profile_id", "entity_kind", "entity_id", "entity_name", "field", "old_value",
    "new_value", "rule_name", "status", "reason",
)
# fmt: on


class ApplyOutcome(Protocol):
    """What the apply path reports for one change (``bidagent.agent.apply.ApplyOutcome`` fits)."""

    @property
    def change_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


class Applier(Protocol):
    """Applies approved held changes; ``bidagent.agent.apply.applier_for(ctx)`` returns one."""

    def __call__(self, change_ids: list[int], *, actor: str) -> Sequence[ApplyOutcome]: ...


@dataclass(frozen=True)
class ChangeOutcome:
    """What a decision did to one held change."""

    change_id: int
    status: str
    reason: str | None


@dataclass(frozen=True)
class Decision:
    """The result of deciding one item: its new status and what became of its changes."""

    item_id: int
    decision: str
    status: str
    outcomes: tuple[ChangeOutcome, ...]

    @property
    def refused(self) -> bool:
        """True when an approval left at least one change unapplied (entity moved, paused...)."""
        return self.decision == "approve" and any(o.status != "applied" for o in self.outcomes)


class ItemWithChanges(NamedTuple):
    """A review item and every change attached to it, oldest first."""

    item: ReviewItemRecord
    changes: list[ChangeRecord]


def make_dedupe_key(kind: str, *parts: object) -> str:
    """``kind:part:part...`` with ``None`` parts left empty; hashed when too long for the column."""
    key = ":".join([kind, *("" if p is None else str(p) for p in parts)])
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: _MAX_KEY - 65]}#{digest}"


def change_json(change: ChangeRecord) -> dict[str, Any]:
    """A change in the stable JSON shape (``CHANGE_KEYS``)."""
    return {key: getattr(change, key) for key in CHANGE_KEYS}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_json(
    item: ReviewItemRecord, changes: Sequence[ChangeRecord] | None = None
) -> dict[str, Any]:
    """An item in the stable, JSON-native shape (``ITEM_KEYS``), plus ``changes`` when given."""
    body: dict[str, Any] = {key: getattr(item, key, None) for key in ITEM_KEYS[:-1]}
    for key in ("first_seen_at", "last_seen_at", "expires_at", "decided_at"):
        body[key] = _iso(body[key])
    body["change_count"] = len(changes) if changes is not None else None
    if changes is not None:
        body["changes"] = [change_json(c) for c in changes]
    return body


def _announce(session: Session, item: ReviewItemRecord, event: str, now: datetime) -> None:
    """Queue ``event`` for every webhook. The message itself is built when it is fanned out,
    so it shows the held changes the caller attaches after this returns."""
    session.add(
        NotificationRecord(
            review_item_id=item.id,
            event=event,
            webhook=ALL_WEBHOOKS,
            payload={"event": event, "severity": item.severity},
            next_attempt_at=now,
            created_at=now,
        )
    )


def raise_review(
    session: Session,
    *,
    kind: str,
    severity: str,
    summary: str,
    dedupe_key: str,
    profile_id: str | None = None,
    entity_kind: str | None = None,
    entity_id: str | None = None,
    entity_name: str | None = None,
    rule_name: str | None = None,
    evidence: dict[str, Any] | None = None,
    now: datetime,
    hold_expiry: timedelta | None = None,
) -> ReviewItemRecord:
    """Open a review item, or bump the open one with the same ``dedupe_key``.

    A bump counts the occurrence, refreshes summary, evidence and (with ``hold_expiry``) the
    expiry, since the problem was seen again on fresh data; severity only ever rises, and a rise
    is announced as ``escalated``. Runs in the caller's transaction; attach held changes by
    setting ``ChangeRecord.review_item_id`` to the returned item's id.
    """
    if kind not in REVIEW_KINDS:
        raise ValueError(f"unknown review kind {kind!r}; expected one of {', '.join(REVIEW_KINDS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")
    if len(dedupe_key) > _MAX_KEY:
        dedupe_key = make_dedupe_key(dedupe_key)
    expires_at = now + hold_expiry if hold_expiry is not None else None
    item = _open_item(session, dedupe_key)
    if item is None:
        item = ReviewItemRecord(
            kind=kind,
            severity=severity,
            profile_id=profile_id,
            entity_kind=entity_kind,
            entity_id=entity_id,
            entity_name=entity_name,
            rule_name=rule_name,
            summary=summary,
            evidence=evidence,
            dedupe_key=dedupe_key,
            first_seen_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        try:
            # A savepoint, so losing a race to another writer (PostgreSQL) leaves the caller's
            # transaction usable: the other writer's item is then bumped instead.
            with session.begin_nested():
                session.add(item)
        except IntegrityError:
            item = _open_item(session, dedupe_key)
            if item is None:
                raise
        else:
            _announce(session, item, "opened", now)
            log.info("review_opened", review_id=item.id, kind=kind, severity=severity)
            return item
    escalated = SEVERITIES.index(severity) > SEVERITIES.index(item.severity)
    item.occurrences += 1
    item.last_seen_at = now
    item.summary = summary
    item.evidence = evidence if evidence is not None else item.evidence
    item.entity_name = entity_name or item.entity_name
    if escalated:
        item.severity = severity
    if expires_at is not None:
        item.expires_at = expires_at
    session.add(item)
    session.flush()
    if escalated:
        _announce(session, item, "escalated", now)
    log.info(
        "review_recurred", review_id=item.id, occurrences=item.occurrences, escalated=escalated
    )
    return item


def _open_item(session: Session, dedupe_key: str) -> ReviewItemRecord | None:
    query = select(ReviewItemRecord).where(
        ReviewItemRecord.dedupe_key == dedupe_key, ReviewItemRecord.status == "open"
    )
    return session.exec(query).first()


def _changes_of(session: Session, item_id: int) -> list[ChangeRecord]:
    query = (
        select(ChangeRecord)
        .where(ChangeRecord.review_item_id == item_id)
        .order_by(col(ChangeRecord.id))
    )
    return list(session.exec(query))


def list_items(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    profile_id: str | None = None,
) -> list[ReviewItemRecord]:
    """Items matching every given filter, oldest first."""
    query = select(ReviewItemRecord).order_by(col(ReviewItemRecord.id))
    for column, value in (
        (ReviewItemRecord.status, status),
        (ReviewItemRecord.kind, kind),
        (ReviewItemRecord.severity, severity),
        (ReviewItemRecord.rule_name, rule),
        (ReviewItemRecord.profile_id, profile_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.exec(query))


def change_counts(session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    """How many changes are attached to each of ``item_ids`` (absent ids have none)."""
    if not item_ids:
        return {}
    query = (
        select(ChangeRecord.review_item_id, func.count())
        .where(col(ChangeRecord.review_item_id).in_(list(item_ids)))
        .group_by(col(ChangeRecord.review_item_id))
    )
    return {item_id: count for item_id, count in session.exec(query) if item_id is not None}


def get_item(session: Session, item_id: int) -> ItemWithChanges:
    """One item with its changes; :class:`ReviewError` if there is no such item."""
    item = session.get(ReviewItemRecord, item_id)
    if item is None:
        raise ReviewError(f"review item {item_id} does not exist")
    return ItemWithChanges(item, _changes_of(session, item_id))


def recently_rejected(
    session: Session, since: datetime, *, profile_id: str | None = None
) -> list[ChangeRecord]:
    """Changes a person rejected since ``since``: the engine keeps them out for the cooldown."""
    query = select(ChangeRecord).where(
        ChangeRecord.status == "rejected", col(ChangeRecord.updated_at) >= since
    )
    if profile_id is not None:
        query = query.where(ChangeRecord.profile_id == profile_id)
    return list(session.exec(query.order_by(col(ChangeRecord.id))))


def _settle_changes(
    changes: Sequence[ChangeRecord], status: str, reason: str, now: datetime
) -> list[ChangeOutcome]:
    """Move the still-held ``changes`` to ``status``; changes no longer held keep theirs."""
    outcomes = []
    for change in changes:
        if change.status == "held":
            change.status = status
            change.reason = reason
            change.updated_at = now
            change.finished_at = now
        outcomes.append(ChangeOutcome(change.id or 0, change.status, change.reason))
    return outcomes


def expire_items(session: Session, now: datetime) -> int:
    """Expire open items past ``expires_at`` and their held changes; return how many items."""
    query = select(ReviewItemRecord).where(
        ReviewItemRecord.status == "open", col(ReviewItemRecord.expires_at) <= now
    )
    items = list(session.exec(query))
    for item in items:
        item.status = "expired"
        item.decided_by = SYSTEM_ACTOR
        item.decided_at = now
        session.add(item)
        changes = _changes_of(session, item.id or 0)
        _settle_changes(changes, "expired", f"review item {item.id} expired before a decision", now)
        session.add_all(changes)
        log.info("review_expired", review_id=item.id, changes=len(changes))
    return len(items)


_DECIDED_STATUS = {"approve": "approved", "reject": "rejected", "resolve": "resolved"}


def _claim(session: Session, item_ids: Sequence[int], decision: str) -> list[ItemWithChanges]:
    """Load and lock the items; refuse the whole batch if any cannot take this decision."""
    query = (
        select(ReviewItemRecord)
        .where(col(ReviewItemRecord.id).in_(list(item_ids)))
        .with_for_update()
    )
    found = {item.id: item for item in session.exec(query)}
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
        changes = _changes_of(session, item_id)
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
            change.status = "superseded"
            change.reason = "replaced by a newer proposal in the same review item"
            change.updated_at = now
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
        raise ValueError("approving needs an applier: bidagent.agent.apply.applier_for(ctx)")
    if not item_ids:
        raise ReviewError("no review items given")
    with session_scope(engine) as session:
        expire_items(session, now)
    status = _DECIDED_STATUS[decision]
    decisions: list[Decision] = []
    to_apply: dict[int, list[int]] = {}
    with session_scope(engine) as session:
        for item, changes in _claim(session, item_ids, decision):
            item.status = status
            item.decided_by = by
            item.decided_at = now
            item.note = note
            session.add(item)
            if decision == "approve":
                to_apply[item.id or 0] = _supersede_stale(changes, now)
                session.add_all(changes)
                continue
            why = f"{status} by {by}" + (f": {note}" if note else "")
            outcomes = _settle_changes(changes, "rejected", why, now) if changes else []
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


def _apply_approved(
    engine: Engine,
    to_apply: dict[int, list[int]],
    applier: Applier,
    *,
    by: str,
    note: str | None,
    now: datetime,
) -> list[Decision]:
    change_ids = [c for ids in to_apply.values() for c in ids]
    try:
        results = {o.change_id: o for o in applier(change_ids, actor=by)}
    except BaseException:
        # Nothing we can vouch for was applied: reopen the items so the decision can be retried;
        # changes the applier did settle keep their own status, the rest stay held.
        with session_scope(engine) as session:
            for item_id in to_apply:
                item = session.get(ReviewItemRecord, item_id)
                if item is not None:
                    item.status, item.decided_by, item.decided_at, item.note = (
                        "open",
                        None,
                        None,
                        None,
                    )
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
                change = session.get(ChangeRecord, change_id)
                if change is not None and change.status == "held":
                    # The applier normally settles rows itself; never leave one held.
                    change.status = status if status in CHANGE_STATUSES else "failed"
                    change.reason = reason
                    change.updated_at = now
                    session.add(change)
                outcomes.append(ChangeOutcome(change_id, status, reason))
            unapplied = [
                f"change {o.change_id} {o.status}: {o.reason}"
                for o in outcomes
                if o.status != "applied"
            ]
            if unapplied:
                item = session.get(ReviewItemRecord, item_id)
                assert item is not None
                item.note = "\n".join([*([note] if note else []), *unapplied])
                session.add(item)
            decisions.append(Decision(item_id, "approve", "approved", tuple(outcomes)))
    return decisions
