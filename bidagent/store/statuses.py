"""The ledger's statuses and the moves allowed between them: the intent log's state machine as
data. Moving a row is :mod:`bidagent.store.transitions`' job; this module only says what is allowed.

::

    (new) ─► planned ─► sending ─► applied ─► reverted
      │        │  ▲        │ │
      │        │  └────────┘ └─► failed
      │        └─► superseded
      ├─► held ─► planned | applied | failed | superseded | rejected | expired
      ├─► dry_run, superseded      (recorded, never sent)
      └─► applied                  (an edit made outside bidagent, recorded as found)

A row that reached ``applied`` can only be ``reverted``; a ``sending`` row (outcome unknown) is
settled only by what the API or a read-back said; a ``held`` row leaves only by a person's
decision, an expiry, a fresher proposal or a refused approval. Review items: ``open`` →
``approved | rejected | resolved | expired``, and ``approved`` back to ``open`` when the approval
could not be recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

__all__ = [
    "CHANGE_STATUSES",
    "CHANGE_TRANSITIONS",
    "INITIAL_CHANGE_STATUSES",
    "REVIEW_STATUSES",
    "REVIEW_TRANSITIONS",
    "ChangeStatus",
    "ReviewStatus",
    "can_move",
]

ChangeStatus = Literal[
    "planned",
    "sending",
    "applied",
    "failed",
    "superseded",
    "held",
    "dry_run",
    "reverted",
    "rejected",
    "expired",
]
CHANGE_STATUSES: tuple[ChangeStatus, ...] = get_args(ChangeStatus)

ReviewStatus = Literal["open", "approved", "rejected", "resolved", "expired"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = get_args(ReviewStatus)

INITIAL_CHANGE_STATUSES: frozenset[ChangeStatus] = frozenset(
    {"planned", "held", "dry_run", "superseded", "applied"}
)
CHANGE_TRANSITIONS: Mapping[ChangeStatus, frozenset[ChangeStatus]] = {
    "planned": frozenset({"sending", "superseded"}),
    # The API answered (applied, failed), or a read-back showed the old value (send again).
    "sending": frozenset({"applied", "failed", "planned"}),
    # Approved (planned, then sent), refused (failed), replaced, rejected, expired; ``applied``
    # directly when an approval's applier reported the outcome without settling the row itself.
    "held": frozenset({"planned", "applied", "failed", "superseded", "rejected", "expired"}),
    "applied": frozenset({"reverted"}),
    "failed": frozenset(),
    "superseded": frozenset(),
    "dry_run": frozenset(),
    "reverted": frozenset(),
    "rejected": frozenset(),
    "expired": frozenset(),
}
REVIEW_TRANSITIONS: Mapping[ReviewStatus, frozenset[ReviewStatus]] = {
    "open": frozenset({"approved", "rejected", "resolved", "expired"}),
    # An approval whose outcome could not be recorded is put back, so a person can try again.
    "approved": frozenset({"open"}),
    "rejected": frozenset(),
    "resolved": frozenset(),
    "expired": frozenset(),
}


def can_move(current: str, to: str, *, review: bool = False) -> bool:
    """Whether the table allows ``current`` → ``to`` (change rows, or review items)."""
    table: Mapping[Any, frozenset[Any]] = REVIEW_TRANSITIONS if review else CHANGE_TRANSITIONS
    return to in table.get(current, frozenset())
