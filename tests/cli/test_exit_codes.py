"""Exit codes, per command: 0 ok, 1 a problem or something not found, 2 usage (a bogus value, a
missing argument). And every command that reports has ``--format json``; ``csv`` only lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import invoke, sandbox_config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox after one cycle, so there are changes and review items to name."""
    path = sandbox_config(tmp_path_factory.mktemp("codes"))
    assert invoke(path, "cycle").exit_code == 0
    return path


USAGE = [
    ("changes", "--status", "bogus"),
    ("changes", "--since", "yesterday"),
    ("changes", "--until", "soon"),
    ("changes", "--field", "bogus"),
    ("changes", "--actor", "bogus"),
    ("changes", "--limit", "-1"),
    ("changes", "--before", "0"),
    ("changes", "--format", "xml"),
    ("changes", "show", "1", "--format", "csv"),
    ("review", "list", "--status", "bogus"),
    ("review", "list", "--kind", "bogus"),
    ("review", "list", "--severity", "bogus"),
    ("review", "--kind", "bogus"),
    ("backtest", "--format", "csv"),
    ("health", "--format", "csv"),
    ("sandbox", "status", "--format", "csv"),
    ("sandbox", "advance"),
    ("rules", "check", "--format", "csv"),
    ("rules", "test", "--format", "csv"),
    ("plan", "--format", "xml"),
    ("profiles", "--format", "xml"),
    ("db", "current", "--format", "xml"),
    ("revert",),
    ("rules", "explain", "raise-winners"),
]


@pytest.mark.parametrize("args", USAGE, ids=" ".join)
def test_usage_errors_exit_2(config: Path, args: tuple[str, ...]) -> None:
    """A bogus value or a missing argument is a usage error: exit 2, nothing on stdout."""
    result = invoke(config, *args)
    assert (result.exit_code, result.stdout) == (2, ""), result.output


NOT_FOUND = [
    (("revert", "999999", "--yes"), "error: no change 999999\n"),
    (("changes", "show", "999999"), "error: no change 999999\n"),
    (
        ("changes", "--campaign", "no-such-campaign"),
        "error: --campaign: no campaign with id or name 'no-such-campaign' in the synced data\n",
    ),
    (("review", "show", "999999"), "error: review item 999999 does not exist\n"),
    (
        ("review", "approve", "999999"),
        "error: review item 999999 does not exist; nothing was decided\n",
    ),
    (
        ("rules", "explain", "no-such-rule", "--entity", "1"),
        "error: no rule named 'no-such-rule'\n",
    ),
    (("plan", "--no-sync", "--rule", "no-such-rule"), None),
    (("cycle", "--plan", "missing.json"), None),
]


@pytest.mark.parametrize(
    ("args", "stderr"), NOT_FOUND, ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_what_is_not_found_exits_1_naming_it(
    config: Path, args: tuple[str, ...], stderr: str | None
) -> None:
    """An id, rule or file that does not exist is a problem: exit 1 with one error line."""
    result = invoke(config, *args)
    assert result.exit_code == 1, result.output
    if stderr is not None:
        assert result.stderr == stderr
    else:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_revert_of_a_change_that_was_not_applied_exits_1(config: Path) -> None:
    """Reverting a held change says it was not applied, exit 1."""
    held = next(
        r
        for r in json.loads(invoke(config, "changes", "-f", "json").stdout)
        if r["status"] == "held"
    )
    result = invoke(config, "revert", str(held["id"]), "--yes")
    assert (result.exit_code, result.stderr) == (
        1, f"error: only applied changes can be reverted: change {held['id']} is held\n",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        (("rules", "check"), ["ok", "rules", "files", "hash", "problems"]),
        (("rules", "test"), ["passed", "failed", "results"]),
        (
            ("sandbox", "status"),
            ["now", "seed", "scenario", "profiles", "counts", "spend_yesterday"],
        ),
        (("profiles",), None),
        (("changes",), None),
        (("review", "list"), None),
        (("db", "current"), ["current", "head", "up_to_date"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_reporting_commands_speak_json(
    config: Path, args: tuple[str, ...], keys: list[str] | None
) -> None:
    """`--format json` prints one JSON document (an object with these keys, or a list), exit 0."""
    result = invoke(config, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    if keys is None:
        assert isinstance(data, list) and data
    else:
        assert list(data) == keys


def test_health_json_and_its_exit_code_agree(config: Path) -> None:
    """`health --format json` says healthy or not with the reason; the exit code matches."""
    result = invoke(config, "health", "--format", "json")
    data = json.loads(result.stdout)
    assert sorted(data) == ["healthy", "reason"] and data["reason"]
    assert result.exit_code == (0 if data["healthy"] else 1)


def test_rules_check_json_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    """A broken rule file: `rules check --format json` is not ok, names file, line and rule."""
    (tmp_path / "bad.yaml").write_text(
        "rules:\n  - name: bad\n    entity: keyword\n    when: ordrs > 1\n    then: { bid: '-10%' }\n"
    )
    result = invoke(None, "rules", "check", str(tmp_path), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["ok"], data["rules"]) == (False, None)
    (problem,) = data["problems"]
    assert (problem["file"], problem["line"], problem["rule"], problem["severity"]) == (
        str(tmp_path / "bad.yaml"), 4, "bad", "error",
    )  # fmt: skip
    assert "unknown name 'ordrs'" in problem["message"]
