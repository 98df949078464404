"""Holding proposals for a human: the status change, its note, and the approval review item.

Owns :func:`hold` (used by blast radius, the circuit breaker and approvals) and
:func:`hold_for_approval` (used by approvals and the ``review`` mode). It must not decide what to
hold.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def hold_for_approval(plan: Plan, p: Proposal, settings: EngineSettings, why: str) -> None:
    """Hold ``p`` alone behind its own approval review item."""
    key = make_dedupe_key("approval", settings.profile_id, p.rule_name, *p.key)
    hold([p], key, f"held for approval: {why}")
    plan.reviews.append(
        ReviewRequest(
            "approval",
            "info",
            key,
            f"{p.rule_name}: {p.field} of {p.entity_name or p.entity_id} {p.old_value} -> {p.new_value} ({why})",
            p.rule_name,
            p.entity_kind,
            p.entity_id,
            p.entity_name,
            dict(p.evidence),
            [p],
        )
    )
