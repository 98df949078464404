"""Step 1: a change to an entity field too soon after the last one (or after a human rejected this
rule's change) becomes a ``cooldown`` or ``rejected`` skip.

Owns how long the cooldown is (the rule's, else the configured one; an edit made outside bidagent
rests for ``external_edit_cooldown`` when that is set, else for the same cooldown) and which recent
changes count: a dayparting rule's own changes cool down only itself, and creations are never
cooled down; a change set's partner of a stopped proposal is skipped with it. It must not look at
other rules' proposals.
"""

from __future__ import annotations

from datetime import timedelta

from bidagent.durations import format_duration, parse_duration
from bidagent.engine.guardrails.change_sets import skip_partners
from bidagent.engine.guardrails.state import GuardrailState
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.plan import Proposal, Skip
from bidagent.engine.ruleset import LoadedRule

__all__ = ["check_cooldowns", "settings_cooldown"]


def settings_cooldown(rule: LoadedRule, settings: EngineSettings) -> timedelta:
    """The rule's cooldown, else the configured one."""
    if rule.rule.cooldown:
        return parse_duration(rule.rule.cooldown)
    return settings.guardrails.cooldown


def check_cooldowns(state: GuardrailState) -> None:
    """Drop each batch's proposals that a recent change stops, with a skip naming it."""
    if not state.history.rows:  # nothing changed recently: no cooldown can stop anything
        return
    for batch in state.batches:
        rule = batch.rule
        cooldown = settings_cooldown(rule, state.settings)
        external = state.settings.guardrails.external_edit_cooldown or cooldown
        ignore = {rule.name} if rule.schedule else state.scheduled_names
        kept: list[Proposal] = []
        stopped: dict[str, tuple[Proposal, Skip]] = {}
        for p in batch.proposals:
            stop = state.history.blocking(
                p, rule, state.now - cooldown, ignore, state.now - external
            )
            if stop is not None:
                reason, detail, outside = stop
                rest = external if outside else cooldown
                detail = f"{detail} (cooldown {_fmt(rest)})"
                skip = Skip(rule.name, reason, detail, p.entity_kind, p.entity_id, p.field)
                state.plan.skips.append(skip)
                if p.change_set is not None:
                    stopped.setdefault(p.change_set, (p, skip))
                continue
            kept.append(p)
        if stopped:  # a change set goes whole or not at all
            kept, partners = skip_partners(rule.name, kept, stopped)
            state.plan.skips.extend(partners)
        batch.proposals = kept


def _fmt(delta: timedelta) -> str:
    return format_duration(delta) if delta else "0s"
