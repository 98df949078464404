"""Reading the change ledger as a log: one change by id, the filtered listing behind
``bidagent changes``, and the changes applied within a period (the daily digest).

Owns those read statements over ``changes`` only. It must not write a row or move a status
(:mod:`bidagent.store.transitions` does) and must not shape rows for display: the CLI renders.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bidagent.store.ledger import ChangeRecord

__all__ = ["applied_between", "change_by_id", "list_changes"]


def change_by_id(session: Session, change_id: int) -> ChangeRecord | None:
    """The change with ``change_id``, or None."""
    return session.get(ChangeRecord, change_id)


def list_changes(
    session: Session,
    *,
    updated_since: datetime | None = None,
    rule: str | None = None,
    entity_id: str | None = None,
    cycle_id: int | None = None,
    status: str | None = None,
    limit: int,
) -> list[ChangeRecord]:
    """At most ``limit`` changes matching every given filter, newest (highest id) first."""
    query = select(ChangeRecord)
    if updated_since is not None:
        query = query.where(col(ChangeRecord.updated_at) >= updated_since)
    if rule is not None:
        query = query.where(ChangeRecord.rule_name == rule)
    if entity_id is not None:
        query = query.where(ChangeRecord.entity_id == entity_id)
    if cycle_id is not None:
        query = query.where(ChangeRecord.cycle_id == cycle_id)
    if status is not None:
        query = query.where(ChangeRecord.status == status)
    return list(session.exec(query.order_by(col(ChangeRecord.id).desc()).limit(limit)))


def applied_between(session: Session, since: datetime, until: datetime) -> list[ChangeRecord]:
    """Changes applied (``finished_at``) in ``[since, until)``."""
    query = select(ChangeRecord).where(
        ChangeRecord.status == "applied",
        col(ChangeRecord.finished_at) >= since,
        col(ChangeRecord.finished_at) < until,
    )
    return list(session.exec(query))
