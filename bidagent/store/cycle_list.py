"""Reading the cycle records as a list: the filtered, keyset-paged listing behind the console's
Cycles page (:class:`CycleFilter`), one cycle by id, the profiles and outcomes present (the
page's filter choices) and a cycle's changes by their current status.

Owns those read statements over ``cycles`` (and the status count over ``changes``). It must
not write (claiming and finishing cycles is :mod:`bidagent.store.cycles`'s) and must not shape
rows for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from bidagent.store.ledger import ChangeRecord, CycleRecord

__all__ = [
    "CycleFilter",
    "count_listed_cycles",
    "cycle_by_id",
    "cycle_choices",
    "cycle_status_counts",
    "page_cycles",
]


@dataclass(frozen=True)
class CycleFilter:
    """What a cycle listing keeps: every filter given must match (None: any)."""

    profile_id: str | None = None
    outcome: str | None = None


def _conditions(where: CycleFilter) -> list[Any]:
    found: list[Any] = []
    if where.profile_id is not None:
        found.append(CycleRecord.profile_id == where.profile_id)
    if where.outcome is not None:
        found.append(CycleRecord.outcome == where.outcome)
    return found


def page_cycles(
    session: Session, where: CycleFilter, *, before_id: int | None, limit: int
) -> list[CycleRecord]:
    """Up to ``limit`` cycles matching ``where``, newest (highest id) first, below
    ``before_id`` when given (keyset paging)."""
    conditions = _conditions(where)
    if before_id is not None:
        conditions.append(col(CycleRecord.id) < before_id)
    query = select(CycleRecord)
    if conditions:
        query = query.where(*conditions)
    return list(session.exec(query.order_by(col(CycleRecord.id).desc()).limit(limit)))


def count_listed_cycles(session: Session, where: CycleFilter, *, from_id: int | None = None) -> int:
    """How many cycles match ``where`` (with ``from_id``: only those with an id at or above
    it, which is how many come before a page starting there, newest first)."""
    conditions = _conditions(where)
    if from_id is not None:
        conditions.append(col(CycleRecord.id) >= from_id)
    query = select(func.count()).select_from(CycleRecord)
    return session.exec(query.where(*conditions) if conditions else query).one()


def cycle_by_id(session: Session, cycle_id: int) -> CycleRecord | None:
    """The cycle with ``cycle_id``, or None."""
    return session.get(CycleRecord, cycle_id)


def cycle_choices(session: Session) -> tuple[list[str], list[str]]:
    """The profile ids and the outcomes that some cycle has, each sorted."""
    profiles = session.exec(select(CycleRecord.profile_id).distinct())
    outcomes = session.exec(select(CycleRecord.outcome).distinct())
    return sorted(profiles), sorted(outcomes)


def cycle_status_counts(session: Session, cycle_id: int) -> dict[str, int]:
    """The cycle's changes by their current status (absent statuses left out)."""
    query = (
        select(ChangeRecord.status, func.count())
        .where(ChangeRecord.cycle_id == cycle_id)
        .group_by(col(ChangeRecord.status))
    )
    return {row[0]: row[1] for row in session.exec(query)}
