"""Evaluation: conflicts, blast radius, the global cap, modes, and determinism."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bidagent.engine import EngineInputs, Plan, evaluate, load_rule_set
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import build_inputs, build_settings

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)


def _plan(tmp_path: Path, rules: str, case: dict[str, Any], **settings: Any) -> Plan:
    (tmp_path / "r.yaml").write_text("rules:\n" + rules)
    rule_set = load_rule_set([tmp_path])
    engine_settings = build_settings(settings)
    parsed = Case.model_validate({"name": "t", "expect": {}, **case})
    return evaluate(rule_set, build_inputs(parsed, engine_settings, NOW), engine_settings, NOW)


def _keywords(n: int, clicks: int = 20) -> dict[str, Any]:
    return {
        "entities": {
            "ad_groups": [{"entity_id": "g1", "campaign_id": "c1"}],
            "targets": [
                {"entity_id": f"k{i}", "ad_group_id": "g1", "keyword_text": f"kw {i}", "bid": 1.0}
                for i in range(n)
            ],
        },
        "facts": [
            {"entity_id": f"k{i}", "days": 14, "clicks": clicks, "cost": 10} for i in range(n)
        ],
    }


DOWN = "  - {name: down, entity: keyword, when: clicks >= 15, then: {bid: '-20%'}, priority: 1}\n"
UP = "  - {name: up, entity: keyword, when: clicks >= 15, then: {bid: '+10%'}, priority: 2}\n"
TIE = "  - {name: tie, entity: keyword, when: clicks >= 15, then: {bid: '-10%'}, priority: 1}\n"


def test_higher_priority_wins_and_loser_is_superseded(tmp_path: Path) -> None:
    """At most one change per entity field; the loser is kept as superseded naming the winner."""
    plan = _plan(tmp_path, DOWN + UP, _keywords(1))
    got = sorted((p.rule_name, p.status, p.new_value, p.superseded_by) for p in plan.proposals)
    assert got == [
        ("down", "superseded", Decimal("0.80"), "up"),
        ("up", "planned", Decimal("1.10"), None),
    ]


def test_tie_goes_to_the_safer_value(tmp_path: Path) -> None:
    """With equal priority the lower bid wins."""
    plan = _plan(tmp_path, DOWN + TIE, _keywords(1))
    got = sorted((p.rule_name, p.status) for p in plan.proposals)
    assert got == [("down", "planned"), ("tie", "superseded")]


RAISE_TIE = (
    "  - {name: raise, entity: keyword, when: clicks >= 15, then: {bid: '+10%'}, priority: 1}\n"
)


def test_equal_priority_opposite_directions_raise_one_conflict_item(tmp_path: Path) -> None:
    """A tie between a cut and a raise goes to the cut, and one conflict item names the pair."""
    plan = _plan(tmp_path, DOWN + RAISE_TIE, _keywords(3))
    assert sorted({(p.rule_name, p.status) for p in plan.proposals}) == [
        ("down", "planned"),
        ("raise", "superseded"),
    ]
    conflicts = [(r.kind, r.dedupe_key, r.evidence["entities"]) for r in plan.reviews]
    assert conflicts == [("conflict", "conflict:test-profile:down|raise:bid", 3)]


def test_same_direction_tie_is_not_a_conflict(tmp_path: Path) -> None:
    """Two cuts of equal priority are settled without a review item."""
    plan = _plan(tmp_path, DOWN + TIE, _keywords(2))
    assert [r.kind for r in plan.reviews] == []


def test_max_changes_holds_the_whole_batch(tmp_path: Path) -> None:
    """More selected than max_changes holds every change in one review item, never the first N."""
    rule = "  - {name: down, entity: keyword, when: clicks >= 15, then: {bid: '-20%'}, limits: {max_changes: 2}}\n"
    plan = _plan(tmp_path, rule, _keywords(3))
    assert [p.status for p in plan.proposals] == ["held"] * 3
    assert [(r.kind, r.dedupe_key, len(r.held)) for r in plan.reviews] == [
        ("guardrail", "blast_radius:test-profile:down", 3)
    ]


def test_global_cap_trips_the_circuit_breaker(tmp_path: Path) -> None:
    """More planned changes than max_changes_per_cycle hold the whole cycle."""
    plan = _plan(tmp_path, DOWN, _keywords(4), guardrails={"max_changes_per_cycle": 3})
    assert [p.status for p in plan.proposals] == ["held"] * 4
    assert [(r.kind, r.severity, len(r.held)) for r in plan.reviews] == [
        ("circuit_breaker", "critical", 4)
    ]


def test_rule_mode_never_looser_than_global(tmp_path: Path) -> None:
    """A rule in apply mode under a global dry_run only records dry_run changes."""
    rule = DOWN.replace("priority: 1", "priority: 1, mode: apply")
    plan = _plan(tmp_path, rule, _keywords(1), mode="dry_run")
    assert [(p.status, p.review_key) for p in plan.proposals] == [("dry_run", None)]
    assert plan.reviews == []


def test_approval_over_holds_large_steps(tmp_path: Path) -> None:
    """A step over approval.over is held unclamped for a human."""
    rule = "  - {name: big, entity: keyword, when: clicks >= 15, then: {bid: '-60%'}, approval: {over: 0.3}}\n"
    plan = _plan(tmp_path, rule, _keywords(1))
    assert [(p.status, p.new_value) for p in plan.proposals] == [("held", Decimal("0.40"))]
    assert [r.kind for r in plan.reviews] == ["approval"]


def test_max_step_clamps_without_approval(tmp_path: Path) -> None:
    """Without approval, a step over max_step is clamped to it and noted."""
    rule = "  - {name: big, entity: keyword, when: clicks >= 15, then: {bid: '-60%'}, limits: {max_step: 0.25}}\n"
    plan = _plan(tmp_path, rule, _keywords(1))
    assert [(p.status, p.new_value) for p in plan.proposals] == [("planned", Decimal("0.75"))]
    assert plan.proposals[0].notes[-1] == "step: 0.4 limited to 0.75 (max_step 25%)"


def test_null_action_changes_nothing(tmp_path: Path) -> None:
    """An action that yields null (no sales -> null acos) is a skip, not a change."""
    rule = "  - {name: n, entity: keyword, when: clicks >= 15, then: {bid: bid * 0.3 / acos}}\n"
    plan = _plan(tmp_path, rule, _keywords(1))
    assert plan.proposals == []
    assert [(s.reason, s.entity_id) for s in plan.skips] == [("null_action", "k0")]


def test_evidence_holds_every_name_used(tmp_path: Path) -> None:
    """Evidence records the values of every name in when and then."""
    rule = (
        "  - {name: e, entity: keyword, when: clicks >= 15 and cpc > 0.1, then: {bid: bid * 0.9}}\n"
    )
    plan = _plan(tmp_path, rule, _keywords(1))
    assert plan.proposals[0].evidence == {"clicks": 20.0, "cpc": 0.5, "bid": 1.0}


def test_evaluation_is_deterministic(tmp_path: Path) -> None:
    """The same inputs give the same plan."""
    first = _plan(tmp_path, DOWN + UP, _keywords(5))
    second = _plan(tmp_path, DOWN + UP, _keywords(5))
    assert first == second


def test_empty_inputs_give_a_data_review(tmp_path: Path) -> None:
    """With no report data at all, a metric rule stops and raises a data review item."""
    (tmp_path / "r.yaml").write_text("rules:\n" + DOWN)
    settings = build_settings({})
    plan = evaluate(load_rule_set([tmp_path]), EngineInputs.empty(), settings, NOW)
    assert [(r.kind, r.rule_name) for r in plan.reviews] == [("data", "down")]
    assert plan.counts() == {
        "planned": 0,
        "held": 0,
        "dry_run": 0,
        "superseded": 0,
        "reviews": 1,
        "skips": 1,
    }


def test_naive_now_is_refused(tmp_path: Path) -> None:
    """now must be timezone-aware: the engine never guesses a clock."""
    (tmp_path / "r.yaml").write_text("rules:\n" + DOWN)
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(
            load_rule_set([tmp_path]),
            EngineInputs.empty(),
            build_settings({}),
            datetime(2024, 6, 20),
        )


def test_plan_order_and_values_do_not_depend_on_input_row_order(tmp_path: Path) -> None:
    """Shuffled entity and fact rows (as joins and parallel sums may deliver them) give the same
    plan, proposal for proposal: the order of proposals is the order of API batches and of
    created entities, so a backtest replays the same way every time."""
    n = 3_000
    case = {
        "entities": {
            "ad_groups": [{"entity_id": f"g{g}", "campaign_id": f"c{g % 7}"} for g in range(40)],
            "targets": [
                {"entity_id": f"k{i}", "ad_group_id": f"g{i % 40}", "keyword_text": f"kw {i}",
                 "bid": round(0.3 + (i % 97) / 50, 2)}
                for i in range(n)
            ],
        },
        "facts": [
            {"entity_id": f"k{i}", "days": 14, "clicks": 10 + i % 23,
             "cost": round(3.1 + (i % 89) * 0.37, 2), "orders": 1 + i % 4,
             "sales": round(9.7 + (i % 53) * 1.13, 2)}
            for i in range(n)
        ],
    }  # fmt: skip
    rules = (
        "  - {name: to-target, entity: keyword, when: orders >= 1,"
        " then: {bid: bid * target_acos / acos}, limits: {max_step: 0.5}}\n"
    )
    (tmp_path / "r.yaml").write_text("rules:\n" + rules)
    rule_set = load_rule_set([tmp_path])
    engine_settings = build_settings(
        {"guardrails": {"max_changes_pct": 1.0, "max_changes_per_cycle": 10_000}}
    )
    inputs = build_inputs(
        Case.model_validate({"name": "t", "expect": {}, **case}), engine_settings, NOW
    )
    shuffled = replace(
        inputs,
        targets=inputs.targets.sample(fraction=1.0, shuffle=True, seed=3),
        facts=inputs.facts.sample(fraction=1.0, shuffle=True, seed=5),
    )
    first = evaluate(rule_set, inputs, engine_settings, NOW)
    second = evaluate(rule_set, shuffled, engine_settings, NOW)
    assert len(first.proposals) > 2_000
    assert first == second
