"""The rule files as the console reads them: the rules folder checked with the loader the
daemon uses (so the page shows the same errors and conflict warnings ``bidagent rules check``
prints), and one rule file's text for the read-only YAML view.

Owns the one guard that keeps the YAML view inside the rules folder: a file is served only
when its path, resolved (``..`` and symbolic links followed), lies inside the resolved
``rules_dir`` and names a ``*.yaml`` file there; anything else is "not found", so the answer
does not tell which paths exist elsewhere. Texts are read up to the loader's size cap. The check
is cached per folder and per the files' sizes and modification times, so a page view re-reads
nothing until a file changes. It must not render (templates escape the text) nor query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bidagent.engine import RuleSet, check_rule_set
from bidagent.engine.loader import MAX_FILE_BYTES
from bidagent.errors import RuleProblem

__all__ = ["RuleFileText", "RulesOnDisk", "check_rules_dir", "display_name", "read_rule_file"]


@dataclass(frozen=True)
class RulesOnDisk:
    """The rules folder now: the rule set (None when an error stops it) and every problem."""

    rule_set: RuleSet | None
    problems: list[RuleProblem]

    @property
    def errors(self) -> list[RuleProblem]:
        """Problems that stop the set from loading."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[RuleProblem]:
        """Problems that do not (today: rules that can fight each other, see the loader)."""
        return [p for p in self.problems if p.severity != "error"]


@dataclass(frozen=True)
class RuleFileText:
    """One rule file's text, by its path inside the rules folder."""

    name: str
    text: str
    truncated: bool


_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], RulesOnDisk]] = {}
_lock = threading.Lock()


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def check_rules_dir(rules_dir: Path) -> RulesOnDisk:
    """Load the rules folder as the daemon would (cached until a file changes)."""
    signature = _signature(rules_dir)
    with _lock:
        cached = _cache.get(rules_dir)
        if cached is not None and cached[0] == signature:
            return cached[1]
    rule_set, problems = check_rule_set([rules_dir])
    found = RulesOnDisk(rule_set, problems)
    with _lock:
        _cache[rules_dir] = (signature, found)
    return found


def _inside(rules_dir: Path, path: Path) -> Path | None:
    """``path`` resolved when it is a ``*.yaml`` file inside the resolved ``rules_dir``."""
    try:
        root = rules_dir.resolve(strict=True)
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte
        return None
    if not resolved.is_relative_to(root) or resolved == root:
        return None
    if resolved.suffix != ".yaml" or not resolved.is_file():
        return None
    return resolved


def display_name(rules_dir: Path, file: str) -> str:
    """How the console names a rule file: its path inside the rules folder (``/``-separated),
    or the path as given when it is not inside it."""
    resolved = _inside(rules_dir, Path(file))
    if resolved is None:
        return file
    return resolved.relative_to(rules_dir.resolve()).as_posix()


def read_rule_file(rules_dir: Path, name: str) -> RuleFileText | None:
    """The text of the rule file ``name`` (a path inside the rules folder), or None when there
    is no such ``*.yaml`` file inside it (see the module docstring)."""
    if not name or name.startswith(("/", "\\")) or "\x00" in name:
        return None
    resolved = _inside(rules_dir, rules_dir / name)
    if resolved is None:
        return None
    with resolved.open("rb") as handle:
        content = handle.read(MAX_FILE_BYTES + 1)
    truncated = len(content) > MAX_FILE_BYTES
    text = content[:MAX_FILE_BYTES].decode("utf-8", errors="replace")
    return RuleFileText(resolved.relative_to(rules_dir.resolve()).as_posix(), text, truncated)
