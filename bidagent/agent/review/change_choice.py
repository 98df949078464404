"""Which of an item's held changes a partial decision approves and which it rejects.

A person picks changes inside one review item (the console's checkboxes, ``bidagent review
approve ID --changes 1,2,3``); this module checks the pick against what the item holds and
completes it: every held change ends on one side, and a *change set* (changes that hold together
or not at all, such as a harvested keyword and the negative that graduates its search term out of
the source ad group) always lands whole on one side, so approving or rejecting one member takes
its partners along. The engine holds a change set behind one review item, so its partners are
among the item's changes.

Pure: it reads the rows it is given and raises :class:`~bidagent.errors.ReviewError` for a pick
it cannot honour; it must not touch the database or move a status (:mod:`.decisions` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from bidagent.errors import ReviewError

__all__ = ["ChangeLike", "change_set_of", "close_over_sets", "split_changes"]


class ChangeLike(Protocol):
    """What the split reads of a change row (``ChangeRecord`` is one)."""

    @property
    def id(self) -> int | None: ...

    @property
    def status(self) -> str: ...


def change_set_of(change: Any) -> str | None:
    """The change set a change belongs to, or None (also for row-like objects without one)."""
    value = getattr(change, "change_set", None)
    return value if isinstance(value, str) and value else None


def close_over_sets(held: Sequence[ChangeLike], chosen: Iterable[int]) -> set[int]:
    """``chosen`` plus every held change that shares a change set with one of them."""
    picked = set(chosen)
    sets = {change_set_of(c) for c in held if c.id in picked} - {None}
    return picked | {c.id for c in held if c.id is not None and change_set_of(c) in sets}


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


def split_changes(
    item_id: int,
    changes: Sequence[ChangeLike],
    approve_ids: Iterable[int],
    reject_ids: Iterable[int] | None = None,
) -> tuple[list[int], list[int]]:
    """``(approve, reject)``: the held changes of item ``item_id`` to apply and to reject.

    ``changes`` are all the item's changes; ``reject_ids`` None rejects every held change not
    approved. Both sides are closed over change sets. Refused (:class:`ReviewError`, nothing
    decided): an id the item does not hold (or no longer holds), an id on both sides, a change
    set with members on both sides, and explicit sides that leave a held change undecided.
    """
    approve_given, reject_given = set(approve_ids), set(reject_ids or ())
    by_id = {c.id: c for c in changes if c.id is not None}
    held = [c for c in changes if c.status == "held"]
    held_ids = {c.id for c in held if c.id is not None}
    problems = []
    for change_id in sorted(approve_given | reject_given):
        found = by_id.get(change_id)
        if found is None:
            problems.append(f"change {change_id} is not one of review item {item_id}'s")
        elif change_id not in held_ids:
            problems.append(f"change {change_id} is {found.status}, no longer held")
    if both := approve_given & reject_given:
        problems.append(f"changes {_ids(both)} are both approved and rejected")
    if problems:
        raise ReviewError("; ".join(problems) + "; nothing was decided")
    approve = close_over_sets(held, approve_given)
    if reject_ids is None:
        return sorted(approve), sorted(held_ids - approve)
    reject = close_over_sets(held, reject_given)
    split = sorted(
        {change_set_of(by_id[i]) or "" for i in approve & reject}
    )  # only sets can overlap here
    if split:
        raise ReviewError(
            f"change set {', '.join(split)} would be partly approved and partly rejected: a set "
            "is approved or rejected whole; nothing was decided"
        )
    if left := held_ids - approve - reject:
        raise ReviewError(
            f"changes {_ids(left)} of review item {item_id} are neither approved nor rejected: "
            "every held change must be decided; nothing was decided"
        )
    return sorted(approve), sorted(reject)
