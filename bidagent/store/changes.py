"""Change rows: the reads and writes of the intent log, the sender, the reconciler, reverts and
external edits, and the bulk insert of a plan.

Status moves go through :mod:`bidagent.store.transitions` (and only there); this module loads
the rows to move, inserts new ones and supersedes in bulk through ``transition_where``. It works
inside the caller's session and must not commit, nor decide what a change's outcome is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from sqlmodel import Session, col, select

from bidagent.store.ledger import ChangeRecord
from bidagent.store.transitions import transition_where
from bidagent.store.types import driver_datetime

__all__ = [
    "PLAN_CHANGE_COLUMNS",
    "SQLITE_ROWS_PER_INSERT",
    "applied_changes",
    "applied_since",
    "bound_now",
    "cycle_change_ids",
    "cycle_changes",
    "get_change",
    "insert_plan_changes",
    "load_changes",
    "sending_change_ids",
    "stale_planned_changes",
    "supersede_held_by",
]

# The columns of a plan's change rows, in the order of the tuples :func:`insert_plan_changes` takes.
PLAN_CHANGE_COLUMNS = (
    "cycle_id", "profile_id", "entity_kind", "entity_id", "entity_name", "campaign_id",
    "ad_group_id", "field", "old_value", "new_value", "payload", "rule_name", "rule_file",
    "rule_hash", "evidence", "notes", "status", "superseded_by", "reason", "review_item_id",
    "actor", "attempts", "created_at", "updated_at", "change_set",
)  # fmt: skip

# Rows per INSERT on SQLite: 400 x 25 = 10,000 parameters, under SQLite's smallest default
# limit (32,766); one statement per 400 rows costs about a fifth less than one per row.
SQLITE_ROWS_PER_INSERT = 400


def get_change(session: Session, change_id: int) -> ChangeRecord | None:
    """The change row ``change_id``, or None."""
    return session.get(ChangeRecord, change_id)


def load_changes(session: Session, ids: Iterable[int]) -> list[ChangeRecord]:
    """The change rows among ``ids``, in the order the database returns them."""
    wanted = list(ids)
    if not wanted:
        return []
    return list(session.exec(select(ChangeRecord).where(col(ChangeRecord.id).in_(wanted))))


def sending_change_ids(session: Session, profile_id: str | None = None) -> list[int]:
    """Ids of the rows left ``sending`` (of one profile, or of all)."""
    query = select(ChangeRecord.id).where(ChangeRecord.status == "sending")
    if profile_id is not None:
        query = query.where(ChangeRecord.profile_id == profile_id)
    return [i for i in session.exec(query) if i is not None]


def cycle_change_ids(session: Session, cycle_id: int, status: str = "planned") -> list[int]:
    """Ids of the changes of one cycle with ``status``, in plan order."""
    query = (
        select(ChangeRecord.id)
        .where(ChangeRecord.cycle_id == cycle_id, ChangeRecord.status == status)
        .order_by(ChangeRecord.id)  # type: ignore[arg-type]
    )
    return [i for i in session.exec(query) if i is not None]


def cycle_changes(session: Session, cycle_id: int) -> list[ChangeRecord]:
    """Every change row of one cycle, whatever its status, in plan order."""
    query = select(ChangeRecord).where(ChangeRecord.cycle_id == cycle_id)
    return list(session.exec(query.order_by(col(ChangeRecord.id))))


def stale_planned_changes(session: Session, profile_id: str, cycle_id: int) -> list[ChangeRecord]:
    """Rows of ``profile_id`` still ``planned`` from a cycle other than ``cycle_id``."""
    return list(
        session.exec(
            select(ChangeRecord).where(
                ChangeRecord.profile_id == profile_id,
                ChangeRecord.status == "planned",
                col(ChangeRecord.cycle_id) != cycle_id,
                col(ChangeRecord.cycle_id).is_not(None),
            )
        ).all()
    )


def applied_changes(
    session: Session,
    *,
    change_ids: Sequence[int] = (),
    cycle_id: int | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    include_reverted: bool = False,
) -> list[ChangeRecord]:
    """The applied changes matching every filter given, oldest first (with
    ``include_reverted``, those applied and reverted since as well)."""
    statuses = ("applied", "reverted") if include_reverted else ("applied",)
    query = select(ChangeRecord).where(col(ChangeRecord.status).in_(statuses))
    if change_ids:
        query = query.where(col(ChangeRecord.id).in_(list(change_ids)))
    if cycle_id is not None:
        query = query.where(ChangeRecord.cycle_id == cycle_id)
    if rule is not None:
        query = query.where(ChangeRecord.rule_name == rule)
    if since is not None:
        query = query.where(col(ChangeRecord.finished_at) >= since)
    return list(session.exec(query.order_by(col(ChangeRecord.id))))


def applied_since(
    session: Session, profile_id: str, fields: Sequence[str], since: datetime
) -> list[ChangeRecord]:
    """Our changes to ``fields`` of ``profile_id`` applied at or after ``since`` (including
    those reverted since, and excluding recorded external edits), oldest first."""
    query = select(ChangeRecord).where(
        ChangeRecord.profile_id == profile_id,
        col(ChangeRecord.status).in_(("applied", "reverted")),
        ChangeRecord.actor != "external",
        col(ChangeRecord.field).in_(tuple(fields)),
        col(ChangeRecord.finished_at) >= since,
    )
    return list(session.exec(query.order_by(col(ChangeRecord.id))))


def supersede_held_by(session: Session, item_ids: list[int], *, now: datetime, reason: str) -> None:
    """Every ``held`` row that one of the review items ``item_ids`` holds becomes ``superseded``."""
    transition_where(
        session,
        "superseded",
        current="held",
        where=(col(ChangeRecord.review_item_id).in_(item_ids),),
        now=now,
        reason=reason,
    )


def bound_now(session: Session, now: datetime) -> Any:
    """``now`` as the driver stores it on the session's database, for driver-level inserts."""
    return driver_datetime(session.connection().dialect.name, now)


def insert_plan_changes(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert change rows (tuples in :data:`PLAN_CHANGE_COLUMNS` order, values already as the
    driver binds them) with driver-level multi-row inserts: no ORM object, no per-value typing.

    On SQLite each statement carries many rows (``VALUES (...), (...), ...``), in plan order, so
    ids still follow the plan; PostgreSQL gets one row per parameter set (psycopg batches them).
    """
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    marker = "?" if sqlite else "%s"
    head = f"INSERT INTO changes ({', '.join(PLAN_CHANGE_COLUMNS)}) VALUES "
    one = f"({', '.join(marker for _ in PLAN_CHANGE_COLUMNS)})"
    size = SQLITE_ROWS_PER_INSERT if sqlite else 1
    whole = len(rows) - len(rows) % size
    if size > 1 and whole:
        batches = [tuple(chain.from_iterable(rows[i : i + size])) for i in range(0, whole, size)]
        connection.exec_driver_sql(head + ", ".join([one] * size), batches)
        rows = rows[whole:]
    if rows:
        connection.exec_driver_sql(head + one, rows)
