"""The rule-file fuzzer and the property that a rule that loads always evaluates.

Fast tier: a bounded number of cases (a few seconds). Slow tier: 2,000+ mutated and random rule
files. Each case: no exception but ``RuleSetError``, under 5 s; memory is bounded by the loader's
caps (2 MB per file, no aliases, 64 levels, 100-digit integers), which the hostile values probe.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidagent.engine.ruletests import Case
from tests.engine.rule_fuzzing import RULE_FILES, check_case, engine_case

_FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
_SLOW = settings(max_examples=2100, deadline=None, suppress_health_check=list(HealthCheck))

ENTITIES = ["keyword", "product_target", "target", "ad_group", "campaign", "search_term"]
CONDITIONS = ["clicks >= 0", "acos > 0.3", "orders == 0 and cost > 1", "cpc < 1e15",
              "roas >= 0 or ctr < 0.5", "sales / cost > 2", "cost > 10**15", "cvr >= 0"]  # fmt: skip
ACTIONS = [{"bid": "-20%"}, {"bid": "+10000%"}, {"bid": "bid * 1e15"}, {"bid": "cpc * 0"},
           {"budget": "budget * 2"}, {"budget": "+0.05"}, {"state": "paused"},
           {"negate": "exact"}, {"harvest": {"bid": "cpc"}},
           {"review": {"message": "{clicks:>100.100f} {cost:,.2f} {acos:.1%}"}}]  # fmt: skip
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**20), 10**20))


@st.composite
def plausible_rule(draw: st.DrawFn) -> str:
    """A rule close to valid, with random numbers in its limits, priority and approval."""
    import json

    rule = {
        "name": "fuzz-rule",
        "entity": draw(st.sampled_from(ENTITIES)),
        "when": draw(st.sampled_from(CONDITIONS)),
        "then": draw(st.sampled_from(ACTIONS)),
        "window": draw(st.sampled_from(["1d", "14d", "60d", "0d"])),
    }
    limits = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "min_bid",
                    "max_bid",
                    "max_step",
                    "max_changes",
                    "max_changes_pct",
                    "min_budget",
                    "max_budget",
                ]
            ),
            NUMBERS,
            max_size=3,
        )
    )
    if limits:
        rule["limits"] = limits
    if draw(st.booleans()):
        rule["approval"] = {"over": draw(NUMBERS)}
    if draw(st.booleans()):
        rule["priority"] = draw(NUMBERS)
    text = json.dumps({"rules": [rule]}, allow_nan=True)
    return text.replace("NaN", ".nan").replace("-Infinity", "-.inf").replace("Infinity", ".inf")


@_FAST
@given(text=RULE_FILES, case=engine_case())
def test_rule_file_fuzz_fast(text: str, case: Case) -> None:
    """Mutated starter files and random YAML never crash check, load or evaluation, nor hang."""
    check_case(text, case)


@_FAST
@given(text=plausible_rule(), case=engine_case())
def test_a_rule_that_loads_evaluates_on_random_inputs(text: str, case: Case) -> None:
    """Any rule that loads evaluates without an exception on random entities and facts."""
    check_case(text, case)


@pytest.mark.slow
@_SLOW
@given(text=RULE_FILES, case=engine_case())
def test_rule_file_fuzz_slow(text: str, case: Case) -> None:
    """2,100 mutated and random rule files: 0 crashes, 0 cases over 5 s."""
    check_case(text, case)


@pytest.mark.slow
@_SLOW
@given(text=plausible_rule(), case=engine_case())
def test_rules_that_load_evaluate_slow(text: str, case: Case) -> None:
    """2,100 near-valid rules: each that loads evaluates on random inputs without an exception."""
    check_case(text, case)
