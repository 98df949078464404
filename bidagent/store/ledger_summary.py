"""The ledger at a glance: the newest recorded cycle (health), changes by status and open review
items (metrics), and the per-rule, per-item and per-cycle tallies a backtest arm reports.

Owns those read-only statements over ``cycles``, ``changes`` and ``review_items``. It must not
write, and must not format anything: health, metrics and backtest render what it returns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from bidagent.errors import StoreError
from bidagent.store.ledger import ChangeRecord, CycleRecord, ReviewItemRecord

__all__ = [
    "change_status_counts",
    "cycle_outcomes",
    "item_kinds_and_statuses",
    "newest_recorded_cycle",
    "open_item_count",
    "open_items_by_kind",
    "rule_status_pairs",
    "rule_targets",
]


def newest_recorded_cycle(engine: Engine) -> CycleRecord | None:
    """The cycle record written last by the wall clock (``recorded_at``), or None.

    A database that does not answer is a :class:`StoreError` naming the driver's error class.
    """
    try:
        with Session(engine) as session:
            return session.exec(
                select(CycleRecord)
                .where(col(CycleRecord.recorded_at).is_not(None))
                .order_by(col(CycleRecord.recorded_at).desc())
            ).first()
    except SQLAlchemyError as exc:
        raise StoreError(f"database does not answer: {type(exc).__name__}") from exc


def change_status_counts(
    session: Session, *, since: datetime | None = None, profile_id: str | None = None
) -> list[tuple[str, int]]:
    """``(status, count)`` for every status present in the ledger (or among the changes
    created at or after ``since``, of ``profile_id``), by status."""
    query = select(ChangeRecord.status, func.count())
    if since is not None:
        query = query.where(col(ChangeRecord.created_at) >= since)
    if profile_id is not None:
        query = query.where(ChangeRecord.profile_id == profile_id)
    rows = session.exec(query.group_by(ChangeRecord.status).order_by(ChangeRecord.status))
    return [(status, count) for status, count in rows]


def open_item_count(session: Session) -> int:
    """How many review items are open."""
    return session.exec(select(func.count()).where(ReviewItemRecord.status == "open")).one()


def open_items_by_kind(session: Session, *, profile_id: str | None = None) -> dict[str, int]:
    """How many review items are open, by kind (of ``profile_id``, when given)."""
    query = select(ReviewItemRecord.kind, func.count()).where(ReviewItemRecord.status == "open")
    if profile_id is not None:
        query = query.where(ReviewItemRecord.profile_id == profile_id)
    return {row[0]: row[1] for row in session.exec(query.group_by(ReviewItemRecord.kind))}


def rule_status_pairs(session: Session) -> list[tuple[str | None, str]]:
    """``(rule name, status)`` of every change, one entry per change."""
    rows = session.exec(select(ChangeRecord.rule_name, ChangeRecord.status))
    return [(rule, status) for rule, status in rows]


def item_kinds_and_statuses(session: Session) -> list[tuple[str, str]]:
    """``(kind, status)`` of every review item, one entry per item."""
    return [(item.kind, item.status) for item in session.exec(select(ReviewItemRecord))]


def cycle_outcomes(session: Session) -> list[str]:
    """The outcome of every cycle, one entry per cycle, in the order the database returns them."""
    return list(session.exec(select(CycleRecord.outcome)))


def rule_targets(session: Session) -> list[tuple[str, str, str, str, str | None]]:
    """``(rule, entity kind, entity id, field, remote id)`` of every applied (or since reverted)
    change a rule made, one per change: what a backtest attributes each rule's impact to."""
    rows = session.exec(
        select(ChangeRecord).where(
            col(ChangeRecord.status).in_(("applied", "reverted")),
            col(ChangeRecord.rule_name).is_not(None),
        )
    )
    return [(str(r.rule_name), r.entity_kind, r.entity_id, r.field, r.remote_id) for r in rows]
