"""Explain one rule on one entity: its window values, each sub-condition, and the outcome.

Owns ``explain`` and its text rendering for ``bidagent rules explain``. It runs the real evaluation
for the outcome, so what it shows is what a cycle would do. It must not read the clock or files.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from bidagent.business_dates import business_date
from bidagent.engine.evaluate import evaluate, rule_settle_days
from bidagent.engine.expressions import compile_expression, parse
from bidagent.engine.frames import WindowSums, entity_frame, rule_frame, rule_ranges
from bidagent.engine.inputs import EngineInputs, EngineSettings
from bidagent.engine.names import resolve_name
from bidagent.engine.ruleset import RuleSet

__all__ = ["Explanation", "explain"]


@dataclass
class Explanation:
    """Why a rule did what it did to one entity."""

    rule_name: str
    entity_id: str
    found: bool
    windows: dict[str, str] = field(default_factory=dict)  # metric name -> "start..end"
    values: dict[str, Any] = field(default_factory=dict)
    conditions: list[tuple[str, bool | None]] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)

    def render(self) -> str:
        """Plain text for the terminal."""
        lines = [f"rule '{self.rule_name}' on entity {self.entity_id}"]
        if not self.found:
            lines.append(
                "  entity not in the rule's scope (unknown id, archived, or another entity kind)"
            )
        if self.values:
            lines.append("values:")
            for name, value in self.values.items():
                window = f"  [{self.windows[name]}]" if name in self.windows else ""
                lines.append(f"  {name} = {_show(value)}{window}")
        if self.conditions:
            lines.append("conditions:")
            lines.extend(f"  {'yes' if ok else 'no '}  {text}" for text, ok in self.conditions)
        lines.append("outcome:")
        lines.extend(
            f"  {line}" for line in self.outcome or ["no change: the conditions do not hold"]
        )
        return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _leaves(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BoolOp):
        return [leaf for value in node.values for leaf in _leaves(value)]
    return [node]


def explain(
    rule_set: RuleSet,
    rule_name: str,
    entity_id: str,
    inputs: EngineInputs,
    settings: EngineSettings,
    now: datetime,
) -> Explanation:
    """Window values, each sub-condition's value, and the resulting change or what stopped it."""
    rule = rule_set.get(rule_name)
    inputs = inputs.conformed()
    today = business_date(now, settings.timezone)
    ranges = rule_ranges(rule, today, rule_settle_days(rule, settings))
    sums = WindowSums(inputs)
    sums.want(rule.rule.entity, ranges.values())
    entities = entity_frame(rule.rule.entity, inputs).filter(pl.col("entity_id") == entity_id)
    frame = rule_frame(rule, entities, sums, inputs, settings, ranges, now)
    out = Explanation(rule_name, entity_id, found=frame.height > 0)
    out.windows = {n: f"{s}..{e}" for n, (s, e) in ranges.items()}
    if frame.height:
        row = frame.row(0, named=True)
        out.values = {n: row.get(n) for n in rule.names}

        def resolve(name: str) -> Any:
            return resolve_name(
                name, rule.rule.entity, rule.window_days, scheduled=rule.schedule is not None
            )

        sources = [("filter", rule.rule.filter), ("when", rule.rule.when)]
        for label, source in sources:
            if not source:
                continue
            for leaf in _leaves(parse(source)):
                compiled = compile_expression(leaf, resolve)
                value = frame.select(compiled.expr.alias("v")).item()
                out.conditions.append((f"{label}: {ast.unparse(leaf)}", value))
    plan = evaluate(rule_set, inputs, settings, now, scope="all")
    for p in plan.proposals:
        if p.rule_name == rule_name and p.entity_id == entity_id:
            out.outcome.append(f"{p.status}: {p.field} {p.old_value} -> {p.new_value or p.payload}")
            out.outcome.extend(f"  {note}" for note in p.notes)
    for s in plan.skips:
        if s.rule_name == rule_name and s.entity_id in (entity_id, None):
            out.outcome.append(f"stopped by {s.reason}: {s.detail}")
    for r in plan.reviews:
        if r.rule_name == rule_name and r.entity_id in (entity_id, None) and not r.held:
            out.outcome.append(f"review item ({r.kind}, {r.severity}): {r.summary}")
    return out
