"""Cycle records: find the latest run of a (profile, business date, schedule), claim a new one,
move its phase, count what it did and record how it ended.

A cycle's key is unique (``CycleRecord``'s constraint), so two processes claiming the same cycle
cannot both insert it: :func:`insert_cycle` reports the loser instead of raising. This module
must not decide whether a cycle runs, resumes or is skipped: ``bidagent.agent.cycle.run`` does.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bidagent.store.db import session_scope
from bidagent.store.ledger import ChangeRecord, CycleRecord, ReviewItemRecord

__all__ = [
    "count_cycles",
    "cycle_by_id",
    "cycle_counts",
    "finish_cycle",
    "insert_cycle",
    "last_cycles",
    "latest_cycle",
    "load_latest_cycle",
    "set_cycle_phase",
]


def latest_cycle(
    session: Session, profile_id: str, business_date: date, schedule: str, mode: str
) -> CycleRecord | None:
    """The newest cycle record of (profile, business date, schedule) in ``mode`` (``live`` or
    ``dry_run``), forced re-runs included: a dry run never stands for the live cycle."""
    return session.exec(
        select(CycleRecord)
        .where(
            CycleRecord.profile_id == profile_id,
            CycleRecord.business_date == business_date,
            col(CycleRecord.schedule).startswith(schedule),
            CycleRecord.mode == mode,
        )
        .order_by(col(CycleRecord.id).desc())
    ).first()


def cycle_by_id(session: Session, cycle_id: int) -> CycleRecord | None:
    """The cycle record with ``cycle_id``, or None."""
    return session.get(CycleRecord, cycle_id)


def load_latest_cycle(
    engine: Engine, profile_id: str, business_date: date, schedule: str, mode: str
) -> CycleRecord | None:
    """:func:`latest_cycle` in a session of its own."""
    with Session(engine) as session:
        return latest_cycle(session, profile_id, business_date, schedule, mode)


def count_cycles(session: Session, profile_id: str, business_date: date, schedule: str) -> int:
    """How many cycle records (profile, business date, schedule) has in any mode, forced re-runs
    included: the next record's key (``schedule#n``) must be free of every one of them."""
    return session.exec(
        select(func.count()).where(
            CycleRecord.profile_id == profile_id,
            CycleRecord.business_date == business_date,
            col(CycleRecord.schedule).startswith(schedule),
        )
    ).one()


def insert_cycle(session: Session, record: CycleRecord) -> CycleRecord | None:
    """Insert ``record`` and give it its id; None when another process inserted the same cycle
    between the caller's read and this write (that process runs it)."""
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        return None
    return record


def set_cycle_phase(session: Session, cycle_id: int, phase: str) -> None:
    """Record how far the cycle got (``started`` -> ``planned`` -> ``applied``)."""
    stored = session.get(CycleRecord, cycle_id)
    assert stored is not None
    stored.phase = phase
    session.add(stored)


def cycle_counts(engine: Engine, cycle_id: int, since: datetime | None = None) -> dict[str, int]:
    """The cycle's changes by status, and the review items of its profile opened or seen again
    since ``since`` (default: the cycle's start) under ``reviews``."""
    with Session(engine) as session:
        statuses = session.exec(
            select(ChangeRecord.status).where(ChangeRecord.cycle_id == cycle_id)
        )
        counts = dict(Counter(statuses))
        record = session.get(CycleRecord, cycle_id)
        moment = since or (record.started_at if record else None)
        counts["reviews"] = (
            session.exec(
                select(func.count()).where(
                    ReviewItemRecord.profile_id == (record.profile_id if record else None),
                    col(ReviewItemRecord.last_seen_at) >= moment,
                )
            ).one()
            if moment is not None
            else 0
        )
    return counts


def finish_cycle(
    engine: Engine,
    cycle_id: int,
    *,
    outcome: str,
    counts: dict[str, int],
    timings: dict[str, float],
    error: str | None,
    finished_at: datetime,
    recorded_at: datetime,
) -> None:
    """Record how the cycle ended, in a transaction of its own; a success ends phase ``applied``."""
    with session_scope(engine) as session:
        record = session.get(CycleRecord, cycle_id)
        assert record is not None
        record.outcome = outcome
        record.phase = "applied" if outcome == "succeeded" else record.phase
        record.counts = counts
        record.timings = timings
        record.error = error
        record.finished_at = finished_at
        record.recorded_at = recorded_at
        session.add(record)


def last_cycles(session: Session, profile_ids: list[str]) -> dict[str, CycleRecord]:
    """The newest cycle record (highest id, any schedule or mode) of each profile that has one."""
    newest: dict[str, CycleRecord] = {}
    for profile_id in profile_ids:
        record = session.exec(
            select(CycleRecord)
            .where(CycleRecord.profile_id == profile_id)
            .order_by(col(CycleRecord.id).desc())
        ).first()
        if record is not None:
            newest[profile_id] = record
    return newest
