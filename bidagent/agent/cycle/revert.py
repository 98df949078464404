"""Revert applied changes: plan changes back to the old values and apply them through the same
intent log and sender as any other change. A created keyword, product target or negative (keyword
or product target, at either level) is reverted by archiving it (a ``state`` → ``archived``
change on the created entity, sent as an ``Archive`` call of the created kind).

An entity whose live value is no longer the one we set has been changed since (by a later rule,
a person, another tool): reverting it would overwrite that, so it is skipped and the plan says so.
Every original asked for ends in exactly one of: reverted, failed, or skipped with a reason
(:func:`revert_summary` counts them so they add up).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.apply import ChangeOutcome, apply_planned
from bidagent.agent.cycle.change_requests import ARCHIVED, CREATION_FIELDS, api_call, live_value
from bidagent.store import ChangeRecord, Session, session_scope
from bidagent.store.change_sets import change_set_members
from bidagent.store.changes import applied_changes, get_change
from bidagent.store.profile_locks import hold_profiles
from bidagent.store.transitions import new_change, transition
from bidagent.vocabulary import MONEY_FIELDS, ApiCall, Archive

__all__ = ["RevertItem", "apply_revert", "plan_revert", "revert_changes", "revert_summary"]

_REVERTIBLE = MONEY_FIELDS | {"state"}
_CREATIONS = CREATION_FIELDS  # change fields that create an entity
ALREADY_REVERTED = "already reverted"


@dataclass
class RevertItem:
    """One original change and what reverting it would do (or why it will not). ``undo`` is the
    change that reverts it: the original's entity field, or for a creation the created entity's
    ``state``."""

    original: ChangeRecord
    current: str | None
    target: str | None
    skip_reason: str | None = None
    undo: ChangeRecord | None = None


def _undo(row: ChangeRecord) -> ChangeRecord:
    """The (unsaved) change that puts ``row`` back: the old value, or archiving what it made."""
    created = row.field in _CREATIONS
    call = api_call(row)
    return new_change(
        profile_id=row.profile_id,
        entity_kind=call.kind if created else row.entity_kind,
        entity_id=(row.remote_id or "") if created else row.entity_id,
        entity_name=row.entity_name,
        campaign_id=row.campaign_id,
        ad_group_id=row.ad_group_id,
        field="state" if created else row.field,
        old_value="enabled" if created else row.new_value,
        new_value=ARCHIVED if created else row.old_value,
        rule_name=row.rule_name,
        rule_file=row.rule_file,
        rule_hash=row.rule_hash,
        status="planned",
        actor="revert",
        reverts_change_id=row.id,
    )


def _step(row: ChangeRecord) -> tuple[str, str, str]:
    """What a change changed: an entity's field, or for a creation the entity it created."""
    if row.field in _CREATIONS:
        return (api_call(row).kind, row.remote_id or "", "created")
    return (row.entity_kind, row.entity_id, row.field)


def _with_partners(ctx: AgentContext, originals: Sequence[ChangeRecord]) -> list[ChangeRecord]:
    """``originals`` and the applied members of their change sets: a graduation (a harvest and
    its source negative) is reverted whole, never one half (see ``agent.cycle.change_sets``)."""
    asked = {row.id for row in originals}
    with session_scope(ctx.engine) as session:
        keys = sorted({row.change_set for row in originals if row.change_set})
        partners = [
            member
            for members in (change_set_members(session, keys) if keys else {}).values()
            for member in members
            if member.id not in asked and member.status == "applied"
        ]
    return [*originals, *partners]


def plan_revert(ctx: AgentContext, originals: Sequence[ChangeRecord]) -> list[RevertItem]:
    """Decide, from live values, which originals can be put back (reverted ones included, so
    asking twice reports them as already reverted). Applied members of an original's change set
    are added: a set is reverted whole."""
    items: list[RevertItem] = []
    candidates: list[ChangeRecord] = []
    for row in _with_partners(ctx, originals):
        if row.status == "reverted":
            items.append(RevertItem(row, None, None, ALREADY_REVERTED))
        elif row.actor == "external":
            items.append(RevertItem(row, None, None, "an external edit is not ours to revert"))
        elif row.field in _CREATIONS and not row.remote_id:
            items.append(RevertItem(row, None, None, "not revertible: the created id is unknown"))
        elif row.field not in _REVERTIBLE | _CREATIONS:
            items.append(RevertItem(row, None, None, f"not revertible: a {row.field} change"))
        else:
            candidates.append(row)
    # Keep only the newest change per entity field: reverting an older one would skip a step.
    # Each creation made an entity of its own (two negatives of one search term, at ad group and
    # campaign level, are two entities): it is its own step, keyed by what it created.
    newest: dict[tuple[str, str, str], ChangeRecord] = {}
    for row in candidates:
        newest[_step(row)] = row
    for row in candidates:
        if newest[_step(row)] is not row:
            items.append(
                RevertItem(row, None, None, "a later change to the same field is reverted instead")
            )
    by_call: dict[tuple[str, ApiCall], list[tuple[ChangeRecord, ChangeRecord]]] = {}
    for row in newest.values():
        undo = _undo(row)
        by_call.setdefault((row.profile_id, api_call(undo)), []).append((row, undo))
    for (profile_id, call), pairs in by_call.items():
        undos = [undo for _, undo in pairs]
        for (row, undo), value in zip(
            pairs, live_value(ctx.client, profile_id, call, undos), strict=True
        ):
            if value is None:
                items.append(RevertItem(row, None, undo.new_value, "entity not found"))
            elif isinstance(call, Archive) and value.matches_new:
                items.append(RevertItem(row, value.text, undo.new_value, "already archived"))
            elif not value.matches_old:
                reason = f"changed since: now {value.text!r}"
                items.append(RevertItem(row, value.text, undo.new_value, reason))
            else:
                items.append(RevertItem(row, value.text, undo.new_value, undo=undo))
    return sorted(items, key=lambda item: item.original.id or 0)


def apply_revert(ctx: AgentContext, items: Sequence[RevertItem], *, by: str) -> list[ChangeOutcome]:
    """Write a ``revert`` change for each revertible item and send them; mark originals reverted."""
    now = ctx.now()
    created: dict[int, int] = {}
    with session_scope(ctx.engine) as session:
        for item in items:
            if item.skip_reason is not None:
                continue
            original = item.original
            row = item.undo if item.undo is not None else _undo(original)
            row.evidence = {"reverts": original.id, "requested_by": by}
            row.reason = f"revert of change {original.id} by {by}"
            row.created_at = row.updated_at = now
            session.add(row)
            session.flush()
            created[row.id or 0] = original.id or 0
    outcomes = apply_planned(ctx, list(created))
    with session_scope(ctx.engine) as session:
        for outcome in outcomes:
            if outcome.status == "applied":
                original_row = get_change(session, created[outcome.change_id])
                if original_row is not None:
                    transition(original_row, "reverted", now=now)
                    original_row.reason = f"reverted by change {outcome.change_id}"
                    session.add(original_row)
    return outcomes


def revert_changes(
    ctx: AgentContext, change_ids: Sequence[int], *, by: str, owner: str, wait_s: float
) -> tuple[list[RevertItem], list[ChangeOutcome]]:
    """Plan and apply the revert of ``change_ids`` at once, under their profiles' locks: what
    ``bidagent revert IDS --yes`` does, for callers with no prompt between the two (the
    console). Ids that are not applied or reverted changes are not in the plan."""
    with Session(ctx.engine) as session:
        originals = applied_changes(session, change_ids=change_ids, include_reverted=True)
    with hold_profiles(ctx.engine, {o.profile_id for o in originals}, owner=owner, wait_s=wait_s):
        items = plan_revert(ctx, originals)
        todo = [item for item in items if item.skip_reason is None]
        outcomes = apply_revert(ctx, todo, by=by) if todo else []
    return items, outcomes


def revert_summary(items: Sequence[RevertItem], outcomes: Sequence[ChangeOutcome]) -> str:
    """``reverted A of N asked, failed F, skipped S (reason: count, ...)``; A + F + S = N."""
    applied = sum(1 for o in outcomes if o.status == "applied")
    failed = sum(1 for item in items if item.skip_reason is None) - applied
    reasons = Counter(_reason_key(item.skip_reason) for item in items if item.skip_reason)
    skipped = sum(reasons.values())
    detail = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    text = f"reverted {applied} of {len(items)} asked, failed {failed}, skipped {skipped}"
    return f"{text} ({detail})" if detail else text


def _reason_key(reason: str) -> str:
    """A skip reason without the live value it quotes, so like reasons count together."""
    return "changed since" if reason.startswith("changed since") else reason
