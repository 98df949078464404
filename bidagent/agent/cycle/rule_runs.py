"""What each rule did in a cycle's plan, counted for the ledger's ``cycle_rules`` table.

One row per rule the cycle evaluated (every enabled rule of the scope, also those that matched
nothing): ``matched`` is the entities the rule matched, each of which ended as a proposal
(whatever the guardrails then made of it), a skip naming the entity (no change, cooldown,
dayparting, a creation that already exists) or an alert of a review rule; ``skipped`` counts
those skips and ``skips`` splits every skip by reason; a rule stopped by stale data has one
``freshness`` skip, matched nothing, and ``note`` says why. Out of its dayparting period a
scheduled rule's restored base bids count as its proposals. It must not write SQL:
:mod:`bidagent.store.rule_runs` stores the rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import cast, get_args

from bidagent.engine import Plan, RuleSet
from bidagent.engine.evaluate import Scope, rules_in_scope
from bidagent.store import CycleRecord, Session
from bidagent.store.rule_runs import RuleRunRecord, record_rule_runs

__all__ = ["record_plan_rule_runs", "rule_run_rows"]


def rule_run_rows(
    plan: Plan, rule_set: RuleSet, scope: Scope, *, cycle_id: int, profile_id: str
) -> list[RuleRunRecord]:
    """The ``cycle_rules`` rows of ``plan``, one per rule of ``scope``, in rule-set order."""
    proposed = Counter(p.rule_name for p in plan.proposals)
    alerts = Counter(r.rule_name for r in plan.reviews if r.kind == "alert" and r.rule_name)
    skipped: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    notes: dict[str, str] = {}
    for skip in plan.skips:
        reasons[skip.rule_name][skip.reason] += 1
        if skip.entity_id is not None:
            skipped[skip.rule_name] += 1
        elif skip.reason == "freshness":
            notes.setdefault(skip.rule_name, skip.detail)
    return [
        RuleRunRecord(
            cycle_id=cycle_id,
            rule_name=rule.name,
            profile_id=profile_id,
            rule_file=rule.file,
            rule_hash=rule.file_hash,
            matched=proposed[rule.name] + skipped[rule.name] + alerts[rule.name],
            proposed=proposed[rule.name],
            skipped=skipped[rule.name],
            alerts=alerts[rule.name],
            skips=dict(sorted(reasons[rule.name].items())) or None,
            note=notes.get(rule.name),
        )
        for rule in rules_in_scope(rule_set, scope)
    ]


def record_plan_rule_runs(
    session: Session, cycle: CycleRecord, plan: Plan, rule_set: RuleSet, scope: str
) -> None:
    """Store the :func:`rule_run_rows` of ``cycle``'s plan in the caller's transaction (the
    one writing the plan)."""
    if scope not in get_args(Scope):
        raise ValueError(f"unknown cycle scope {scope!r}")
    assert cycle.id is not None, "the cycle record is claimed (inserted) before it plans"
    rows = rule_run_rows(
        plan, rule_set, cast("Scope", scope), cycle_id=cycle.id, profile_id=cycle.profile_id
    )
    record_rule_runs(session, rows)
