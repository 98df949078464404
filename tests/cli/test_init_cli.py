"""`bidagent init` sets up a working folder; shell completion is offered by the root command."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import RULES, invoke

EXAMPLE = RULES.parent / "config.example.toml"


def test_init_writes_the_commented_config_and_the_starter_rules(tmp_path: Path) -> None:
    """The config is config.example.toml under one header line and loads as it is; the rules
    folder holds every starter rule, test and the schema, and checks clean."""
    result = invoke(None, "init", str(tmp_path))
    assert result.exit_code == 0, result.output
    config = tmp_path / "bidagent.toml"
    assert config.read_text() == (
        "# Written by `bidagent init` from config.example.toml.\n" + EXAMPLE.read_text()
    )
    starter = sorted(p.name for p in RULES.iterdir() if p.suffix in (".yaml", ".json"))
    assert sorted(p.name for p in (tmp_path / "rules").iterdir()) == starter
    rules = sum(1 for name in starter if name.endswith(".yaml") and ".test." not in name)
    assert result.stdout.splitlines()[:2] == [
        f"wrote {config} (every key with its default, commented)",
        f"copied {rules} starter rule(s) with their tests into {tmp_path / 'rules'}",
    ]
    assert invoke(config, "config", "check").exit_code == 0
    checked = invoke(None, "rules", "check", str(tmp_path / "rules"))
    assert checked.exit_code == 0 and checked.stdout.startswith(f"ok: {rules} rule(s)")


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    """A second init exits 1 naming a file it would overwrite and leaves an edit alone;
    --force writes again."""
    assert invoke(None, "init", str(tmp_path)).exit_code == 0
    config = tmp_path / "bidagent.toml"
    config.write_text("# mine\n")
    again = invoke(None, "init", str(tmp_path))
    assert again.exit_code == 1
    assert again.stderr.startswith(f"error: {config} exists (")
    assert config.read_text() == "# mine\n"
    assert invoke(None, "init", str(tmp_path), "--force").exit_code == 0
    assert config.read_text().startswith("# Written by `bidagent init`")


def test_init_without_a_starter_pack_says_where_it_looked(tmp_path: Path) -> None:
    """--from a folder without config.example.toml and rules/ exits 1 and writes nothing."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(None, "init", str(tmp_path / "out"), "--from", str(empty))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: no starter pack in {empty} ")
    assert not (tmp_path / "out").exists()


def test_shell_completion_is_offered() -> None:
    """The root command installs or shows shell completion (documented in the README)."""
    helped = invoke(None, "--help")
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout
    readme = (RULES.parent / "README.md").read_text()
    assert "bidagent --install-completion" in readme
