"""The README, tried as a new user would: every ``bidagent ...`` line of its code blocks runs, in
README order, in a fresh working folder whose ``./bidagent.toml`` points at temporary files,
after one ``bidagent cycle`` so the ledger has data. Placeholders (``ID``) become real ids.

A command whose subcommand ``bidagent --help`` does not list (one being written right now) is
skipped with its name in the reason; every listed one must work.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bidagent.cli.changes import TABLE_COLUMNS, footer

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# Documented exit codes other than 0, by command prefix (none in the README today).
EXPECTED_CODES: dict[str, int] = {}

pytestmark = pytest.mark.slow


def readme_commands(text: str) -> list[str]:
    """Every ``bidagent`` command line in the fenced code blocks, trailing ``# comment`` removed."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith("bidagent "):
                commands.append(line)
    return commands


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def _run(
    args: list[str], cwd: Path, timeout_s: float = 120.0, **overrides: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    env.update(overrides)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "bidagent", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@dataclass
class Workdir:
    """A fresh working folder with the starter rules, a config and one cycle's data."""

    path: Path
    subcommands: set[str]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Workdir:
    path = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "rules", path / "rules")
    (path / "bidagent.toml").write_text(
        f"""
rules_dir = "rules"
[database]
url = "sqlite:///{path}/bidagent.db"
[ads]
history_days = 30
[sandbox]
targets = 60
history_days = 30
seconds_per_day = 0.5
state_path = "{path}/bidagent.sandbox"
[logging]
format = "console"
level = "WARNING"
""",
        encoding="utf-8",
    )
    helped = _run(["--help"], path)
    assert helped.returncode == 0, helped.stderr
    subcommands = set(re.findall(r"^│ ([a-z][a-z-]*) ", helped.stdout, flags=re.MULTILINE))
    assert {"cycle", "run", "rules"} <= subcommands, helped.stdout  # else all would be skipped
    # A configured ledger is created once, as the README says for a real deployment.
    upgraded = _run(["db", "upgrade"], path)
    assert upgraded.returncode == 0, upgraded.stderr
    first = _run(["cycle"], path)
    assert first.returncode == 0, first.stdout + first.stderr
    return Workdir(path, subcommands)


def test_readme_has_the_tour() -> None:
    """The README's tour names the commands issue 7 asks a new user to try."""
    subcommands = {c.split()[1] for c in COMMANDS}
    assert {"changes", "review", "plan", "rules"} <= subcommands
    assert "bidagent rules check" in COMMANDS and "bidagent rules test" in COMMANDS


def test_readme_shows_the_plan_as_the_cli_prints_it() -> None:
    """The README's plan sample has the grouped sections and the closing line `plan` prints."""
    text = README.read_text(encoding="utf-8")
    assert re.search(r"^~ change \(\d+\)$", text, flags=re.MULTILINE)
    assert re.search(r"^held for review \(\d+\)$", text, flags=re.MULTILINE)
    closing = r"^Plan: \d+ to create, \d+ to change, \d+ to pause; \d+ held for review$"
    assert re.search(closing, text, flags=re.MULTILINE)
    assert {"bidagent plan --rule raise-winners --out plan.json", "bidagent cycle --plan plan.json",
            "bidagent profiles"} <= set(COMMANDS)  # fmt: skip


def test_readme_shows_the_change_log_as_the_cli_prints_it() -> None:
    """The README's change-log sample has the listing's columns and its paging footer."""
    text = README.read_text(encoding="utf-8")
    header = re.search(r"^┃ id .*┃$", text, flags=re.MULTILINE)
    assert header is not None
    assert [c.strip() for c in header.group(0).strip("┃").split("┃")] == TABLE_COLUMNS
    shown = re.search(r"^showing (\d+) of (\d+) \(rows 1-\1, newest first\); next page: --before (\d+)$",
                      text, flags=re.MULTILINE)  # fmt: skip
    assert shown is not None
    n, total, before = (int(g) for g in shown.groups())
    assert shown.group(0) == footer(n, total, 1, before)


def _entity_id(command: list[str], workdir: Workdir) -> str:
    """An id for ``ID``: a fixture entity of the ``--test`` file, else a changed entity."""
    if "--test" in command:
        test_file = workdir.path / command[command.index("--test") + 1]
        tests = yaml.safe_load(test_file.read_text(encoding="utf-8"))["tests"]
        return str(tests[0]["entities"]["targets"][0]["entity_id"])
    import sqlite3

    with sqlite3.connect(workdir.path / "bidagent.db") as db:
        (entity_id,) = db.execute("SELECT entity_id FROM changes ORDER BY id LIMIT 1").fetchone()
    return str(entity_id)


@pytest.mark.parametrize("line", COMMANDS)
def test_readme_command_runs(line: str, workdir: Workdir) -> None:
    """The README command exits with 0 (or its documented code) and prints something."""
    command = shlex.split(line)[1:]
    if command[0] not in workdir.subcommands:
        pytest.skip(f"`bidagent {command[0]}` is not in `bidagent --help` yet")
    command = [_entity_id(command, workdir) if a == "ID" else a for a in command]
    done = _run(command, workdir.path)
    expected = next((c for p, c in EXPECTED_CODES.items() if line.startswith(p)), 0)
    assert done.returncode == expected, f"{line}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip() or done.stderr.strip(), f"{line} printed nothing"


def test_make_run_starts_the_daemon_and_stops(workdir: Workdir) -> None:
    """`make run` is `bidagent run` with the console on (port 8080 unless told otherwise): on
    the sandbox it serves the console, runs a simulated day and exits cleanly."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^CONSOLE_PORT \?= 8080$", makefile, flags=re.MULTILINE)
    assert re.search(
        r"^run: .*\n\tBIDAGENT_CONSOLE__PORT=\$\$\{BIDAGENT_CONSOLE__PORT:-\$\(CONSOLE_PORT\)\} "
        r"\$\(BIN\)/bidagent run$",
        makefile,
        flags=re.MULTILINE,
    )
    with socket.socket() as sock:  # a free port instead of 8080, which may be taken here
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = _run(["run", "--days", "1"], workdir.path, BIDAGENT_LOGGING__LEVEL="INFO",
                BIDAGENT_CONSOLE__PORT=str(port))  # fmt: skip
    logged = done.stdout + done.stderr
    assert done.returncode == 0, logged
    for event in ("daemon_started", "console_started", "cycle_summary", "daemon_stopped"):
        assert event in logged, logged
    assert f"http://127.0.0.1:{port}/login?token=" in logged


def test_a_broken_rule_edit_is_caught_by_rules_check(workdir: Workdir, tmp_path: Path) -> None:
    """Editing a rule into a typo makes `rules check` exit 1 naming file, line and the name."""
    rules = tmp_path / "rules"
    shutil.copytree(workdir.path / "rules", rules)
    path = rules / "bleeding-keywords.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("orders", "ordrs"), encoding="utf-8")
    done = _run(["rules", "check", str(rules)], workdir.path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bleeding-keywords.yaml:" in done.stdout + done.stderr
    assert "'ordrs'" in done.stdout + done.stderr
