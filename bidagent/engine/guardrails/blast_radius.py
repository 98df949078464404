"""Step 2: a rule that would change more entities than its ``max_changes`` or ``max_changes_pct``
holds its whole batch as one ``guardrail`` review item, never the first N.

Owns :data:`PCT_FLOOR`, the tighter of the rule's and the configuration's percentage, and what
counts as one change (a change set counts once). It must not look across rules (that is the
circuit breaker's job).
"""

from __future__ import annotations

import math

from bidagent.engine.guardrails.change_sets import unit_count
from bidagent.engine.guardrails.holds import hold
from bidagent.engine.guardrails.state import Batch, GuardrailState
from bidagent.engine.plan import ReviewRequest
from bidagent.vocabulary import make_dedupe_key

__all__ = ["PCT_FLOOR", "limit_blast_radius"]

PCT_FLOOR = 10  # a percentage limit never holds a batch of this many changes or fewer


def limit_blast_radius(state: GuardrailState) -> None:
    """Hold every batch over its limits, whole."""
    for batch in state.batches:
        _limit(state, batch)


def _limit(state: GuardrailState, batch: Batch) -> None:
    rule, kept, population, settings = batch.rule, batch.proposals, batch.population, state.settings
    limits = rule.rule.limits
    pct = min(
        x for x in (limits.max_changes_pct, settings.guardrails.max_changes_pct) if x is not None
    )
    allowed_pct = max(math.ceil(pct * population), PCT_FLOOR)
    changes = unit_count(kept)  # a change set (a graduation pair) is one change
    reasons = []
    if limits.max_changes is not None and changes > limits.max_changes:
        reasons.append(f"max_changes {limits.max_changes}")
    if changes > allowed_pct:
        reasons.append(f"max_changes_pct {pct:.0%} of {population} = {allowed_pct}")
    if not reasons:
        return
    key = make_dedupe_key("blast_radius", settings.profile_id, rule.name)
    note = f"blast radius: {changes} changes over {' and '.join(reasons)}; whole batch held"
    state.plan.reviews.append(
        ReviewRequest(
            "guardrail",
            "warning",
            key,
            f"{rule.name}: {note}",
            rule.name,
            evidence={"changes": changes, "population": population},
            held=hold(kept, key, note),
        )
    )
