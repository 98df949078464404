"""Revert applied changes: plan changes back to the old values and apply them through the same
intent log and sender as any other change.

An entity whose live value is no longer the one we set has been changed since (by a later rule,
a person, another tool): reverting it would overwrite that, so it is skipped and the plan says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.apply import ChangeOutcome, apply_planned
from bidagent.agent.cycle.change_requests import api_call, live_value
from bidagent.store import ChangeRecord, session_scope
from bidagent.store.changes import get_change
from bidagent.store.transitions import new_change, transition
from bidagent.vocabulary import MONEY_FIELDS, ApiCall

__all__ = ["RevertItem", "apply_revert", "plan_revert"]

_REVERTIBLE = MONEY_FIELDS | {"state"}


@dataclass
class RevertItem:
    """One original change and what reverting it would do (or why it will not)."""

    original: ChangeRecord
    current: str | None
    target: str | None
    skip_reason: str | None = None


def plan_revert(ctx: AgentContext, originals: Sequence[ChangeRecord]) -> list[RevertItem]:
    """Decide, from live values, which originals can go back to their old value."""
    items: list[RevertItem] = []
    candidates: list[ChangeRecord] = []
    for row in originals:
        if row.field not in _REVERTIBLE:
            items.append(RevertItem(row, None, None, f"a created {row.field} cannot be reverted"))
        elif row.actor == "external":
            items.append(RevertItem(row, None, None, "an external edit is not ours to revert"))
        else:
            candidates.append(row)
    # Keep only the newest change per entity field: reverting an older one would skip a step.
    newest: dict[tuple[str, str, str], ChangeRecord] = {}
    for row in candidates:
        newest[(row.entity_kind, row.entity_id, row.field)] = row
    for row in candidates:
        if newest[(row.entity_kind, row.entity_id, row.field)] is not row:
            items.append(
                RevertItem(row, None, None, "a later change to the same field is reverted instead")
            )
    by_call: dict[tuple[str, ApiCall], list[ChangeRecord]] = {}
    for row in newest.values():
        by_call.setdefault((row.profile_id, api_call(row)), []).append(row)
    for (profile_id, call), rows in by_call.items():
        for row, value in zip(rows, live_value(ctx.client, profile_id, call, rows), strict=True):
            if value is None:
                items.append(RevertItem(row, None, row.old_value, "entity not found"))
            elif not value.matches_new:
                items.append(
                    RevertItem(row, value.text, row.old_value, f"changed since: now {value.text!r}")
                )
            else:
                items.append(RevertItem(row, value.text, row.old_value))
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
            row = new_change(
                profile_id=original.profile_id,
                entity_kind=original.entity_kind,
                entity_id=original.entity_id,
                entity_name=original.entity_name,
                campaign_id=original.campaign_id,
                ad_group_id=original.ad_group_id,
                field=original.field,
                old_value=original.new_value,
                new_value=original.old_value,
                rule_name=original.rule_name,
                rule_file=original.rule_file,
                rule_hash=original.rule_hash,
                evidence={"reverts": original.id, "requested_by": by},
                status="planned",
                actor="revert",
                reason=f"revert of change {original.id} by {by}",
                reverts_change_id=original.id,
                created_at=now,
                updated_at=now,
            )
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
