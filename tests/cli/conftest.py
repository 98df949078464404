"""What the command-line tests share: a configuration on a fresh in-process sandbox and ledger,
and running a command as a user would (``CliRunner``, separate stdout and stderr)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from bidagent.cli.app import app
from tests.agent.conftest import init_ledger

RULES = Path(__file__).resolve().parents[2] / "rules"
SANDBOX_CONFIG = """
rules_dir = "{rules}"
[database]
url = "sqlite:///{tmp}/ledger.db"
[ads]
history_days = 36
[sandbox]
targets = 40
seed = 11
history_days = 36
state_path = "{tmp}/sandbox.db"
[logging]
format = "json"
level = "WARNING"
"""


def sandbox_config(folder: Path, *, own_rules: bool = False) -> Path:
    """A ``bidagent.toml`` in ``folder`` on its own sandbox and migrated ledger; with
    ``own_rules`` the starter rules are copied into ``folder/rules`` so a test may edit them."""
    rules = RULES
    if own_rules:
        rules = folder / "rules"
        shutil.copytree(RULES, rules)
    path = folder / "bidagent.toml"
    path.write_text(SANDBOX_CONFIG.format(rules=rules, tmp=folder), encoding="utf-8")
    init_ledger(f"sqlite:///{folder}/ledger.db")
    return path


def invoke(config: Path | None, *args: str) -> Result:
    """Run ``bidagent [--config CONFIG] ARGS`` in process."""
    prefix = ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(app, [*prefix, *args])


def json_of(result: Result) -> Any:
    """The command's stdout as JSON, after asserting it exited 0."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
