"""The cross-rule guardrails, after each rule produced its candidates: cooldown, blast radius,
conflicts, the global per-cycle cap, approvals and the safety mode.

Owns guardrails 4 to 6 and conflict resolution; every decision leaves a note with its numbers. It must
not evaluate expressions. All-or-nothing: a limit exceeded holds a whole batch, never the first N.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from bidagent.engine.actions import Candidates
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.plan import Plan, Proposal, ReviewRequest, Skip, paused_gc
from bidagent.engine.ruleset import LoadedRule
from bidagent.vocabulary import make_dedupe_key

__all__ = ["PCT_FLOOR", "History", "apply_guardrails", "strictest_mode"]

PCT_FLOOR = 10  # a percentage limit never holds a batch of this many changes or fewer
_MODES = {"apply": 0, "review": 1, "dry_run": 2}


def strictest_mode(*modes: str | None) -> str:
    """The most cautious of the given modes (a rule may tighten the global mode, never loosen it)."""
    return max((m for m in modes if m), key=_MODES.__getitem__, default="apply")


@dataclass
class History:
    """Recent history rows by (entity kind, entity id, field)."""

    rows: dict[tuple[str, str, str], list[dict[str, Any]]]

    @classmethod
    def build(cls, history: pl.DataFrame) -> History:
        """Index the history frame once per evaluation."""
        rows: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in history.sort("changed_at", descending=True).iter_rows(named=True):
            rows[(row["entity_kind"], row["entity_id"], row["field"])].append(row)
        return cls(dict(rows))

    def blocking(
        self, p: Proposal, rule: LoadedRule, since: datetime, ignore: set[str]
    ) -> tuple[str, str] | None:
        """The (reason, detail) that stops ``p`` within the cooldown, if any."""
        for row in self.rows.get((p.entity_kind, p.entity_id, p.field), []):
            if row["changed_at"] is None or row["changed_at"] <= since:
                break
            by = row["rule_name"] or row["actor"]
            if row["status"] == "rejected" and row["rule_name"] == rule.name:
                return (
                    "rejected",
                    f"{p.field} change by this rule rejected at {row['changed_at']:%Y-%m-%d %H:%M}Z",
                )
            creation = p.payload is not None
            if (
                row["status"] == "applied"
                and not creation
                and (row["rule_name"] or "") not in ignore
            ):
                return (
                    "cooldown",
                    f"{p.field} changed at {row['changed_at']:%Y-%m-%d %H:%M}Z by {by}",
                )
        return None


def _hold(proposals: Iterable[Proposal], key: str, note: str) -> list[Proposal]:
    held = []
    for p in proposals:
        p.status, p.review_key = "held", key
        p.notes.append(note)
        held.append(p)
    return held


def _safer(p: Proposal) -> tuple[Any, ...]:
    if isinstance(p.new_value, Decimal):
        return (0, p.new_value)
    if p.new_value in ("paused", "enabled"):
        return (0, Decimal(0 if p.new_value == "paused" else 1))
    return (1, Decimal(0))


@paused_gc()  # tens of thousands of notes and groups: see paused_gc
def apply_guardrails(
    plan: Plan,
    batches: list[tuple[LoadedRule, Candidates]],
    history: History,
    settings: EngineSettings,
    now: datetime,
    scheduled_names: set[str],
) -> None:
    """Cooldown, blast radius, conflicts, global cap, approvals and mode, in that order, into ``plan``."""
    guard = settings.guardrails
    survivors: list[Proposal] = []
    approval_ids: set[int] = set()
    for rule, found in batches:
        if not history.rows:  # nothing changed recently: no cooldown can stop anything
            approval_ids |= found.approval
            _blast_radius(plan, rule, found.proposals, found.population, settings)
            survivors.extend(found.proposals)
            continue
        cooldown = settings_cooldown(rule, settings)
        ignore = {rule.name} if rule.schedule else scheduled_names
        kept: list[Proposal] = []
        for p in found.proposals:
            stop = history.blocking(p, rule, now - cooldown, ignore)
            if stop is not None:
                reason, detail = stop
                detail = f"{detail} (cooldown {_fmt(cooldown)})"
                plan.skips.append(
                    Skip(rule.name, reason, detail, p.entity_kind, p.entity_id, p.field)
                )
                continue
            kept.append(p)
        approval_ids |= found.approval
        _blast_radius(plan, rule, kept, found.population, settings)
        survivors.extend(kept)
    _resolve_conflicts(survivors, plan, settings)
    planned = [p for p in survivors if p.status == "planned"]
    if len(planned) > guard.max_changes_per_cycle:
        key = make_dedupe_key("circuit_breaker", settings.profile_id)
        note = f"circuit breaker: {len(planned)} changes over max_changes_per_cycle {guard.max_changes_per_cycle}"
        plan.reviews.append(
            ReviewRequest(
                "circuit_breaker",
                "critical",
                key,
                f"{note}; the whole cycle is held",
                held=_hold(planned, key, note),
            )
        )
    rules = {rule.name: rule for rule, _ in batches}
    modes = {name: strictest_mode(settings.mode, r.rule.mode) for name, r in rules.items()}
    for p in survivors:
        if p.status == "planned" and id(p) in approval_ids:
            _approval(plan, p, settings, "step over the rule's approval threshold")
    for p in survivors:
        mode = modes[p.rule_name]
        if p.status == "superseded":
            continue
        if mode == "dry_run":
            p.notes.append(
                f"mode dry_run (global {settings.mode}, rule {rules[p.rule_name].rule.mode or '-'})"
            )
            p.status, p.review_key = "dry_run", None
        elif mode == "review" and p.status == "planned":
            _approval(plan, p, settings, "mode review")
    holding = ("approval", "guardrail", "circuit_breaker")
    for r in plan.reviews:
        r.held = [p for p in r.held if p.status == "held"]
    plan.reviews[:] = [r for r in plan.reviews if r.kind not in holding or r.held]
    plan.proposals.extend(survivors)


def settings_cooldown(rule: LoadedRule, settings: EngineSettings) -> timedelta:
    """The rule's cooldown, else the configured one."""
    from bidagent.durations import parse_duration

    return parse_duration(rule.rule.cooldown or settings.guardrails.cooldown)


def _fmt(delta: timedelta) -> str:
    from bidagent.durations import format_duration

    return format_duration(delta) if delta else "0s"


def _approval(plan: Plan, p: Proposal, settings: EngineSettings, why: str) -> None:
    key = make_dedupe_key("approval", settings.profile_id, p.rule_name, *p.key)
    _hold([p], key, f"held for approval: {why}")
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


def _blast_radius(
    plan: Plan, rule: LoadedRule, kept: list[Proposal], population: int, settings: EngineSettings
) -> None:
    limits = rule.rule.limits
    pct = min(
        x for x in (limits.max_changes_pct, settings.guardrails.max_changes_pct) if x is not None
    )
    allowed_pct = max(math.ceil(pct * population), PCT_FLOOR)
    reasons = []
    if limits.max_changes is not None and len(kept) > limits.max_changes:
        reasons.append(f"max_changes {limits.max_changes}")
    if len(kept) > allowed_pct:
        reasons.append(f"max_changes_pct {pct:.0%} of {population} = {allowed_pct}")
    if not reasons:
        return
    key = make_dedupe_key("blast_radius", settings.profile_id, rule.name)
    note = f"blast radius: {len(kept)} changes over {' and '.join(reasons)}; whole batch held"
    plan.reviews.append(
        ReviewRequest(
            "guardrail",
            "warning",
            key,
            f"{rule.name}: {note}",
            rule.name,
            evidence={"changes": len(kept), "population": population},
            held=_hold(kept, key, note),
        )
    )


def _direction(p: Proposal) -> int:
    """+1 raises the value, -1 lowers it (pausing counts as lowering), 0 otherwise."""
    old, new = p.old_value, p.new_value
    if isinstance(old, Decimal) and isinstance(new, Decimal):
        return (new > old) - (new < old)
    if p.field == "state" and old != new:
        return -1 if new == "paused" else 1
    return 0


def _resolve_conflicts(proposals: list[Proposal], plan: Plan, settings: EngineSettings) -> None:
    """One change per entity field: higher priority wins, a tie goes to the safer value. A tie
    between opposite directions is settled safely but still reported as one ``conflict`` item
    per rule pair: two rules of equal priority pulling apart means the rule set needs a decision."""
    ties: dict[tuple[str, str, str], list[Proposal]] = defaultdict(list)
    groups: dict[tuple[str, ...], list[Proposal]] = defaultdict(list)
    for p in proposals:
        # Proposal.key, inlined for the common case: a plain field change (no creation payload).
        groups[(p.entity_kind, p.entity_id, p.field) if p.payload is None else p.key].append(p)
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda p: (-p.priority, _safer(p), p.rule_name, p.entity_id))
        winner = group[0]
        for rival in group[1:]:
            if rival.priority == winner.priority and _direction(rival) * _direction(winner) < 0:
                ties[(winner.rule_name, rival.rule_name, winner.field)].append(winner)
        for loser in group[1:]:
            loser.status, loser.superseded_by, loser.review_key = (
                "superseded",
                winner.rule_name,
                None,
            )
            loser.notes.append(
                f"superseded by rule '{winner.rule_name}' (priority {winner.priority} vs {loser.priority}, "
                f"{winner.new_value if winner.payload is None else 'same creation'})"
            )
    for (winner_rule, loser_rule, field), entities in sorted(ties.items()):
        sample = sorted({p.entity_name or p.entity_id for p in entities})
        plan.reviews.append(
            ReviewRequest(
                "conflict",
                "info",
                make_dedupe_key(
                    "conflict", settings.profile_id, f"{winner_rule}|{loser_rule}", field
                ),
                f"rules '{winner_rule}' and '{loser_rule}' (same priority) pull {field} in opposite "
                f"directions on {len(entities)} entities; the safer value won. Give them distinct "
                "priorities.",
                rule_name=loser_rule,
                evidence={"entities": len(entities), "sample": sample[:10], "winner": winner_rule},
            )
        )
