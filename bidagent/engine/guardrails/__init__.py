"""The cross-rule guardrails: one ordered pipeline from each rule's candidates to the plan's proposals.

What can stop a change, in order (every decision leaves a note or a skip with its numbers):

Before the pipeline, per rule:

1. **Data freshness** (:mod:`bidagent.engine.evaluate`): a stale source or a window with missing days
   stops the whole rule (a ``freshness`` skip and a ``data`` review item); a dayparting period holds
   the bids daily rules would change (``daypart`` skips).
2. **Floors and ceilings** and 3. **max step** (:mod:`bidagent.engine.actions`, arithmetic in
   :mod:`bidagent.engine.money`): values are clamped; a step over the rule's ``approval.over`` is
   left unclamped and flagged :attr:`~bidagent.engine.plan.Proposal.needs_approval`; a value that
   ends where it started is a ``no_change`` skip.

Then :data:`PIPELINE`, one module per step, run by :func:`apply_guardrails`:

4. :mod:`~bidagent.engine.guardrails.cooldown`: changed too recently, or rejected by a human.
5. :mod:`~bidagent.engine.guardrails.blast_radius`: a rule over ``max_changes`` /
   ``max_changes_pct`` holds its whole batch.
6. :mod:`~bidagent.engine.guardrails.conflicts`: one change per entity field; losers are superseded.
7. :mod:`~bidagent.engine.guardrails.circuit_breaker`: over ``max_changes_per_cycle`` holds the
   whole cycle.
8. :mod:`~bidagent.engine.guardrails.approvals`: flagged steps wait for a human, one by one.
9. :mod:`~bidagent.engine.guardrails.safety_mode`: ``dry_run`` records only, ``review`` holds each.

Last, review items whose held proposals were all released (superseded or turned ``dry_run``) are
dropped, and every proposal still in play joins the plan. All or nothing: a limit exceeded holds a
whole batch, never the first N. This package must not evaluate expressions.
"""

from __future__ import annotations

from datetime import datetime

from bidagent.engine.actions import Candidates
from bidagent.engine.guardrails.approvals import hold_approvals
from bidagent.engine.guardrails.blast_radius import PCT_FLOOR, limit_blast_radius
from bidagent.engine.guardrails.circuit_breaker import trip_circuit_breaker
from bidagent.engine.guardrails.conflicts import resolve_conflicts
from bidagent.engine.guardrails.cooldown import check_cooldowns, settings_cooldown
from bidagent.engine.guardrails.history import History
from bidagent.engine.guardrails.safety_mode import apply_modes, strictest_mode
from bidagent.engine.guardrails.state import Batch, GuardrailState, Step
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.plan import Plan, paused_gc
from bidagent.engine.ruleset import LoadedRule

__all__ = [
    "PCT_FLOOR",
    "PIPELINE",
    "GuardrailState",
    "History",
    "Step",
    "apply_guardrails",
    "settings_cooldown",
    "strictest_mode",
]

PIPELINE: tuple[Step, ...] = (
    check_cooldowns,
    limit_blast_radius,
    resolve_conflicts,
    trip_circuit_breaker,
    hold_approvals,
    apply_modes,
)

_HOLDING = (
    "approval",
    "guardrail",
    "circuit_breaker",
)  # review kinds that exist for what they hold


@paused_gc()  # tens of thousands of notes and groups: see paused_gc
def apply_guardrails(
    plan: Plan,
    batches: list[tuple[LoadedRule, Candidates]],
    history: History,
    settings: EngineSettings,
    now: datetime,
    scheduled_names: set[str],
) -> None:
    """Run :data:`PIPELINE` over each rule's candidates, in order, into ``plan``."""
    state = GuardrailState(
        plan,
        [Batch(rule, list(found.proposals), found.population) for rule, found in batches],
        history,
        settings,
        now,
        scheduled_names,
    )
    for step in PIPELINE:
        step(state)
    for r in plan.reviews:
        r.held = [p for p in r.held if p.status == "held"]
    plan.reviews[:] = [r for r in plan.reviews if r.kind not in _HOLDING or r.held]
    plan.proposals.extend(state.survivors())
