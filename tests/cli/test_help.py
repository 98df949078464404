"""Every command's ``--help`` reads clean: no ``<bool>`` type on flags (they take no value) and
no default whose text the help renderer swallowed (``[sandbox]`` read as markup left
``default:  seed``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from bidagent.cli.app import app
from tests.cli.conftest import invoke


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    if hasattr(command, "commands"):  # a group (Typer's click, vendored or not)
        for name, sub in sorted(command.commands.items()):
            yield from _paths(sub, (*prefix, name))


COMMANDS = list(_paths(typer.main.get_command(app)))


def test_the_walk_sees_every_command_group() -> None:
    """The walk below reaches the groups' subcommands, not just the top level."""
    assert {("rules", "explain"), ("review", "approve"), ("sandbox", "status"), ("plan",)} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "bidagent")
def test_help_has_no_bool_metavar_and_no_unfilled_default(path: tuple[str, ...]) -> None:
    """`bidagent ... --help` exits 0; no flag shows `<bool>`, no default reads empty."""
    result = invoke(None, *path, "--help")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "<bool>" not in text
    assert not re.search(r"default:( *\)| {2,}\w)", text), text
    assert "[default: ]" not in text
