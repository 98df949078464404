"""Step 5: a planned money change whose step is over its rule's ``approval.over`` waits for a human,
alone, behind its own ``approval`` review item.

Owns acting on :attr:`bidagent.engine.plan.Proposal.needs_approval`; the threshold itself is
compared in :mod:`bidagent.engine.money`. It must not change values.
"""

from __future__ import annotations

from bidagent.engine.guardrails.holds import hold_for_approval
from bidagent.engine.guardrails.state import GuardrailState

__all__ = ["hold_approvals"]


def hold_approvals(state: GuardrailState) -> None:
    """Hold each still-planned proposal flagged as needing approval."""
    for p in state.survivors():
        if p.status == "planned" and p.needs_approval:
            hold_for_approval(
                state.plan, p, state.settings, "step over the rule's approval threshold"
            )
