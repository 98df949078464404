"""``bidagent config check``: validates, prints the effective configuration masked, exits 1 on errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bidagent.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
runner = CliRunner()


def test_example_config_passes() -> None:
    """The shipped example is valid: exit 0, the file named, every section printed."""
    result = runner.invoke(app, ["--config", str(EXAMPLE), "config", "check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"# configuration: {EXAMPLE}", "# effective mode: apply"]
    for section in ("[database]", "[ads]", "[schedule]", "[guardrails]", "[sandbox]", "[console]"):
        assert section in lines
    assert 'url = "sqlite:///bidagent.db"' in lines
    assert 'refresh_token = "**********"' in lines


def test_misspelt_key_exits_1_naming_key_and_file(tmp_path: Path) -> None:
    """A misspelt key fails with one line on stderr naming the file and the key."""
    path = tmp_path / "bad.toml"
    path.write_text("[guardrails]\nmax_stepp = 0.2\n")
    result = runner.invoke(app, ["--config", str(path), "config", "check"])
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}: unknown key 'guardrails.max_stepp'\n"
    assert result.stdout == ""


def test_environment_wins_and_secrets_are_masked(tmp_path: Path) -> None:
    """BIDAGENT_DATABASE__URL beats the file; its password and every SecretStr are masked."""
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///file.db"\n')
    env = {
        "BIDAGENT_DATABASE__URL": "postgresql+psycopg://bid:hunter2-pw@db:5432/bid",
        "BIDAGENT_ADS__CLIENT_SECRET": "canary-client-secret",
    }
    result = runner.invoke(
        app, ["--config", str(path), "config", "check", "--format", "json"], env=env
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["config_file"] == str(path)
    assert payload["effective_mode"] == "apply"
    assert payload["settings"]["database"]["url"] == "postgresql+psycopg://bid:***@db:5432/bid"
    assert payload["settings"]["ads"]["client_secret"] == "**********"
    assert "hunter2-pw" not in result.output
    assert "canary-client-secret" not in result.output


def test_without_a_file_the_defaults_are_checked() -> None:
    """No --config, no $BIDAGENT_CONFIG, no ./bidagent.toml: the built-in defaults, exit 0."""
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "# configuration: built-in defaults (no file)"


def test_amazon_without_credentials_exits_1() -> None:
    """A cross-field problem is reported like any other: exit 1, the missing keys named."""
    result = runner.invoke(app, ["config", "check"], env={"BIDAGENT_ADS__SOURCE": "amazon"})
    assert result.exit_code == 1
    assert "ads.client_id, ads.client_secret, ads.refresh_token" in result.stderr


def test_unknown_format_is_a_usage_error() -> None:
    """A bad option value is a usage error: exit 2."""
    result = runner.invoke(app, ["config", "check", "--format", "yaml"])
    assert result.exit_code == 2
