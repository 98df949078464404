"""Rule unit tests (``*.test.yaml``): given entities, daily facts and history at a fixed ``now``, the
real engine must produce exactly the expected changes and review items (promtool-style).

Owns the test-file format (see docs/rules.md), turning its compact rows into :class:`EngineInputs`,
and comparing the plan with the expectations. A missing or an extra change fails; an empty list
asserts nothing happens; a key left out is not checked. It must not print: the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bidagent.engine.evaluate import evaluate
from bidagent.engine.loader import load_rule_set
from bidagent.engine.plan import Plan
from bidagent.engine.ruleset import RuleSet
from bidagent.engine.testdata import build_inputs, build_settings
from bidagent.engine.yamlsource import read_yaml
from bidagent.errors import RuleProblem, RuleSetError, RuleTestError

__all__ = ["RuleTestCase", "TestResult", "load_test_file", "run_rule_tests"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Entities(_Model):
    """Entity rows; omitted columns get defaults (see docs/rules.md)."""

    campaigns: list[dict[str, Any]] = Field(default_factory=list)
    ad_groups: list[dict[str, Any]] = Field(default_factory=list)
    targets: list[dict[str, Any]] = Field(default_factory=list)
    search_terms: list[dict[str, Any]] = Field(default_factory=list)
    negatives: list[dict[str, Any]] = Field(default_factory=list)


class Expect(_Model):
    """Expected outcome; a missing key is not checked, an empty list asserts nothing happens."""

    changes: list[dict[str, Any]] | None = None
    reviews: list[dict[str, Any]] | None = None
    skips: list[dict[str, Any]] | None = None


class Case(_Model):
    """One test."""

    name: str
    now: datetime | None = None
    scope: Literal["daily", "daypart", "all"] = "all"
    settings: dict[str, Any] = Field(default_factory=dict)
    entities: Entities = Entities()
    facts: list[dict[str, Any]] = Field(default_factory=list)
    history: list[dict[str, Any]] = Field(default_factory=list)
    base_bids: list[dict[str, Any]] = Field(default_factory=list)
    missing_days: list[date] = Field(default_factory=list)
    reported_through: date | None = None
    expect: Expect


class TestFile(_Model):
    """A ``*.test.yaml`` file."""

    rule_files: list[str] | None = None
    now: datetime | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    tests: list[Case]


@dataclass
class RuleTestCase:
    """One runnable test case of one file."""

    file: Path
    case: Case
    defaults: TestFile
    rule_set: RuleSet

    @property
    def id(self) -> str:
        """``file::name`` as pytest and the CLI show it."""
        return f"{self.file.name}::{self.case.name}"

    def run(self) -> list[str]:
        """Run through the real engine; return the failure messages (empty = passed)."""
        now = self.case.now or self.defaults.now
        if now is None:
            return ["no 'now' given (file or test)"]
        merged = {**self.defaults.settings, **self.case.settings}
        settings = build_settings(merged)
        inputs = build_inputs(self.case, settings, now)
        plan = evaluate(self.rule_set, inputs, settings, now, scope=self.case.scope)
        return compare(plan, self.case.expect)


@dataclass
class TestResult:
    """The outcome of one case."""

    id: str
    failures: list[str]

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures


def _same(expected: Any, actual: Any) -> bool:
    if (
        isinstance(actual, Decimal)
        and isinstance(expected, int | float | str)
        and not isinstance(expected, bool)
    ):
        try:
            return Decimal(str(expected)) == actual
        except ArithmeticError:
            return False
    return bool(expected == actual) or str(expected) == str(actual)


def _change_view(p: Any) -> dict[str, Any]:
    view = {"rule": p.rule_name, "entity_id": p.entity_id, "field": p.field, "old": p.old_value,
            "new": p.new_value, "status": p.status, "superseded_by": p.superseded_by,
            "change_set": p.change_set}  # fmt: skip
    view.update(p.payload or {})
    return view


def _review_view(r: Any) -> dict[str, Any]:
    return {"kind": r.kind, "rule": r.rule_name, "entity_id": r.entity_id, "severity": r.severity,
            "summary": r.summary, "held": len(r.held)}  # fmt: skip


def _matches(spec: dict[str, Any], view: dict[str, Any]) -> bool:
    for key, want in spec.items():
        if key in ("summary", "detail"):  # text: a substring matches
            if str(want) not in str(view.get(key)):
                return False
        elif key == "status" or key in view:
            if not _same(want, view.get(key)):
                return False
        else:
            return False
    return True


def _text(value: Any) -> str:
    """A value as a test file writes it: ``0.80``, ``null``, ``true``, a bare string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, dict):
        return _flow(value)
    return str(value)


def _flow(mapping: dict[str, Any]) -> str:
    """A mapping in YAML's flow style, with no ``None`` keys the view merely lacks."""
    return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in mapping.items() if v is not None) + "}"


def _expected(want: Any, got: Any) -> str:
    """``want`` as text, money to the places of the value it is compared with (``0.80``)."""
    if isinstance(got, Decimal) and isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return format(Decimal(str(want)).quantize(got), "f")
        except ArithmeticError:
            pass
    return _text(want)


def _closest(spec: dict[str, Any], views: list[dict[str, Any]]) -> str | None:
    """How the nearest actual row (same rule and entity, most keys equal) differs from ``spec``."""
    same = [
        v
        for v in views
        if all(_same(spec[k], v.get(k)) for k in ("rule", "entity_id") if k in spec)
    ]
    if not same:
        return None
    best = max(same, key=lambda v: sum(1 for k, want in spec.items() if _same(want, v.get(k))))
    diffs = [f"{k}: expected {_expected(want, best.get(k))}, got {_text(best.get(k))}"
             for k, want in spec.items() if k != "summary" and not _same(want, best.get(k))]  # fmt: skip
    return "; ".join(diffs) or None


def _match_list(
    label: str, specs: list[dict[str, Any]], views: list[dict[str, Any]], extra_ok: Any
) -> list[str]:
    failures, left = [], list(views)
    for spec in specs:
        if label == "change" and "status" not in spec:
            spec = {**spec, "status": "planned"}
        hit = next((v for v in left if _matches(spec, v)), None)
        if hit is None:
            near = _closest(spec, left)
            failures.append(f"missing {label}: {_flow(spec)}" + (f" ({near})" if near else ""))
        else:
            left.remove(hit)
    failures.extend(f"extra {label}: {_flow(v)}" for v in left if not extra_ok(v))
    return failures


def compare(plan: Plan, expect: Expect) -> list[str]:
    """Differences between a plan and the expectations, as readable lines."""
    failures: list[str] = []
    if expect.changes is not None:
        views = [_change_view(p) for p in plan.proposals]
        failures += _match_list(
            "change", expect.changes, views, lambda v: v["status"] == "superseded"
        )
    if expect.reviews is not None:
        failures += _match_list(
            "review", expect.reviews, [_review_view(r) for r in plan.reviews], lambda v: False
        )
    if expect.skips is not None:
        views = [
            {"rule": s.rule_name, "entity_id": s.entity_id, "reason": s.reason, "detail": s.detail}
            for s in plan.skips
        ]
        failures += _match_list("skip", expect.skips, views, lambda v: True)
    return failures


def find_test_files(paths: list[Path]) -> list[Path]:
    """``*.test.yaml`` files under ``paths``.

    A rule file stands for the test file beside it (``x.yaml`` -> ``x.test.yaml``), so
    ``rules test rules/x.yaml`` runs the tests of the rule just edited; a rule file without one
    is passed on as is and fails with a message naming it.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*.test.yaml")))
            continue
        sibling = path.with_name(path.name.removesuffix(".yaml") + ".test.yaml")
        is_rule_file = path.suffix == ".yaml" and not path.name.endswith(".test.yaml")
        found.append(sibling if is_rule_file and sibling.exists() else path)
    return found


def load_test_file(path: Path) -> list[RuleTestCase]:
    """Parse a test file and load its rules; raise :class:`RuleTestError` when it is malformed."""
    try:
        located = read_yaml(path.read_text(encoding="utf-8"))
        parsed = TestFile.model_validate(located.data)
    except (OSError, yaml.YAMLError) as exc:
        raise RuleTestError(
            [RuleProblem(str(path), 1, 1, f"cannot read test file: {exc}")]
        ) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            pos = located.where(tuple(err["loc"]))
            problems.append(
                RuleProblem(
                    str(path), pos.line, pos.col, f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                )
            )
        raise RuleTestError(problems) from None
    problems = [RuleProblem(str(path), p.line, p.col, m) for p, m, _ in located.duplicates]
    if problems:
        raise RuleTestError(problems)
    stem = path.name.removesuffix(".test.yaml")
    rule_paths = [path.parent / f for f in (parsed.rule_files or [f"{stem}.yaml"])]
    rule_set = load_rule_set(rule_paths)
    return [RuleTestCase(path, case, parsed, rule_set) for case in parsed.tests]


def run_rule_tests(paths: list[Path]) -> list[TestResult]:
    """Run every case of every test file; a malformed file counts as one failed result."""
    results = []
    for path in find_test_files(paths):
        try:
            cases = load_test_file(path)
        except RuleSetError as exc:
            results.append(TestResult(f"{path.name}::(load)", [str(p) for p in exc.problems]))
            continue
        for case in cases:
            try:
                results.append(TestResult(case.id, case.run()))
            except (ValueError, KeyError, TypeError) as exc:
                results.append(
                    TestResult(case.id, [f"test data error: {type(exc).__name__}: {exc}"])
                )
    return results
