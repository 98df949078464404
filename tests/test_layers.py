"""Layers: SQL lives in store/; the modules above it call store functions and never build SQL."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bidagent"

# Modules that must not build SQL: folders (every module under them) and single modules.
SQL_FREE = [PACKAGE / "agent", PACKAGE / "cli", PACKAGE / "console"]

_SQL_PACKAGES = ("sqlalchemy", "sqlmodel")
# Statement builders, called by their bare name (``select(...)``, ``col(...)``).
_BUILDERS = {"select", "update", "delete", "insert", "text", "col", "func"}
# Methods that run or shape SQL, on any receiver.
_SQL_METHODS = {"where", "with_for_update", "exec", "execute", "exec_driver_sql"}
# Methods that run SQL on a session or connection (``dict.get`` stays allowed).
_HANDLE_METHODS = {"get"}
_HANDLES = {"session", "conn", "connection"}


def _is_handle(name: str) -> bool:
    return name in _HANDLES or name.endswith("_session")


def _modules(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


def _offences(path: Path) -> list[tuple[int, str]]:
    """(line, what) for each import of SQLAlchemy/SQLModel and each SQL-building call in one
    module, in line order."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found.extend(
            (node.lineno, f"import {name}")
            for name in names
            if name.split(".", 1)[0] in _SQL_PACKAGES
        )
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in _BUILDERS:
            found.append((node.lineno, f"{func.id}(...)"))
        elif isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            if func.attr in _SQL_METHODS:
                found.append((node.lineno, f".{func.attr}(...)"))
            elif func.attr in _HANDLE_METHODS and _is_handle(receiver.split(".")[-1]):
                found.append((node.lineno, f"{receiver}.{func.attr}(...)"))
            elif isinstance(func.value, ast.Name) and func.value.id == "func":
                found.append((node.lineno, f"func.{func.attr}(...)"))
    return sorted(found)


def sql_offences(paths: Iterable[Path]) -> list[str]:
    """``file:line: what`` for every SQL import or SQL-building call in the modules of ``paths``."""
    root = PACKAGE.parent
    return [
        f"{module.relative_to(root).as_posix()}:{line}: {what}"
        for module in _modules(paths)
        for line, what in _offences(module)
    ]


def test_modules_above_the_store_build_no_sql() -> None:
    """No module under agent/, console/ or cli/ imports SQLAlchemy/SQLModel or calls a statement builder,
    a query method or a session query: they call store functions (a Session passed through is
    fine, named via ``bidagent.store``)."""
    assert sql_offences(SQL_FREE) == []


def test_the_guard_sees_sql(tmp_path: Path) -> None:
    """The guard above is not blind: it reports each kind of SQL it looks for."""
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlalchemy\n"
        "from sqlmodel import Session\n"
        "from sqlalchemy.engine import Engine\n"
        "select(Row).where(Row.id == 1)\n"
        "session.exec(q)\n"
        "self.session.get(Row, 1)\n"
        "conn.execute(text('SELECT 1'))\n"
        "func.max(col(Row.id))\n"
        "options.get('key')\n"
        "select(A).with_for_update()\n"
        "db_session.get(Row, 1)\n"
        "digest.update(b'')\n"
        "frame.select('a')\n"
    )
    assert _offences(module) == [
        (1, "import sqlalchemy"),
        (2, "import sqlmodel"),
        (3, "import sqlalchemy.engine"),
        (4, ".where(...)"),
        (4, "select(...)"),
        (5, ".exec(...)"),
        (6, "self.session.get(...)"),
        (7, ".execute(...)"),
        (7, "text(...)"),
        (8, "col(...)"),
        (8, "func.max(...)"),
        (10, ".with_for_update(...)"),
        (10, "select(...)"),
        (11, "db_session.get(...)"),
    ]


# Which top-level parts of the package each part may import (docs/architecture.md draws it):
# dependencies point down, the engine knows nothing of SQL, HTTP or the settings loader, and
# nothing below the agent imports it.
_LEAVES = {"vocabulary", "business_dates", "durations", "errors", "marketplaces"}
ALLOWED_IMPORTS: dict[str, set[str]] = {
    **{leaf: set() for leaf in _LEAVES},
    "engine": set(_LEAVES),
    "settings": {*_LEAVES, "engine"},
    "logs": {*_LEAVES, "settings"},
    "store": {*_LEAVES, "engine"},
    "ads": {*_LEAVES, "settings"},
    "sandbox": {*_LEAVES, "settings"},
    "agent": {*_LEAVES, "engine", "settings", "logs", "store", "ads", "sandbox"},
    "console": {*_LEAVES, "engine", "settings", "logs", "store", "ads", "sandbox", "agent"},
    "cli": {*_LEAVES, "engine", "settings", "logs", "store", "ads", "sandbox", "agent", "console"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _part(module: Path) -> str:
    return module.relative_to(PACKAGE).with_suffix("").parts[0]


def _bidagent_imports(module: Path) -> set[str]:
    """The top-level parts of the package that ``module`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(n.split(".")[1] for n in names if n.startswith("bidagent."))
    return found


def test_imports_point_down() -> None:
    """Every part of the package imports only the parts below it (see ALLOWED_IMPORTS)."""
    offences = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in module.parts:
            continue
        part = _part(module)
        for imported in sorted(_bidagent_imports(module) - {part}):
            if imported not in ALLOWED_IMPORTS[part]:
                offences.append(f"{module.relative_to(PACKAGE.parent)}: {part} -> {imported}")
    assert offences == []


MAX_MODULE_LINES = 400


def test_modules_stay_small() -> None:
    """No module in the package is over 400 lines: a longer one holds more than one concept."""
    long = {
        str(module.relative_to(PACKAGE.parent)): lines
        for module in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(module.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
