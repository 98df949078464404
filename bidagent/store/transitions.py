"""The one way a ledger row's status moves: :func:`transition` for a row, :func:`transition_where`
for many rows in one statement, :func:`new_change` (or :func:`initial_status` for bulk inserts) for a
new row. The allowed moves are the table in :mod:`bidagent.store.statuses`.

Every status change of a change row or review item in the package goes through here; a test walks
the package and fails on any other assignment to ``.status`` or any other construction of a
:class:`ChangeRecord`. This module must not query: it moves rows the caller loaded, inside the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col

from bidagent.errors import StoreError
from bidagent.store.ledger import ChangeRecord, ReviewItemRecord
from bidagent.store.statuses import (
    CHANGE_STATUSES,
    INITIAL_CHANGE_STATUSES,
    ChangeStatus,
    ReviewStatus,
    can_move,
)

__all__ = [
    "ChangeOutcome",
    "IllegalTransitionError",
    "OutcomeStatus",
    "initial_status",
    "new_change",
    "status_of",
    "transition",
    "transition_where",
]

# What one change came to, as the apply path and decisions report it: a change status, or
# ``refused`` (an approval whose entity no longer held the old value; the row itself is ``failed``).
OutcomeStatus = ChangeStatus | Literal["refused"]


class IllegalTransitionError(StoreError):
    """A status move the table does not allow: a bug, never a condition to handle."""


@dataclass(frozen=True)
class ChangeOutcome:
    """What became of one change: its id, the outcome and why (a decision, the API's message)."""

    change_id: int
    status: OutcomeStatus
    reason: str | None = None


def status_of(row: ChangeRecord) -> ChangeStatus:
    """The row's status as the closed type: the column holds text, and only this module writes
    it, so anything outside :data:`~bidagent.store.statuses.CHANGE_STATUSES` is a bug."""
    found = next((s for s in CHANGE_STATUSES if s == row.status), None)
    if found is None:
        raise IllegalTransitionError(f"change {row.id}: unknown status {row.status!r}")
    return found


def transition(
    row: ChangeRecord | ReviewItemRecord, to: ChangeStatus | ReviewStatus, *, now: datetime
) -> None:
    """Move ``row`` to ``to`` and stamp ``updated_at`` (change rows); raise
    :class:`IllegalTransitionError` if the table does not allow it. The caller sets the fields
    that go with the move (reason, error code, decided by) and adds the row to its session."""
    review = isinstance(row, ReviewItemRecord)
    if not can_move(row.status, to, review=review):
        what = f"review item {row.id}" if review else f"change {row.id}"
        raise IllegalTransitionError(f"{what}: {row.status} -> {to} is not an allowed move")
    row.status = to
    if isinstance(row, ChangeRecord):
        row.updated_at = now


def transition_where(
    session: Session,
    to: ChangeStatus,
    *,
    current: ChangeStatus,
    where: tuple[Any, ...],
    now: datetime,
    reason: str,
) -> None:
    """Move every change row in ``current`` that matches ``where`` to ``to`` in one UPDATE
    statement (for moves over many rows, such as superseding older holds)."""
    if not can_move(current, to):
        raise IllegalTransitionError(f"changes: {current} -> {to} is not an allowed move")
    session.execute(
        update(ChangeRecord.__table__)  # type: ignore[attr-defined]
        .where(col(ChangeRecord.status) == current, *where)
        .values(status=to, reason=reason, updated_at=now)
    )


def initial_status(status: str) -> ChangeStatus:
    """``status`` if a new change row may start in it (rows inserted in bulk check theirs here)."""
    if status not in INITIAL_CHANGE_STATUSES:
        raise IllegalTransitionError(f"a change cannot start as {status!r}")
    return status


def new_change(**fields: Any) -> ChangeRecord:
    """A new change row; its ``status`` must be one a row may start in."""
    initial_status(fields.get("status", "planned"))
    return ChangeRecord(**fields)
