"""SQL lives in store/: the review, service and backtest code and the CLI call store functions and
never build a statement or import SQLAlchemy themselves."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bidagent"
# The layers that must only call store functions (agent/cycle has its own twin guard).
CHECKED = ("agent/review", "agent/service", "agent/backtest", "cli")
FORBIDDEN_MODULES = ("sqlalchemy", "sqlmodel")
# Statement builders, called by their bare name (``select(...)``); ``x.update(...)`` on a dict or
# a progress bar is not SQL, so only bare names count for these.
FORBIDDEN_FUNCTIONS = {"select", "update", "text", "col", "func"}
# Query-building and executing methods, on any receiver.
FORBIDDEN_METHODS = {"where", "with_for_update", "exec", "execute"}
# ``.get`` only on a session or connection (``dict.get`` is everywhere).
SESSION_NAMES = {"session", "conn", "connection"}


def _offences(path: Path) -> list[str]:
    """``line: what`` for every SQLAlchemy import and statement-building call in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        line = getattr(node, "lineno", 0)
        found += [f"{line}: import {m}" for m in modules if m.split(".")[0] in FORBIDDEN_MODULES]
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "func"
        ):
            found.append(f"{node.lineno}: func.{node.attr}")
        if not isinstance(node, ast.Call):
            continue
        call = node.func
        if isinstance(call, ast.Name) and call.id in FORBIDDEN_FUNCTIONS:
            found.append(f"{node.lineno}: {call.id}(...)")
        elif isinstance(call, ast.Attribute):
            if call.attr in FORBIDDEN_METHODS:
                found.append(f"{node.lineno}: .{call.attr}(...)")
            elif call.attr == "get" and isinstance(call.value, ast.Name):
                owner = call.value.id
                if owner in SESSION_NAMES or owner.endswith("_session"):
                    found.append(f"{node.lineno}: {owner}.get(...)")
    return found


def test_review_service_backtest_and_cli_build_no_sql() -> None:
    """No module under agent/review, agent/service, agent/backtest or cli imports sqlalchemy or
    sqlmodel, or calls select, update, text, col, func, .where, .with_for_update, .exec,
    .execute or session.get."""
    offences = []
    for folder in CHECKED:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            relative = path.relative_to(PACKAGE).as_posix()
            offences += [f"bidagent/{relative}:{what}" for what in _offences(path)]
    assert offences == []


def test_the_guard_sees_sql(tmp_path: Path) -> None:
    """The guard above is not blind: it reports each kind of SQL it looks for, and only those."""
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlalchemy\n"
        "from sqlmodel import Session\n"
        "q = select(A).where(col(A.x) == 1).with_for_update()\n"
        "session.exec(q)\n"
        "conn.execute(text('x'))\n"
        "session.get(A, 1)\n"
        "n = func.count()\n"
        "update(A)\n"
        "settings.get('x')\n"
        "digest.update(b'')\n"
        "frame.select('a')\n"
        "pl.col('a')\n"
    )
    assert sorted(_offences(module)) == [
        "1: import sqlalchemy",
        "2: import sqlmodel",
        "3: .where(...)",
        "3: .with_for_update(...)",
        "3: col(...)",
        "3: select(...)",
        "4: .exec(...)",
        "5: .execute(...)",
        "5: text(...)",
        "6: session.get(...)",
        "7: func.count",
        "8: update(...)",
    ]
