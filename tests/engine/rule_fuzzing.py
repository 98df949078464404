"""Hostile rule files for the fuzzer and the property test: strategies and the one check each case passes.

A case is rule-file text. It passes when checking it returns problems or a rule set (never raises),
loading it raises nothing but ``RuleSetError``, it takes under :data:`CASE_SECONDS`, and, when it
loads, evaluating it on random engine inputs raises nothing. Memory is bounded by the loader's own
caps (file size, no aliases, nesting, integer digits), which the cases probe.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from bidagent.engine import check_rule_set, evaluate, load_rule_set
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import build_inputs, build_settings
from bidagent.errors import RuleSetError

RULES = Path(__file__).resolve().parents[2] / "rules"
STARTER = {p.name: p.read_text() for p in sorted(RULES.glob("*.yaml")) if ".test." not in p.name}
CASE_SECONDS = 5.0
NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)

HOSTILE_SCALARS = [
    ".inf", "-.inf", ".nan", "1e400", "-1e400", "9" * 5000, "-" + "9" * 40, "0", "-1", "~", "[]",
    "{}", "''", "2024-02-30", "2024-06-20", "!!binary AAAA", "!!python/object/apply:os.system [ls]",
    "&a [*a]", "*undefined", "[" * 300 + "]" * 300, "{a: " * 100 + "1" + "}" * 100, '"\\ud800"',
    "'x {} y'", "'{clicks:>{w}}'", "'{clicks:>50000000}'", "'{clicks:.99999f}'", "'{0}'",
    "'{clicks!r}'", "'{clicks.__class__}'", "'{clicks:d}'", "'{keyword_text:.2f}'", "'{{}}'",
    "'+99999999999999%'", "'-100%'", "'+1e5'", "bid * 1e300", "'1e308 * 1e308'", "cpc / 0",
    "'clicks ** 99999'", "'\"a\" * 99999'", "'(' * 500", "'not ' * 400 + 'True'", "yes", "no",
    "0x7fffffffffffffff", "0o777", "1_000", "'a' * 3000", "'\\x00'", "null", "true",
]  # fmt: skip
KEYS = ["name", "entity", "when", "then", "bid", "budget", "state", "review", "message", "limits",
        "min_bid", "max_bid", "max_step", "max_changes", "max_changes_pct", "window", "settle",
        "filter", "priority", "approval", "over", "schedule", "until", "harvest", "negate",
        "cooldown", "mode", "enabled", "rules", "<<", "? [a]", "level"]  # fmt: skip


@st.composite
def mutated_starter(draw: st.DrawFn) -> str:
    """A starter-pack file with a few random line edits, value swaps and byte noise."""
    text = STARTER[draw(st.sampled_from(sorted(STARTER)))]
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines()
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(["value", "key", "delete", "duplicate", "indent", "noise", "cut"])
        )
        line = lines[i]
        if op == "value" and ":" in line:
            lines[i] = line[: line.index(":") + 1] + " " + draw(st.sampled_from(HOSTILE_SCALARS))
        elif op == "key":
            lines[i] = " " * (len(line) - len(line.lstrip())) + draw(st.sampled_from(KEYS)) + ": "
            lines[i] += draw(st.sampled_from(HOSTILE_SCALARS))
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 9)) + line.lstrip()
        elif op == "noise":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.text(max_size=6)) + line[at:]
        else:
            lines = lines[:i]
        text = "\n".join(lines) + "\n"
    return text


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "keyword",
            "ad_group",
            "campaign",
            "search_term",
            "target",
            "product_target",
            "clicks > 1",
            "-20%",
            "+0.05",
            "14d",
            "0d",
            "paused",
            "exact",
        ]
    ),
)


def _rule_like() -> st.SearchStrategy[Any]:
    values = st.recursive(
        _SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(KEYS[:-3]), inner, max_size=5)
        ),
        max_leaves=12,
    )
    return st.dictionaries(st.sampled_from(KEYS[:-3]), values, max_size=10)


@st.composite
def random_yaml(draw: st.DrawFn) -> str:
    """Random YAML: a ``rules:`` list of rule-like mappings, or any document at all."""
    if draw(st.booleans()):
        data: Any = {"rules": draw(st.lists(_rule_like(), max_size=4))}
    else:
        data = draw(
            st.recursive(
                _SCALARS,
                lambda i: (
                    st.lists(i) | st.dictionaries(_SCALARS.filter(lambda k: isinstance(k, str)), i)
                ),
                max_leaves=20,
            )
        )
    return yaml.safe_dump(data, allow_unicode=True)


RULE_FILES = st.one_of(mutated_starter(), random_yaml())

_IDS = {"campaigns": "c", "ad_groups": "g", "targets": "k", "search_terms": "s"}
_COUNT = st.integers(min_value=0, max_value=10**9)
_MONEY = st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e7, allow_nan=False))


@st.composite
def engine_case(draw: st.DrawFn) -> Case:
    """Random entities and facts of every kind, as a rule test's case (built by engine/testdata)."""
    bid = st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
    targets = [
        {"entity_id": "k1", "ad_group_id": "g1", "keyword_text": draw(st.text(max_size=20)),
         "bid": draw(bid)},
        {"entity_id": "p1", "ad_group_id": "g1", "bid": draw(bid)},
    ]  # fmt: skip
    facts = [
        {"entity_id": entity, "days": draw(st.integers(1, 30)), "impressions": draw(_COUNT),
         "clicks": draw(_COUNT), "orders": draw(_COUNT), "units": draw(_COUNT),
         "cost": draw(_MONEY), "sales": draw(_MONEY)}
        for entity in draw(st.lists(st.sampled_from(["k1", "p1", "g1", "c1", "s1"]), max_size=5, unique=True))
    ]  # fmt: skip
    return Case.model_validate(
        {
            "name": "fuzz",
            "entities": {
                "campaigns": [{"entity_id": "c1", "budget": draw(_MONEY)}],
                "ad_groups": [{"entity_id": "g1", "campaign_id": "c1", "default_bid": draw(bid)}],
                "targets": targets,
                "search_terms": [{"entity_id": "s1", "source_id": "k1", "search_term": "red"}],
            },
            "facts": facts,
            "expect": {},
        }
    )


def check_case(text: str, case: Case | None = None) -> str:
    """Run one rule file through check, load and (when it loads) evaluate; return the outcome.

    Fails the test on any exception other than ``RuleSetError`` and on a case over 5 s.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "fuzz.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        check_rule_set([Path(folder)])
        try:
            rule_set = load_rule_set([Path(folder)])
        except RuleSetError as exc:
            if not exc.problems:
                raise AssertionError("a RuleSetError lists its problems") from exc
            outcome = "rejected"
        else:
            outcome = "loaded"
            if case is not None:
                settings = build_settings({})
                evaluate(rule_set, build_inputs(case, settings, NOW), settings, NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < CASE_SECONDS, f"case took {elapsed:.1f}s"
    return outcome
