"""Change sets in the ledger: which sets a group of changes belongs to, and every member of them.

A change set is changes that hold together or not at all (a harvested keyword and the negative
that graduates its search term out of the source ad group). This module only reads; what a broken
set means is :mod:`bidagent.agent.cycle.change_sets`. It works inside the caller's session and must
not commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from bidagent.store.ledger import ChangeRecord

__all__ = ["UNDONE_STATUSES", "broken_change_sets", "change_set_members"]

_CHUNK = 500  # ids per IN list: far under every driver's parameter limit
# A member in one of these will never be applied: the rest of its set must not stay applied.
UNDONE_STATUSES = ("failed", "superseded", "rejected", "expired")


def broken_change_sets(session: Session, profile_id: str) -> list[str]:
    """The profile's change sets that have a member that will never be applied and a member
    that is applied or still planned: the ones left to undo."""

    def count(statuses: Sequence[str]) -> object:
        return func.sum(case((col(ChangeRecord.status).in_(statuses), 1), else_=0))

    query = (
        select(ChangeRecord.change_set)
        .where(ChangeRecord.profile_id == profile_id, col(ChangeRecord.change_set).is_not(None))
        .group_by(col(ChangeRecord.change_set))
        .having(count(UNDONE_STATUSES) > 0, count(("applied", "planned")) > 0)  # type: ignore[operator]
        .order_by(col(ChangeRecord.change_set))
    )
    return [key for key in session.exec(query) if key is not None]


def change_set_members(session: Session, keys: Sequence[str]) -> dict[str, list[ChangeRecord]]:
    """Every change of each set in ``keys``, oldest first, keyed by set."""
    members: dict[str, list[ChangeRecord]] = defaultdict(list)
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        query = (
            select(ChangeRecord)
            .where(col(ChangeRecord.change_set).in_(chunk))
            .order_by(col(ChangeRecord.id))
        )
        for row in session.exec(query):
            members[row.change_set or ""].append(row)
    return dict(members)
