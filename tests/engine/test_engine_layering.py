"""The engine is a lower layer than the settings loader: it never imports ``bidagent.settings``."""

from __future__ import annotations

import ast
from pathlib import Path

import bidagent.engine

ENGINE = Path(bidagent.engine.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions and TYPE_CHECKING."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_engine_module_imports_the_settings_loader() -> None:
    """No file under bidagent/engine/ imports bidagent.settings (or anything from it)."""
    offenders = {
        str(path.relative_to(ENGINE)): sorted(
            n
            for n in _imported_modules(path)
            if n == "bidagent.settings" or n.startswith("bidagent.settings.")
        )
        for path in sorted(ENGINE.rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The check would catch a local or TYPE_CHECKING import, not only top-level ones."""
    path = tmp_path / "m.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import bidagent.settings\n"
        "def f():\n    from bidagent.settings import Settings\n"
    )
    assert _imported_modules(path) == {
        "typing",
        "typing.TYPE_CHECKING",
        "bidagent.settings",
        "bidagent.settings.Settings",
    }
