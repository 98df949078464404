"""Graduation pairs: a harvest and its source negative are one change set through the guardrails."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidagent.engine import Plan, Proposal, evaluate, load_rule_set
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import build_inputs, build_settings

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)
GRADUATE = (
    "  - {{name: graduate, entity: search_term, window: 30d, when: orders >= 2, priority: {p},"
    " {extra} then: {{harvest: {{bid: 0.5, campaign: '{{campaign}} Manual', negate_source: exact}}}}}}\n"
)
NEGATE = (
    "  - {{name: negate, entity: search_term, window: 30d, when: clicks >= {clicks},"
    " priority: {p}, then: {{negate: exact}}}}\n"
)
HARVEST = (
    "  - {{name: harvest, entity: search_term, window: 30d, when: orders >= 2, priority: {p},"
    " then: {{harvest: {{bid: 0.7, campaign: SP Auto 1 Manual, ad_group: Lamp 1}}}}}}\n"
)


def _terms(clicks: list[int]) -> dict[str, Any]:
    """One converting keyword term per entry (with that many clicks) in the auto ad group g1 of
    "SP Auto 1", whose manual sibling "SP Auto 1 Manual" has an ad group "Lamp 1" (g2)."""
    return {
        "entities": {
            "campaigns": [
                {"entity_id": "c1", "campaign_name": "SP Auto 1", "targeting_type": "auto"},
                {"entity_id": "c2", "campaign_name": "SP Auto 1 Manual"},
            ],
            "ad_groups": [
                {"entity_id": "g1", "campaign_id": "c1", "ad_group_name": "Lamp 1"},
                {"entity_id": "g2", "campaign_id": "c2", "ad_group_name": "Lamp 1"},
            ],
            "targets": [
                {
                    "entity_id": "t1",
                    "ad_group_id": "g1",
                    "entity_kind": "product_target",
                    "targeting": "close-match",
                    "match_type": "targeting_expression_predefined",
                }
            ],
            "search_terms": [
                {"entity_id": f"st{i}", "source_id": "t1", "search_term": f"lamp {i}"}
                for i in range(len(clicks))
            ],
        },
        "facts": [
            {"entity_id": f"st{i}", "days": 30, "clicks": c, "cost": 6, "orders": 2, "sales": 60}
            for i, c in enumerate(clicks)
        ],
    }


def _plan(tmp_path: Path, rules: str, case: dict[str, Any], **options: Any) -> Plan:
    (tmp_path / "r.yaml").write_text("rules:\n" + rules)
    engine_settings = build_settings(options)
    parsed = Case.model_validate({"name": "t", "expect": {}, **case})
    inputs = build_inputs(parsed, engine_settings, NOW)
    return evaluate(load_rule_set([tmp_path]), inputs, engine_settings, NOW)


def _sets(plan: Plan) -> dict[str, list[Proposal]]:
    sets: dict[str, list[Proposal]] = defaultdict(list)
    for p in plan.proposals:
        if p.change_set is not None:
            sets[p.change_set].append(p)
    return dict(sets)


def test_a_pair_counts_once_against_max_changes(tmp_path: Path) -> None:
    """Three graduations (six proposals) fit max_changes 3; four are held whole for review."""
    rules = GRADUATE.format(p=0, extra="limits: {max_changes: 3},")
    three = _plan(tmp_path, rules, _terms([10, 10, 10]))
    four = _plan(tmp_path, rules, _terms([10, 10, 10, 10]))
    assert [p.status for p in three.proposals] == ["planned"] * 6
    assert [p.status for p in four.proposals] == ["held"] * 8
    (review,) = four.reviews
    assert (review.kind, review.evidence, len(review.held)) == (
        "guardrail",
        {"changes": 4, "population": 4},
        8,
    )


def test_a_pair_whose_negative_loses_a_conflict_is_superseded_whole(tmp_path: Path) -> None:
    """A higher-priority negate rule makes the source negative: the harvest does not go alone,
    and a lower-priority harvest of the same keyword, no longer beaten, is planned instead."""
    rules = GRADUATE.format(p=1, extra="") + NEGATE.format(clicks=12, p=5) + HARVEST.format(p=0)
    plan = _plan(tmp_path, rules, _terms([20]))
    got = [(p.rule_name, p.field, p.status, p.superseded_by) for p in plan.proposals]
    assert sorted(got) == [
        ("graduate", "keyword", "superseded", "negate"),
        ("graduate", "negative_keyword", "superseded", "negate"),
        ("harvest", "keyword", "planned", None),
        ("negate", "negative_keyword", "planned", None),
    ]
    harvest = next(p for p in plan.proposals if p.rule_name == "graduate" and p.field == "keyword")
    assert harvest.notes[-1].startswith(
        "superseded with its change set: its partner negative_keyword negative_exact 'lamp 0' lost"
    )


def test_a_pair_that_wins_both_conflicts_supersedes_its_rivals(tmp_path: Path) -> None:
    """At the highest priority the pair is planned and each rival is superseded by it."""
    rules = GRADUATE.format(p=9, extra="") + NEGATE.format(clicks=12, p=5) + HARVEST.format(p=0)
    plan = _plan(tmp_path, rules, _terms([20]))
    got = [(p.rule_name, p.field, p.status, p.superseded_by) for p in plan.proposals]
    assert sorted(got) == [
        ("graduate", "keyword", "planned", None),
        ("graduate", "negative_keyword", "planned", None),
        ("harvest", "keyword", "superseded", "graduate"),
        ("negate", "negative_keyword", "superseded", "graduate"),
    ]


def test_one_term_through_two_targets_is_one_pair_planned_and_one_superseded(
    tmp_path: Path,
) -> None:
    """Two search-term rows of one term in one ad group are two change sets of the same changes:
    one is planned whole, the other superseded whole, and no set has more than its two halves."""
    case = _terms([10, 10])
    case["entities"]["targets"].append(
        {"entity_id": "t2", "ad_group_id": "g1", "entity_kind": "product_target",
         "targeting": "loose-match", "match_type": "targeting_expression_predefined"}
    )  # fmt: skip
    case["entities"]["search_terms"][1].update(source_id="t2", search_term="lamp 0")
    plan = _plan(tmp_path, GRADUATE.format(p=0, extra=""), case)
    sets = {
        c: sorted((p.entity_id, p.field, p.status) for p in ps) for c, ps in _sets(plan).items()
    }
    assert sets == {
        "graduate:g1:st0": [("st0", "keyword", "planned"), ("st0", "negative_keyword", "planned")],
        "graduate:g1:st1": [
            ("st1", "keyword", "superseded"),
            ("st1", "negative_keyword", "superseded"),
        ],
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    clicks=st.lists(st.integers(min_value=10, max_value=30), min_size=1, max_size=6),
    priorities=st.tuples(*[st.integers(min_value=0, max_value=2)] * 3),
    negate_at=st.integers(min_value=10, max_value=40),
    max_changes=st.none() | st.integers(min_value=0, max_value=6),
    per_cycle=st.integers(min_value=1, max_value=20),
    global_mode=st.sampled_from(["apply", "review", "dry_run"]),
    rule_mode=st.sampled_from([None, "review", "dry_run"]),
    rejected=st.sets(
        st.tuples(st.integers(0, 5), st.sampled_from(["keyword", "negative_keyword"]))
    ),
)
def test_pairs_share_their_fate_through_every_guardrail(
    tmp_path: Path,
    clicks: list[int],
    priorities: tuple[int, int, int],
    negate_at: int,
    max_changes: int | None,
    per_cycle: int,
    global_mode: str,
    rule_mode: str | None,
    rejected: set[tuple[int, str]],
) -> None:
    """Cooldowns and rejections, blast radius, conflicts, the circuit breaker and the modes never
    leave one half of a graduation: each change set is both halves with one status, held behind
    one review item, or gone with skips naming why."""
    extra = "".join(
        [f"limits: {{max_changes: {max_changes}}}," if max_changes is not None else "",
         f"mode: {rule_mode}," if rule_mode else ""]
    )  # fmt: skip
    rules = (
        GRADUATE.format(p=priorities[0], extra=extra)
        + NEGATE.format(clicks=negate_at, p=priorities[1])
        + HARVEST.format(p=priorities[2])
    )
    case = _terms(clicks)
    case["history"] = [
        {"entity_id": f"st{i}", "field": field, "ago": "1d", "rule_name": "graduate",
         "status": "rejected", "actor": "user"}
        for i, field in sorted(rejected) if i < len(clicks)
    ]  # fmt: skip
    plan = _plan(
        tmp_path, rules, case, mode=global_mode, guardrails={"max_changes_per_cycle": per_cycle}
    )
    sets = _sets(plan)
    for members in sets.values():
        assert sorted(p.field for p in members) == ["keyword", "negative_keyword"]
        assert len({p.status for p in members}) == 1, [(p.field, p.status) for p in members]
        assert len({p.review_key for p in members}) == 1
    for i in range(len(clicks)):
        made = [p for p in plan.proposals if p.rule_name == "graduate" and p.entity_id == f"st{i}"]
        skipped = {
            s.reason for s in plan.skips if s.rule_name == "graduate" and s.entity_id == f"st{i}"
        }
        assert len(made) in (0, 2)
        assert (len(made) == 0) == bool(skipped & {"rejected", "change_set"})
    for review in plan.reviews:
        held = {p.change_set for p in review.held if p.change_set is not None}
        assert all(len([p for p in review.held if p.change_set == c]) == 2 for c in held)
