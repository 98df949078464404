"""The review queue: raising and expiring review items (deciding: :mod:`.decisions`; the queries,
listings included: :mod:`bidagent.store.review_items`).

Owns the life of a review item (``open`` → ``approved | rejected | resolved | expired``), the
deduplication of recurring problems onto one open item, the held changes' fate when an item is
decided or expires, and the announcement of new and escalated items to the notification outbox
(one fan-out row per event; :mod:`bidagent.agent.review.notify` turns it into one row per webhook).

It must not speak HTTP: approving calls an *applier* (the apply path, which re-reads the live
value and refuses a change whose entity moved) outside any database transaction, and it must not
decide what deserves review: callers (cycle, guardrails, sync, apply) do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog

from bidagent.agent.change_json import CHANGE_KEYS, change_json
from bidagent.errors import ReviewError
from bidagent.store import (
    REVIEW_KINDS,
    ChangeRecord,
    NotificationRecord,
    ReviewItemRecord,
    Session,
)
from bidagent.store.outbox import ALL_WEBHOOKS
from bidagent.store.review_items import (
    changes_of,
    expired_open_items,
    insert_open_item,
    item_by_id,
    open_item,
)
from bidagent.store.statuses import ChangeStatus
from bidagent.store.transitions import ChangeOutcome, status_of, transition
from bidagent.vocabulary import MAX_DEDUPE_KEY, make_dedupe_key

__all__ = [
    "CHANGE_KEYS",
    "ITEM_KEYS",
    "SEVERITIES",
    "ChangeOutcome",
    "ItemWithChanges",
    "change_json",
    "expire_items",
    "get_item",
    "item_json",
    "make_dedupe_key",
    "raise_review",
    "settle_changes",
]

log = structlog.get_logger(__name__)

SEVERITIES = ("info", "warning", "critical")  # in rising order
SYSTEM_ACTOR = "bidagent"

# The stable JSON shape of an item (docs/review.md; a test pins the keys); its changes take the
# one change shape, bidagent.agent.change_json.
# fmt: off
ITEM_KEYS = (
    "id", "kind", "severity", "status", "profile_id", "entity_kind", "entity_id", "entity_name",
    "rule_name", "summary", "evidence", "occurrences", "first_seen_at", "last_seen_at",
    "expires_at", "decided_by", "decided_at", "note", "change_count",
)
# fmt: on


class ItemWithChanges(NamedTuple):
    """A review item and every change attached to it, oldest first."""

    item: ReviewItemRecord
    changes: list[ChangeRecord]


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
    if len(dedupe_key) > MAX_DEDUPE_KEY:
        dedupe_key = make_dedupe_key(dedupe_key)
    expires_at = now + hold_expiry if hold_expiry is not None else None
    item = open_item(session, dedupe_key)
    if item is None:
        item, inserted = insert_open_item(
            session,
            ReviewItemRecord(
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
            ),
        )
        if inserted:
            _announce(session, item, "opened", now)
            log.info("review_opened", review_id=item.id, kind=kind, severity=severity)
            return item
        # Another writer opened it first (PostgreSQL): bump theirs.
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
    # Escalations are announced; a plain recurrence is routine, seen again every cycle.
    (log.info if escalated else log.debug)(
        "review_recurred", review_id=item.id, occurrences=item.occurrences, escalated=escalated
    )
    return item


def get_item(session: Session, item_id: int) -> ItemWithChanges:
    """One item with its changes; :class:`ReviewError` if there is no such item."""
    item = item_by_id(session, item_id)
    if item is None:
        raise ReviewError(f"review item {item_id} does not exist")
    return ItemWithChanges(item, changes_of(session, item_id))


def settle_changes(
    changes: Sequence[ChangeRecord], status: ChangeStatus, reason: str, now: datetime
) -> list[ChangeOutcome]:
    """Move the still-held ``changes`` to ``status``; changes no longer held keep theirs."""
    outcomes = []
    for change in changes:
        if change.status == "held":
            transition(change, status, now=now)
            change.reason = reason
            change.finished_at = now
        outcomes.append(ChangeOutcome(change.id or 0, status_of(change), change.reason))
    return outcomes


def expire_items(session: Session, now: datetime) -> int:
    """Expire open items past ``expires_at`` and their held changes; return how many items."""
    items = expired_open_items(session, now)
    for item in items:
        transition(item, "expired", now=now)
        item.decided_by = SYSTEM_ACTOR
        item.decided_at = now
        session.add(item)
        changes = changes_of(session, item.id or 0)
        settle_changes(changes, "expired", f"review item {item.id} expired before a decision", now)
        session.add_all(changes)
        log.info("review_expired", review_id=item.id, changes=len(changes))
    return len(items)
