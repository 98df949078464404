"""Holding proposals for a human: the status change, its note, and the approval review item.

Owns :func:`hold` (used by blast radius, the circuit breaker and approvals) and
:func:`hold_for_approval` (used by approvals and the ``review`` mode; a change set is held whole
behind one item). It must not decide what to
hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from bidagent.engine.guardrails.change_sets import describe
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.plan import Plan, Proposal, ReviewRequest
from bidagent.vocabulary import make_dedupe_key

__all__ = ["hold", "hold_for_approval"]


def hold(proposals: Iterable[Proposal], key: str, note: str) -> list[Proposal]:
    """Mark ``proposals`` held under review item ``key``, with ``note``; return them as a list."""
    held = []
    for p in proposals:
        p.status, p.review_key = "held", key
        p.notes.append(note)
        held.append(p)
    return held


def hold_for_approval(
    plan: Plan, members: list[Proposal], settings: EngineSettings, why: str
) -> None:
    """Hold one proposal, or one change set whole, behind its own approval review item."""
    p = members[0]
    if len(members) == 1:
        key = make_dedupe_key("approval", settings.profile_id, p.rule_name, *p.key)
        summary = f"{p.rule_name}: {p.field} of {p.entity_name or p.entity_id} {p.old_value} -> {p.new_value} ({why})"
    else:
        key = make_dedupe_key(
            "approval", settings.profile_id, p.rule_name, "change_set", p.change_set
        )
        made = "; ".join(describe(m) for m in members)
        summary = (
            f"{p.rule_name}: {p.entity_name or p.entity_id}: {made}, together or not at all ({why})"
        )
    hold(members, key, f"held for approval: {why}")
    plan.reviews.append(
        ReviewRequest(
            "approval",
            "info",
            key,
            summary,
            p.rule_name,
            p.entity_kind,
            p.entity_id,
            p.entity_name,
            dict(p.evidence),
            list(members),
        )
    )
