"""Load rule files: find them, parse YAML with positions, validate, compile, report every problem.

Owns ``load_rule_set`` and ``check_rule_set``: the all-or-nothing gate a rule set passes before the
engine sees it. Every problem carries ``file:line:col`` and the rule name; nothing stops at the first.
It must not evaluate rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bidagent.engine.directions import rule_directions
from bidagent.engine.ruleset import LoadedRule, RuleSet, build_loaded, compile_rule
from bidagent.engine.schema import Rule
from bidagent.engine.yamlsource import MAX_YAML_CHARS, Located, Position, read_yaml
from bidagent.errors import RuleProblem, RuleSetError
from bidagent.vocabulary import MONEY_FIELDS, RULE_ENTITY_KINDS

__all__ = ["MAX_FILE_BYTES", "check_rule_set", "find_rule_files", "load_rule_set"]

MAX_FILE_BYTES = MAX_YAML_CHARS  # bytes read before parsing; see yamlsource for what it bounds


def find_rule_files(paths: Sequence[Path]) -> list[Path]:
    """Rule files under ``paths``: ``*.yaml`` in folders (recursively), not ``*.test.yaml``."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*.yaml")) if not p.name.endswith(".test.yaml")
            )
        else:
            found.append(path)
    return sorted(dict.fromkeys(found))


def _offset_position(pos: Position, offset: int | None) -> tuple[int, int]:
    if offset is None or pos.style in ("|", ">"):
        return pos.line, pos.col
    return pos.line, pos.col + offset + (1 if pos.style in ("'", '"') else 0)


def _rule_name_at(data: Any, path: tuple[Any, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(data, dict):
        try:
            name = data["rules"][path[1]].get("name")
        except (IndexError, KeyError, TypeError, AttributeError):
            return None
        return name if isinstance(name, str) else None
    return None


def _pydantic_problems(
    exc: ValidationError, located: Located, base: tuple[Any, ...], file: str, rule: str | None
) -> list[RuleProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = base + loc
        dotted = ".".join(str(p) for p in loc) or "rule"
        if error["type"] == "extra_forbidden":
            pos = located.where(path, key=True)
            message = f"unknown field '{loc[-1]}'"
            if len(loc) > 1:
                message += f" in '{'.'.join(str(p) for p in loc[:-1])}'"
        elif error["type"] == "missing":
            pos = located.where(path[:-1])
            message = f"missing field '{dotted}'"
        else:
            pos = located.where(path)
            text = str(error["msg"]).removeprefix("Value error, ")
            message = f"{dotted}: {text}"
        problems.append(RuleProblem(file, pos.line, pos.col, message, rule))
    return problems


def _read_capped(path: Path) -> bytes:
    """At most one byte past the cap: a huge file is refused without being read whole."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _load_file(
    path: Path, seen: dict[str, str]
) -> tuple[list[LoadedRule], list[RuleProblem], bytes]:
    file = str(path)
    try:
        content = _read_capped(path)
    except OSError as exc:
        return [], [RuleProblem(file, 1, 1, f"cannot read: {exc.strerror}")], b""
    if len(content) > MAX_FILE_BYTES:
        return [], [RuleProblem(file, 1, 1, f"file larger than {MAX_FILE_BYTES:,} bytes")], b""
    try:
        rules, problems = _load_text(file, content, seen)
    except (RecursionError, MemoryError) as exc:  # the caps above should make these unreachable
        rules, problems = (
            [],
            [RuleProblem(file, 1, 1, f"too complex to load ({type(exc).__name__})")],
        )
    return rules, problems, content


def _load_text(
    file: str, content: bytes, seen: dict[str, str]
) -> tuple[list[LoadedRule], list[RuleProblem]]:
    file_hash = hashlib.sha256(content).hexdigest()
    try:
        located = read_yaml(content.decode("utf-8"))
    except UnicodeDecodeError:
        return [], [RuleProblem(file, 1, 1, "not UTF-8 text")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or " ".join(str(exc).split())
        return [], [RuleProblem(file, line, col, f"not valid YAML: {reason}")]
    data = located.data
    problems = [
        RuleProblem(file, p.line, p.col, msg, _rule_name_at(data, path))
        for p, msg, path in located.duplicates
    ]
    if data is None:
        return [], problems
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        return [], [
            *problems,
            RuleProblem(file, 1, 1, "a rule file is a mapping with a 'rules:' list"),
        ]
    for key in data:
        if key != "rules":
            pos = located.where((key,), key=True)
            problems.append(RuleProblem(file, pos.line, pos.col, f"unknown field '{key}'"))
    rules: list[LoadedRule] = []
    for index, raw in enumerate(data.get("rules") or []):
        base = ("rules", index)
        here = located.where(base)
        if not isinstance(raw, dict):
            problems.append(RuleProblem(file, here.line, here.col, "a rule is a mapping"))
            continue
        name = raw.get("name") if isinstance(raw.get("name"), str) else None
        found = len(problems)
        compiled, meaning = compile_rule(raw)
        for problem in meaning:
            line, col = _offset_position(located.where(base + problem.path), problem.offset)
            problems.append(RuleProblem(file, line, col, problem.message, name))
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, located, base, file, name))
            continue
        if rule.name in seen:
            pos = located.where((*base, "name"))
            problems.append(
                RuleProblem(
                    file,
                    pos.line,
                    pos.col,
                    f"duplicate rule name (also in {seen[rule.name]})",
                    rule.name,
                )
            )
        seen.setdefault(rule.name, file)
        if len(problems) == found and compiled.get("when") is not None:
            rules.append(
                build_loaded(rule, compiled, file=file, file_hash=file_hash, line=here.line)
            )
    return rules, problems


def _conflict_warnings(rules: list[LoadedRule]) -> list[RuleProblem]:
    """Rules that can move the same field of the same entities in opposite directions at the
    same priority: one warning per later rule, naming the first earlier one it fights.

    Linear in the rules: each rule is looked up in, then added to, an index keyed by (field,
    priority, entity kind, direction) that keeps the first two rules of each key (two, so a
    warning can say whether more than one rule is involved without comparing every pair).
    """
    warnings = []
    earlier: dict[tuple[str, int, str, str], list[tuple[int, LoadedRule]]] = {}
    opposite = {"up": "down", "down": "up"}
    for order, b in enumerate(rules):
        if not ((b.field in MONEY_FIELDS or b.field == "state") and b.schedule is None):
            continue
        field_, priority = str(b.field), b.rule.priority
        kinds, directions = set(RULE_ENTITY_KINDS[b.rule.entity]), rule_directions(b)
        fought: dict[int, LoadedRule] = {}
        for kind in kinds:
            for direction in directions:
                fought.update(earlier.get((field_, priority, kind, opposite[direction]), []))
        if fought:
            a = fought[min(fought)]
            same_kinds = kinds & set(RULE_ENTITY_KINDS[a.rule.entity])
            more = " (and other rules)" if len(fought) > 1 else ""
            warnings.append(
                RuleProblem(
                    b.file,
                    b.line,
                    1,
                    f"can change {a.field} of the same {'/'.join(sorted(same_kinds))} in the "
                    f"opposite direction of rule '{a.name}' ({a.file}){more} at the same "
                    f"priority {a.rule.priority}; give them distinct priorities",
                    b.name,
                    "warning",
                )
            )
        for kind in kinds:
            for direction in directions:
                kept = earlier.setdefault((field_, priority, kind, direction), [])
                if len(kept) < 2:
                    kept.append((order, b))
    return warnings


def check_rule_set(paths: Sequence[Path]) -> tuple[RuleSet | None, list[RuleProblem]]:
    """Load every rule file under ``paths``; return the set (None if any error) and all problems."""
    files = find_rule_files(paths)
    problems: list[RuleProblem] = []
    rules: list[LoadedRule] = []
    seen: dict[str, str] = {}
    digest = hashlib.sha256()
    for path in files:
        file_rules, file_problems, content = _load_file(path, seen)
        rules.extend(file_rules)
        problems.extend(file_problems)
        if path.is_file():
            digest.update(content)
            digest.update(b"\0")
    problems.extend(_conflict_warnings(rules))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return RuleSet(rules=rules, hash=digest.hexdigest(), files=[str(f) for f in files]), problems


def load_rule_set(paths: Sequence[Path]) -> RuleSet:
    """Load a rule set whole, or raise :class:`RuleSetError` listing every error."""
    rule_set, problems = check_rule_set(paths)
    if rule_set is None:
        raise RuleSetError([p for p in problems if p.severity == "error"])
    return rule_set
