"""Change sets: changes that hold together or not at all, settled after every send.

A harvest that graduates its search term is two creations: the new keyword (or product target)
and the negative that stops the term in its source ad group. Alone, either half hurts: a harvest
without the negative makes the two ad groups bid against each other; a negative without the
harvest switches the converting term off. The Ads API has no transactions, so "both or neither"
is kept here, through the intent log:

- the engine gives both halves one ``change_set`` and holds or skips them together (guardrails);
- they are sent in separate calls (different entity types), each recorded as usual;
- after every send (:func:`apply_and_settle`, the approval path's :func:`applier_for`, the
  reconcile at start), a set with a ``failed`` member is settled: members still ``planned`` are
  superseded unsent, and members already ``applied`` are archived through the revert path (a
  ``revert`` change row each, sent and read back like any other change).

A set whose members are still ``sending`` or ``held`` is left alone until they settle. It owns no
SQL (``bidagent.store.change_sets``) and no HTTP of its own (the apply and revert paths).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.apply import apply_approved, apply_planned, reconcile_sending
from bidagent.agent.cycle.revert import apply_revert, plan_revert
from bidagent.store import session_scope
from bidagent.store.change_sets import UNDONE_STATUSES, broken_change_sets, change_set_members
from bidagent.store.changes import load_changes
from bidagent.store.transitions import ChangeOutcome, transition

__all__ = ["applier_for", "apply_and_settle", "reconcile_and_settle", "settle_change_sets"]

log = structlog.get_logger(__name__)


def settle_change_sets(ctx: AgentContext, profile_ids: Iterable[str]) -> list[ChangeOutcome]:
    """Undo what is left of every broken set of ``profile_ids``: supersede its planned members
    and archive its applied ones. Returns the outcomes of the archives it sent.

    Looks at every set of the profile, not only those of the last send: a half left ``planned``
    by the kill switch is superseded when the next cycle plans afresh, after its partner was
    applied; the next settle finds that set here. A set whose archive failed stays broken and is
    tried again at the next settle (the failed archive is a review item of its own)."""
    now = ctx.now()
    to_undo: list[int] = []
    with session_scope(ctx.engine) as session:
        keys = [key for p in sorted(set(profile_ids)) for key in broken_change_sets(session, p)]
        for key, members in change_set_members(session, keys).items():
            undone = next(m for m in members if m.status in UNDONE_STATUSES)
            why = f"change set {key}: change {undone.id} is {undone.status} ({undone.reason})"
            for member in members:
                if member.status == "planned":
                    transition(member, "superseded", now=now)
                    member.reason = f"{why}; not sent"
                    session.add(member)
                elif member.status == "applied":
                    to_undo.append(member.id or 0)
            log.warning("change_set_broken", change_set=key, change_id=undone.id)
        originals = sorted(load_changes(session, to_undo), key=lambda r: r.id or 0)
    if not originals:
        return []
    items = plan_revert(ctx, originals)
    for item in items:
        if item.skip_reason is not None:
            log.error(
                "change_set_undo_skipped", change_id=item.original.id, reason=item.skip_reason
            )
    return apply_revert(ctx, items, by="change set (its other half will not be applied)")


def apply_and_settle(
    ctx: AgentContext, profile_id: str, change_ids: Sequence[int]
) -> list[ChangeOutcome]:
    """Send the planned changes among ``change_ids`` (of ``profile_id``), then settle the
    profile's change sets."""
    outcomes = apply_planned(ctx, change_ids)
    return [*outcomes, *settle_change_sets(ctx, [profile_id])]


def reconcile_and_settle(ctx: AgentContext, profile_id: str | None = None) -> list[ChangeOutcome]:
    """Settle rows left ``sending`` by a crash, then the change sets those rows belong to."""
    outcomes = reconcile_sending(ctx, profile_id)
    if profile_id is None:
        return outcomes
    return [*outcomes, *settle_change_sets(ctx, [profile_id])]


def applier_for(ctx: AgentContext) -> Any:
    """The callable the review queue uses to apply approved changes in this context: the apply
    path's approval (the entity must still hold the old value), then change-set settling."""

    def apply(change_ids: list[int], *, actor: str) -> list[ChangeOutcome]:
        return apply_approved(
            ctx, change_ids, actor=actor, then=lambda profiles: settle_change_sets(ctx, profiles)
        )

    return apply
