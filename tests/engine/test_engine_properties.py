"""Property tests: guardrail invariants, all-or-nothing limits, determinism, a loader that never crashes."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidagent.engine import evaluate, load_rule_set
from bidagent.engine.expressions import ExpressionError, compile_expression
from bidagent.engine.guardrails import PCT_FLOOR
from bidagent.engine.money import Bounds, limit_step
from bidagent.engine.names import resolve_name
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import build_inputs, build_settings

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)
STEP = Decimal("0.01")
money = st.floats(min_value=0.02, max_value=1000, allow_nan=False)


@given(
    old=money,
    raw=st.floats(min_value=-10, max_value=5000, allow_nan=False),
    low=st.floats(min_value=0.02, max_value=5),
    span=st.floats(min_value=0.05, max_value=100),
    max_step=st.floats(min_value=0.01, max_value=1.0),
)
def test_never_outside_bounds_nor_over_max_step(
    old: float, raw: float, low: float, span: float, max_step: float
) -> None:
    """Within the bounds an old value stays; the new value never leaves them nor steps over max_step."""
    low = float(Decimal(repr(low)).quantize(STEP))
    high = float(Decimal(repr(low + span)).quantize(STEP))
    old = float(Decimal(repr(min(max(old, low), high))).quantize(STEP))
    result = limit_step(old, raw, Bounds(low, high, "config", "config"), max_step, None, STEP)
    assert Decimal(repr(low)) <= result.value <= Decimal(repr(high))
    assert abs(float(result.value) - old) / old <= max_step + 1e-9


def _keywords(n: int) -> Case:
    return Case.model_validate(
        {
            "name": "p",
            "expect": {},
            "entities": {
                "ad_groups": [{"entity_id": "g1", "campaign_id": "c1"}],
                "targets": [
                    {
                        "entity_id": f"k{i}",
                        "ad_group_id": "g1",
                        "keyword_text": f"kw{i}",
                        "bid": 1.0,
                    }
                    for i in range(n)
                ],
            },
            "facts": [
                {"entity_id": f"k{i}", "days": 14, "clicks": 15 + i % 7, "cost": 10}
                for i in range(n)
            ],
        }
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(min_value=1, max_value=30), cap=st.integers(min_value=0, max_value=30))
def test_blast_radius_is_all_or_nothing(tmp_path: Path, n: int, cap: int) -> None:
    """A rule's batch is either wholly planned or wholly held; never the first N."""
    rule = f"rules:\n  - {{name: r, entity: keyword, when: clicks >= 15, then: {{bid: '-10%'}}, limits: {{max_changes: {cap}}}}}\n"
    (tmp_path / "r.yaml").write_text(rule)
    engine_settings = build_settings({})
    plan = evaluate(
        load_rule_set([tmp_path]),
        build_inputs(_keywords(n), engine_settings, NOW),
        engine_settings,
        NOW,
    )
    statuses = {p.status for p in plan.proposals}
    assert len(plan.proposals) == n
    over = n > cap or n > max(math.ceil(0.25 * n), PCT_FLOOR)  # max_changes, then max_changes_pct
    assert statuses == ({"held"} if over else {"planned"})


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(min_value=1, max_value=12))
def test_evaluation_is_deterministic(tmp_path: Path, n: int) -> None:
    """Evaluating the same inputs twice gives equal plans."""
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - {name: a, entity: keyword, when: clicks >= 17, then: {bid: bid * 0.9}, priority: 1}\n"
        "  - {name: b, entity: keyword, when: cpc < 1, then: {bid: '+5%'}, priority: 1}\n"
    )
    rule_set = load_rule_set([tmp_path])
    engine_settings = build_settings({})
    inputs = build_inputs(_keywords(n), engine_settings, NOW)
    assert evaluate(rule_set, inputs, engine_settings, NOW) == evaluate(
        rule_set, inputs, engine_settings, NOW
    )


TOKENS = st.sampled_from(
    ["clicks", "acos", "bid", "campaign_name", "prev_cost_7d", "ordrs", "1", "0.5", "'x'", "(", ")", "[", "]",
     " and ", " or ", " not ", " < ", " == ", " in ", " if ", " else ", "+", "-", "*", "/", "**", ",", ".",
     "min(", "clamp(", "startswith(", "matches(", "lambda", "__class__", "True", "None", "{", "}", ":"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(st.text(max_size=80), st.lists(TOKENS, max_size=25).map("".join)))
def test_random_expressions_never_crash(source: str) -> None:
    """Any string either compiles or raises ExpressionError; nothing else escapes."""
    with contextlib.suppress(ExpressionError):
        compile_expression(source, lambda n: resolve_name(n, "keyword", 14))
