"""The review queue's queries: finding, listing, locking and inserting review items, and reading
the changes attached to them.

Owns every statement over ``review_items`` that the review, service and backtest code needs: the
open item of a dedupe key, the insert that can lose a race on the partial unique index (it runs in
a savepoint, so the caller's transaction survives), filtered listings, the row lock a decision
takes, items past their expiry, and the changes an item holds.

It must not decide anything about review semantics (severity, occurrences, announcements,
expiry's effect on held changes: :mod:`bidagent.agent.review.items` does) and must not move a
status: :mod:`bidagent.store.transitions` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bidagent.store.ledger import ChangeRecord, ReviewItemRecord

__all__ = [
    "change_counts",
    "changes_of",
    "expired_open_items",
    "held_item_ids",
    "insert_open_item",
    "item_by_id",
    "list_items",
    "lock_items",
    "open_item",
    "open_item_kinds",
    "recently_rejected",
]


def open_item(session: Session, dedupe_key: str) -> ReviewItemRecord | None:
    """The open item with ``dedupe_key`` (at most one: a partial unique index sees to it)."""
    query = select(ReviewItemRecord).where(
        ReviewItemRecord.dedupe_key == dedupe_key, ReviewItemRecord.status == "open"
    )
    return session.exec(query).first()


def insert_open_item(session: Session, item: ReviewItemRecord) -> tuple[ReviewItemRecord, bool]:
    """Insert the new open ``item``; ``(item, True)`` when it went in, ``(other, False)`` when
    another writer's open item with the same dedupe key got there first (PostgreSQL).

    A savepoint, so losing the race leaves the caller's transaction usable: the caller then
    bumps the other writer's item instead.
    """
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        other = open_item(session, item.dedupe_key)
        if other is None:
            raise
        return other, False
    return item, True


def item_by_id(session: Session, item_id: int) -> ReviewItemRecord | None:
    """The item with ``item_id``, or None."""
    return session.get(ReviewItemRecord, item_id)


def lock_items(session: Session, item_ids: Sequence[int]) -> dict[int, ReviewItemRecord]:
    """The items among ``item_ids`` that exist, by id, under a row lock (``SELECT ... FOR
    UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the write lock)."""
    query = (
        select(ReviewItemRecord)
        .where(col(ReviewItemRecord.id).in_(list(item_ids)))
        .with_for_update()
    )
    return {item.id: item for item in session.exec(query) if item.id is not None}


def changes_of(session: Session, item_id: int) -> list[ChangeRecord]:
    """Every change attached to the item, oldest first."""
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


def held_item_ids(session: Session, item_ids: Sequence[int]) -> set[int]:
    """Those of ``item_ids`` that hold at least one change still ``held``."""
    query = select(ChangeRecord.review_item_id).where(
        col(ChangeRecord.review_item_id).in_(list(item_ids)), ChangeRecord.status == "held"
    )
    return {item_id for item_id in session.exec(query) if item_id is not None}


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


def expired_open_items(session: Session, now: datetime) -> list[ReviewItemRecord]:
    """Open items whose ``expires_at`` is ``now`` or earlier."""
    query = select(ReviewItemRecord).where(
        ReviewItemRecord.status == "open", col(ReviewItemRecord.expires_at) <= now
    )
    return list(session.exec(query))


def open_item_kinds(session: Session) -> list[str]:
    """The kind of every open item, one entry per item (the digest counts them)."""
    return list(
        session.exec(select(ReviewItemRecord.kind).where(ReviewItemRecord.status == "open"))
    )
