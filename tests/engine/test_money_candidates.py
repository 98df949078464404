"""Bid and budget rules build the same plan with the column-wise money step as row by row."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidagent.engine import Plan, actions, evaluate, load_rule_set
from bidagent.engine.actions import Candidates, Limits
from bidagent.engine.evidence import evidence_of
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.ruleset import LoadedRule
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import build_inputs, build_settings

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)

# Relative and expression actions, ties and exact no-changes, nulls (no sales: acos is null),
# bounds from the rule, max_step and approval thresholds.
RULES = """rules:
  - {name: cut, entity: keyword, when: clicks >= 5, then: {bid: '-20%'}, limits: {min_bid: 0.105}}
  - {name: acos, entity: keyword, when: clicks >= 3, then: {bid: bid * target_acos / acos},
     limits: {max_step: 0.2, min_bid: 0.1, max_bid: 5}, priority: 2}
  - {name: same, entity: keyword, when: clicks >= 8, then: {bid: bid * 1.001}, priority: 3}
  - {name: half, entity: keyword, when: clicks >= 2, then: {bid: bid + 0.005}, priority: 4,
     approval: {over: 0.3}}
  - {name: big, entity: keyword, when: clicks >= 1, then: {bid: bid * 3}, priority: 5,
     limits: {max_step: 0.25, max_bid: 2.345}, approval: {over: 1.5}}
  - {name: budget, entity: campaign, when: cost >= 0, then: {budget: budget * 1.15},
     limits: {max_step: 0.1}}
"""


def _case(seed: int) -> Case:
    rng = random.Random(seed)
    bids = [None, 0.125, 0.135, 0.1, 0.105, 2.345, 5.0, 0.02]
    targets = []
    for i in range(150):
        bid = rng.choice(
            [*bids, round(rng.uniform(0.02, 6), rng.choice([2, 3])), rng.uniform(0, 8)]
        )
        target = {"entity_id": f"k{i}", "ad_group_id": f"g{i % 5}", "keyword_text": f"kw {i}"}
        targets.append({**target, "bid": bid} if bid is not None else target)
    facts = [
        {"entity_id": f"k{i}", "days": 7, "clicks": rng.randint(0, 20),
         "cost": round(rng.uniform(0, 40), 2), "orders": rng.choice([0, 0, 1, 3]),
         "sales": rng.choice([0.0, round(rng.uniform(0, 90), 2)])}
        for i in range(150)
    ]  # fmt: skip
    facts += [{"entity_id": f"c{c}", "days": 7, "cost": 10.0 * c} for c in range(4)]
    campaigns = [
        {"entity_id": f"c{c}", "budget": rng.choice([1.0, 10.005, 99.99, 123.456, 1e6])}
        for c in range(4)
    ]
    return Case.model_validate(
        {
            "name": "money",
            "expect": {},
            "entities": {
                "campaigns": campaigns,
                "ad_groups": [{"entity_id": f"g{g}", "campaign_id": f"c{g % 4}"} for g in range(5)],
                "targets": targets,
            },
            "facts": facts,
        }
    )


def _row_by_row(
    rule: LoadedRule,
    ordered: pl.DataFrame,
    engine_settings: EngineSettings,
    limits: Limits,
    out: Candidates,
) -> None:
    """The definition: one row at a time through ``_proposal`` and ``limit_step``."""
    for row in ordered.iter_rows(named=True):
        evidence = evidence_of(row, rule.names)
        proposal = actions._proposal(rule, row, evidence, engine_settings, out, limits)
        if proposal is not None:
            out.proposals.append(proposal)


def _plans(tmp_path: Path, seed: int, country: str, monkeypatch: pytest.MonkeyPatch) -> list[Plan]:
    (tmp_path / "r.yaml").write_text(RULES)
    rule_set = load_rule_set([tmp_path])
    # No blast-radius or cycle cap, so approvals and the step limit decide statuses.
    caps = {"max_changes_pct": 1.0, "max_changes_per_cycle": 10_000}
    engine_settings = build_settings({"country_code": country, "guardrails": caps})
    inputs = build_inputs(_case(seed), engine_settings, NOW)
    columns = evaluate(rule_set, inputs, engine_settings, NOW)
    with monkeypatch.context() as patch:
        patch.setattr(actions, "_money_candidates", _row_by_row)
        rows = evaluate(rule_set, inputs, engine_settings, NOW)
    return [columns, rows]


def _exact(plan: Plan) -> list[Any]:
    """The whole plan with values by type and repr (Decimal 0.4 and 0.40 differ here)."""
    proposals = [
        (p, type(p.old_value), repr(p.old_value), repr(p.new_value), list(p.evidence))
        for p in plan.proposals
    ]
    return [proposals, plan.skips, plan.reviews, plan.base_bid_updates]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=2**32), country=st.sampled_from(["US", "JP"]))
def test_column_wise_plan_equals_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, country: str
) -> None:
    """Proposals (values, notes, evidence, statuses), skips and review items are identical."""
    columns, rows = _plans(tmp_path, seed, country, monkeypatch)
    assert _exact(columns) == _exact(rows)


def test_the_comparison_sees_every_kind_of_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data above reaches proposals, no-change and null-action skips, notes of every kind."""
    columns, _ = _plans(tmp_path, 7, "US", monkeypatch)
    reasons = {s.reason for s in columns.skips}
    notes = {n.split(":")[0].split(" ")[0] for p in columns.proposals for n in p.notes[1:]}
    assert (len(columns.proposals) > 100, reasons >= {"no_change", "null_action"}) == (True, True)
    assert notes >= {"floor", "ceiling", "step"}
    assert {r.kind for r in columns.reviews} >= {"approval"}
