"""Compiled rules: a validated :class:`Rule` plus its compiled expressions and resolved names.

Owns the meaning checks that need the name catalogue (names exist for the entity, types fit, the action
fits the entity, schedules parse) and the :class:`RuleSet` the engine evaluates. It must not read
files: :mod:`bidagent.engine.loader` does that and turns the problems found here into file positions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from bidagent.engine import cron
from bidagent.engine.destinations import template_problem
from bidagent.engine.expressions import Compiled, ExpressionError, compile_expression
from bidagent.engine.names import NameSpec, resolve_name, suggest
from bidagent.engine.schema import Rule, days_of, is_relative
from bidagent.vocabulary import RULE_ENTITIES, RULE_ENTITY_KINDS

__all__ = ["LoadedRule", "RuleSet", "SemanticProblem", "compile_rule"]

_TARGETS = {"keyword", "product_target", "target"}
_ACTION_ENTITIES: dict[str, set[str]] = {
    "bid": _TARGETS | {"ad_group"},
    "budget": {"campaign"},
    "state": _TARGETS | {"ad_group", "campaign"},
    "negate": {"search_term"},
    "harvest": {"search_term"},
    "review": set(RULE_ENTITIES),
}


MAX_RELATIVE = 10_000.0  # "+10000%" or "+10000" (money): past any sane step; keeps steps finite
MAX_FORMAT_WIDTH = 100  # a width or precision in a review message; bounds the summary it builds
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SPEC = re.compile(
    r"^(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>[0-9]*)[,_]?(?:\.(?P<precision>[0-9]+))?(?P<type>[a-zA-Z%]?)$",
    re.DOTALL,
)
# Values reach the template as floats, ints (counts), text or booleans; these codes format them
# all: no 'd' (a float refuses it) and no 'c' (a large count is not a character).
_TYPES = {"num": ("", "e", "E", "f", "F", "g", "G", "n", "%"), "text": ("", "s"), "bool": ("",)}
_SAMPLES: dict[str, tuple[Any, ...]] = {
    "num": (0, 12, -1.5, 1e15, float("nan")),
    "text": ("x",),
    "bool": (True,),
}


@dataclass(frozen=True)
class SemanticProblem:
    """A meaning problem at a path inside the rule mapping (plus a column offset in the value)."""

    path: tuple[Any, ...]
    message: str
    offset: int | None = None


@dataclass
class LoadedRule:
    """A rule ready to evaluate."""

    rule: Rule
    file: str
    file_hash: str
    line: int
    filter: Compiled | None
    when: Compiled
    value: Compiled | None  # bid/budget expression, or the harvest bid
    relative: tuple[str, float] | None  # ("pct" | "abs", signed amount)
    message_names: list[str]
    specs: dict[str, NameSpec]
    schedule: cron.Cron | None = None
    until: cron.Cron | timedelta | None = None

    @cached_property
    def name(self) -> str:
        """The rule's unique name."""
        return self.rule.name

    @cached_property
    def action(self) -> str:
        """The action kind (bid, budget, state, negate, harvest, review)."""
        return self.rule.then.kind

    @cached_property
    def field(self) -> str | None:
        """The entity field this rule changes (None for review rules)."""
        kind = self.action
        if kind == "bid":
            return "default_bid" if self.rule.entity == "ad_group" else "bid"
        return {"budget": "budget", "state": "state", "negate": "negative_keyword"}.get(
            kind, "keyword" if kind == "harvest" else None
        )

    @cached_property
    def window_days(self) -> int:
        """Days in the rule's own window."""
        return days_of(self.rule.window)

    @cached_property
    def names(self) -> list[str]:
        """Every name the rule reads, in order, without repeats."""
        return list(self.specs)


@dataclass
class RuleSet:
    """A whole, valid set of rules and the hash of the files it came from."""

    rules: list[LoadedRule]
    hash: str
    files: list[str] = field(default_factory=list)

    def get(self, name: str) -> LoadedRule:
        """The rule with this name; ``KeyError`` if there is none."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)


def _resolver(entity: str, window_days: int, scheduled: bool) -> Callable[[str], NameSpec]:
    def resolve(name: str) -> NameSpec:
        try:
            return resolve_name(name, entity, window_days, scheduled=scheduled)
        except KeyError as exc:
            message = str(exc.args[0])
            hint = suggest(name, entity, scheduled=scheduled)
            if name != name.lower() and message.startswith("unknown"):
                try:
                    resolve_name(name.lower(), entity, window_days, scheduled=scheduled)
                    hint = name.lower()
                except KeyError:
                    pass
            if hint and hint == name.lower() != name and message.startswith("unknown"):
                message += f" (names are lower case: write '{hint}')"
            elif hint and hint != name and message.startswith("unknown"):
                message += f" (did you mean '{hint}'?)"
            raise KeyError(message) from None

    return resolve


def _window_days(raw: dict[str, Any]) -> int:
    try:
        return days_of(raw.get("window", "14d")) or 14
    except (ValueError, TypeError):
        return 14


def compile_rule(
    raw: dict[str, Any],
) -> tuple[dict[str, Any], list[SemanticProblem]]:
    """Compile the expressions of a raw rule mapping, collecting every problem.

    Works on raw data so meaning problems are found even when pydantic rejected another field.
    """
    problems: list[SemanticProblem] = []
    out: dict[str, Any] = {"specs": {}, "message_names": []}
    entity = raw.get("entity")
    if not isinstance(entity, str) or entity not in RULE_ENTITY_KINDS:
        return out, problems  # pydantic reports the bad entity
    scheduled = raw.get("schedule") is not None
    resolve = _resolver(entity, _window_days(raw), scheduled)
    then: dict[str, Any] = raw["then"] if isinstance(raw.get("then"), dict) else {}

    def one(path: tuple[Any, ...], source: Any, expect: str | None) -> Compiled | None:
        if isinstance(source, bool) or not isinstance(source, str | int | float):
            return None
        try:
            compiled = compile_expression(str(source), resolve, expect=expect)  # type: ignore[arg-type]
        except ExpressionError as exc:
            problems.append(SemanticProblem(path, f"{path[-1]}: {exc.message}", exc.offset))
            return None
        for name in compiled.names:
            out["specs"][name] = resolve(name)
        return compiled

    if raw.get("filter") is not None:
        out["filter"] = one(("filter",), raw["filter"], "bool")
    if raw.get("when") is not None:
        out["when"] = one(("when",), raw["when"], "bool")
    kinds = [k for k in ("bid", "budget", "state", "negate", "harvest", "review") if k in then]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind and entity not in _ACTION_ENTITIES[kind]:
        allowed = ", ".join(sorted(_ACTION_ENTITIES[kind]))
        problems.append(
            SemanticProblem(
                ("then", kind), f"then: '{kind}' applies to {allowed} rules, not {entity}", None
            )
        )
    if kind in ("bid", "budget"):
        value = then[kind]
        if is_relative(value):
            text = str(value).strip()
            amount = float(text.rstrip("%"))
            if abs(amount) > MAX_RELATIVE:
                problems.append(
                    SemanticProblem(
                        ("then", kind), f"then: a relative step is at most {MAX_RELATIVE:,.0f}"
                    )
                )
            out["relative"] = ("pct", amount / 100) if text.endswith("%") else ("abs", amount)
        else:
            out["value"] = one(("then", kind), value, "num")
    if kind == "harvest" and isinstance(then.get("harvest"), dict):
        out["value"] = one(("then", "harvest", "bid"), then["harvest"].get("bid"), "num")
        for key in ("ad_group", "campaign"):
            template = then["harvest"].get(key)
            problem = template_problem(template) if isinstance(template, str) else None
            if problem is not None:
                problems.append(SemanticProblem(("then", "harvest", key), f"{key}: {problem}"))
    if kind == "review" and isinstance(then.get("review"), dict):
        message = then["review"].get("message")
        if isinstance(message, str):
            _check_message(message, resolve, out, problems)
    if scheduled:
        _check_schedule(raw, kind, entity, out, problems)
    _check_limits(raw, kind, problems)
    return out, problems


def _check_message(
    message: str,
    resolve: Callable[[str], NameSpec],
    out: dict[str, Any],
    problems: list[SemanticProblem],
) -> None:
    """A review message is a template of the rule's own names with bounded format specs, checked
    here so that formatting it at evaluation cannot fail nor build a huge summary."""
    where = ("then", "review", "message")
    try:
        parts = list(string.Formatter().parse(message))
    except ValueError as exc:
        problems.append(SemanticProblem(where, f"message: {exc}"))
        return
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        problem = _field_problem(name, spec or "", conversion)
        if problem is None:
            try:
                out["specs"][name] = resolve(name)
            except KeyError as exc:
                problem = str(exc.args[0])
            else:
                problem = _spec_problem(name, spec or "", out["specs"][name].kind)
                if problem is None and name not in out["message_names"]:
                    out["message_names"].append(name)
        if problem is not None:
            problems.append(SemanticProblem(where, f"message: {problem}"))


def _field_problem(name: str, spec: str, conversion: str | None) -> str | None:
    if not name or name.isdigit():
        return "positional fields such as {} are not allowed; name a value, e.g. {clicks}"
    if not _NAME.match(name):
        return f"'{{{name}}}': a field is a plain name, e.g. {{clicks}}"
    if "{" in spec or "}" in spec:
        return f"'{{{name}:{spec}}}': nested fields in a format spec are not allowed"
    if conversion is not None:
        return f"'{{{name}!{conversion}}}': conversions are not allowed"
    return None


def _spec_problem(name: str, spec: str, kind: str) -> str | None:
    shown = f"'{{{name}:{spec}}}'"
    match = _SPEC.match(spec)
    if match is None:
        return f"{shown}: not a format spec"
    for part in ("width", "precision"):
        if int(match[part] or 0) > MAX_FORMAT_WIDTH:
            return f"{shown}: {part} over {MAX_FORMAT_WIDTH}"
    if match["type"] not in _TYPES[kind]:
        allowed = ", ".join(repr(t) for t in _TYPES[kind] if t) or "none"
        return f"{shown}: format code {match['type']!r} does not fit a {kind} value ({allowed})"
    try:
        for sample in _SAMPLES[kind]:
            format(sample, spec)
    except ValueError as exc:
        return f"{shown}: {exc}"
    return None


def _check_schedule(
    raw: dict[str, Any],
    kind: str | None,
    entity: str,
    out: dict[str, Any],
    problems: list[SemanticProblem],
) -> None:
    try:
        out["schedule"] = cron.parse_cron(raw["schedule"])
    except ValueError as exc:
        problems.append(SemanticProblem(("schedule",), f"schedule: {exc}"))
    if raw.get("until") is not None:
        try:
            out["until"] = cron.parse_until(raw["until"])
        except ValueError as exc:
            problems.append(SemanticProblem(("until",), f"until: {exc}"))
    if kind != "bid" or entity not in _TARGETS:
        problems.append(
            SemanticProblem(("schedule",), "schedule: dayparting rules set target bids (then: bid)")
        )
    value = out.get("value")
    if value is not None and ({"bid", "default_bid"} & set(value.names)):
        problems.append(
            SemanticProblem(
                ("then", "bid"), "then: scheduled rules use 'base', not 'bid' (bids would compound)"
            )
        )


def _check_limits(raw: dict[str, Any], kind: str | None, problems: list[SemanticProblem]) -> None:
    limits: dict[str, Any] = raw["limits"] if isinstance(raw.get("limits"), dict) else {}
    money = {
        "bid": ("min_bid", "max_bid"),
        "harvest": ("min_bid", "max_bid"),
        "budget": ("min_budget", "max_budget"),
    }
    allowed = set(money.get(kind or "", ())) | {"max_changes", "max_changes_pct"}
    if kind in ("bid", "budget"):
        allowed.add("max_step")
    for key in limits:
        if (
            key in {"min_bid", "max_bid", "min_budget", "max_budget", "max_step"}
            and key not in allowed
        ):
            problems.append(
                SemanticProblem(("limits", key), f"limits: '{key}' does not apply to a {kind} rule")
            )
    if raw.get("approval") is not None and kind not in ("bid", "budget"):
        problems.append(
            SemanticProblem(("approval",), "approval: only bid and budget rules have steps")
        )


def build_loaded(
    rule: Rule, compiled: dict[str, Any], *, file: str, file_hash: str, line: int
) -> LoadedRule:
    """Assemble a :class:`LoadedRule` from a validated model and its compiled parts."""
    return LoadedRule(
        rule=rule,
        file=file,
        file_hash=file_hash,
        line=line,
        filter=compiled.get("filter"),
        when=compiled["when"],
        value=compiled.get("value"),
        relative=compiled.get("relative"),
        message_names=compiled["message_names"],
        specs=compiled["specs"],
        schedule=compiled.get("schedule"),
        until=compiled.get("until"),
    )
