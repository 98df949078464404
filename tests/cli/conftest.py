"""What the command-line tests share: a configuration on a fresh in-process sandbox and ledger,
and running a command as a user would (``CliRunner``, separate stdout and stderr)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from bidagent.cli.app import app
from tests.agent.conftest import small_sandbox_config

RULES = Path(__file__).resolve().parents[2] / "rules"


def sandbox_config(folder: Path, *, own_rules: bool = False) -> Path:
    """A ``bidagent.toml`` in ``folder`` on its own small sandbox and migrated ledger, logging
    warnings only (see :func:`tests.agent.conftest.small_sandbox_config`); with ``own_rules``
    the starter rules are copied into ``folder/rules`` so a test may edit them."""
    rules = RULES
    if own_rules:
        rules = folder / "rules"
        shutil.copytree(RULES, rules)
    return small_sandbox_config(folder, rules=rules, logging='level = "WARNING"')


def invoke(config: Path | None, *args: str) -> Result:
    """Run ``bidagent [--config CONFIG] ARGS`` in process."""
    prefix = ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(app, [*prefix, *args])


def json_of(result: Result) -> Any:
    """The command's stdout as JSON, after asserting it exited 0."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
