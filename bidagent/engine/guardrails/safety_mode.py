"""Step 6: the safety mode, the strictest of the global mode and the rule's. ``dry_run`` turns every
proposal not superseded into ``dry_run`` (held ones too: nothing of it may be applied); ``review``
holds each planned one (a change set whole) for approval; ``apply`` leaves it planned.

Owns :func:`strictest_mode`: a rule may tighten the global mode, never loosen it. It must not look
at values or limits.
"""

from __future__ import annotations

from bidagent.engine.guardrails.change_sets import units
from bidagent.engine.guardrails.holds import hold_for_approval
from bidagent.engine.guardrails.state import GuardrailState

__all__ = ["apply_modes", "strictest_mode"]

_MODES = {"apply": 0, "review": 1, "dry_run": 2}


def strictest_mode(*modes: str | None) -> str:
    """The most cautious of the given modes (a rule may tighten the global mode, never loosen it)."""
    return max((m for m in modes if m), key=_MODES.__getitem__, default="apply")


def apply_modes(state: GuardrailState) -> None:
    """Each proposal under its rule's effective mode."""
    settings, plan = state.settings, state.plan
    rules = {batch.rule.name: batch.rule for batch in state.batches}
    modes = {name: strictest_mode(settings.mode, r.rule.mode) for name, r in rules.items()}
    for unit in units(state.survivors()):
        mode = modes[unit[0].rule_name]  # a change set is one rule's
        live = [p for p in unit if p.status != "superseded"]
        if mode == "dry_run":
            for p in live:
                p.notes.append(
                    f"mode dry_run (global {settings.mode}, rule {rules[p.rule_name].rule.mode or '-'})"
                )
                p.status, p.review_key = "dry_run", None
        elif mode == "review" and live and all(p.status == "planned" for p in live):
            hold_for_approval(plan, live, settings, "mode review")
