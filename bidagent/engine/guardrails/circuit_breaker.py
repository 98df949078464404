"""Step 4: more planned changes in one cycle than ``max_changes_per_cycle`` hold the whole cycle as
one ``circuit_breaker`` review item (critical), never the first N.

Owns the global per-cycle cap. It counts what is still ``planned`` after blast radius and conflicts,
so held and superseded proposals do not count. It must not look at single rules' limits.
"""

from __future__ import annotations

from bidagent.engine.guardrails.holds import hold
from bidagent.engine.guardrails.state import GuardrailState
from bidagent.engine.plan import ReviewRequest
from bidagent.vocabulary import make_dedupe_key

__all__ = ["trip_circuit_breaker"]


def trip_circuit_breaker(state: GuardrailState) -> None:
    """Hold every planned proposal when there are more than the cycle allows."""
    guard, settings = state.settings.guardrails, state.settings
    planned = [p for p in state.survivors() if p.status == "planned"]
    if len(planned) <= guard.max_changes_per_cycle:
        return
    key = make_dedupe_key("circuit_breaker", settings.profile_id)
    note = f"circuit breaker: {len(planned)} changes over max_changes_per_cycle {guard.max_changes_per_cycle}"
    state.plan.reviews.append(
        ReviewRequest(
            "circuit_breaker",
            "critical",
            key,
            f"{note}; the whole cycle is held",
            held=hold(planned, key, note),
        )
    )
