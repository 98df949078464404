"""What the guardrail steps share: the plan being built, each rule's batch, and the step signature.

Owns :class:`GuardrailState` and :data:`Step`. It must not decide anything: the steps do, in the
order of :data:`bidagent.engine.guardrails.PIPELINE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bidagent.engine.guardrails.history import History
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.plan import Plan, Proposal
from bidagent.engine.ruleset import LoadedRule

__all__ = ["Batch", "GuardrailState", "Step"]


@dataclass
class Batch:
    """One rule's proposals still in play (a cooldown drops some), and its filtered population."""

    rule: LoadedRule
    proposals: list[Proposal]
    population: int  # entities that passed the rule's filter (for max_changes_pct)


@dataclass
class GuardrailState:
    """One evaluation's pass through the guardrails; steps add skips and reviews to ``plan``."""

    plan: Plan
    batches: list[Batch]
    history: History
    settings: EngineSettings
    now: datetime
    scheduled_names: set[str]  # rules with a schedule (their own changes do not cool others down)

    def survivors(self) -> list[Proposal]:
        """Every proposal still in play, in rule order then the rule's own order."""
        return [p for batch in self.batches for p in batch.proposals]


Step = Callable[[GuardrailState], None]
