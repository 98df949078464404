"""Step 5: a planned money change whose step is over its rule's ``approval.over`` waits for a human,
alone, behind its own ``approval`` review item.

Owns acting on :attr:`bidagent.engine.plan.Proposal.needs_approval`; the threshold itself is
compared in :mod:`bidagent.engine.money`. It must not change values.
"""

from __future__ import annotations

from bidagent.engine.guardrails.change_sets import units
from bidagent.engine.guardrails.holds import hold_for_approval
from bidagent.engine.guardrails.state import GuardrailState

__all__ = ["hold_approvals"]


def hold_approvals(state: GuardrailState) -> None:
    """Hold each still-planned proposal flagged as needing approval (with its change set)."""
    for unit in units(state.survivors()):
        if any(p.needs_approval for p in unit) and all(p.status == "planned" for p in unit):
            hold_for_approval(
                state.plan, unit, state.settings, "step over the rule's approval threshold"
            )
