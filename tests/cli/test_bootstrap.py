"""The CLI's one bootstrap: every command loads settings, opens the database and fails through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import bidagent.cli
from bidagent.cli.app import app
from bidagent.cli.bootstrap import fail, failing_cleanly
from bidagent.errors import StoreError

runner = CliRunner()

CLI_DIR = Path(bidagent.cli.__file__).parent
# Modules that register no command needing settings: the package, the root app, the renderer.
NO_SETTINGS = {
    "__init__.py",
    "app.py",
    "render.py",
    "plan_render.py",
    "junit.py",
    "init.py",
    "bootstrap.py",
}


def _modules() -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text(), str(p)) for p in sorted(CLI_DIR.glob("*.py"))}


def _names(tree: ast.Module) -> set[str]:
    """Every name a module imports, reads or calls (``x``, ``mod.x`` and ``from m import x``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            found.update(alias.name for alias in node.names)
    return found


def test_only_the_bootstrap_loads_settings_or_makes_engines() -> None:
    """No CLI module but the bootstrap calls ``load_settings`` or ``make_engine`` itself."""
    offenders = {
        name: sorted(_names(tree) & {"load_settings", "make_engine"})
        for name, tree in _modules().items()
        if name != "bootstrap.py"
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_every_command_module_uses_the_bootstrap() -> None:
    """Each command module imports from ``bidagent.cli.bootstrap``."""
    missing = [
        name
        for name, tree in _modules().items()
        if name not in NO_SETTINGS
        and not any(
            isinstance(node, ast.ImportFrom) and node.module == "bidagent.cli.bootstrap"
            for node in ast.walk(tree)
        )
    ]
    assert missing == []


def _error_literals(tree: ast.Module) -> list[int]:
    """Lines of string literals (plain or f-string heads) that start with ``error:``."""
    lines = []
    for node in ast.walk(tree):
        head = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
        if (
            isinstance(head, ast.Constant)
            and isinstance(head.value, str)
            and head.value.startswith("error:")
        ):
            lines.append(node.lineno)
    return sorted(set(lines))


def test_only_the_bootstrap_spells_an_error_line() -> None:
    """``error: ...`` on stderr is written by ``fail`` alone, so every command fails one way."""
    offenders = {
        name: _error_literals(tree) for name, tree in _modules().items() if name != "bootstrap.py"
    }
    assert {name: lines for name, lines in offenders.items() if lines} == {}


def test_fail_prints_one_line_and_exits_with_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    """``fail`` writes ``error: message`` to stderr and raises ``typer.Exit(code)``."""
    with pytest.raises(typer.Exit) as raised:
        fail("no change 7", code=2)
    assert raised.value.exit_code == 2
    assert capsys.readouterr() == ("", "error: no change 7\n")


def test_failing_cleanly_turns_a_bidagent_error_into_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A ``BidAgentError`` inside ``failing_cleanly`` becomes ``error: message``, exit 1."""
    with pytest.raises(typer.Exit) as raised, failing_cleanly():
        raise StoreError("database is locked")
    assert raised.value.exit_code == 1
    assert capsys.readouterr() == ("", "error: database is locked\n")


def test_an_unknown_database_dialect_is_one_error_line_naming_the_variable() -> None:
    """``pause`` with an unknown dialect in the environment exits 1 naming the variable."""
    result = runner.invoke(app, ["pause"], env={"BIDAGENT_DATABASE__URL": "nosuchdb://x/y"})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "error: environment variable BIDAGENT_DATABASE__URL (key 'database.url'): expected a"
        " sqlite:///path or postgresql://user@host/db URL, not scheme 'nosuchdb'"
    ]
