"""The ledger is never created by accident: only the built-in demo and ``db upgrade`` create one."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bidagent.cli.app import app

runner = CliRunner()


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "bidagent.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    """A configured SQLite file that does not exist: exit 1, how to create it, no file made."""
    ledger = tmp_path / "typo.db"
    config = _config(tmp_path, f"sqlite:///{ledger}")
    result = runner.invoke(app, ["--config", str(config), "pause"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"error: database file {ledger} does not exist; run `bidagent db upgrade` to create the"
        " ledger there, or check database.url (a typo or an unmounted volume)"
    ]
    assert not ledger.exists()


def test_db_upgrade_creates_the_ledger_then_commands_use_it(tmp_path: Path) -> None:
    """``db upgrade`` creates the configured ledger; afterwards the same command succeeds."""
    ledger = tmp_path / "ledger.db"
    config = _config(tmp_path, f"sqlite:///{ledger}")
    assert runner.invoke(app, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--config", str(config), "pause"])
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert ledger.is_file()


def test_a_missing_folder_is_an_error_even_for_db_upgrade(tmp_path: Path) -> None:
    """A SQLite path whose folder does not exist is refused by every command; nothing is made."""
    folder = tmp_path / "unmounted"
    url = f"sqlite:///{folder}/ledger.db"
    config = _config(tmp_path, url)
    for args in (["db", "upgrade"], ["pause"], ["db", "current"]):
        result = runner.invoke(app, ["--config", str(config), *args])
        assert (result.exit_code, result.stdout) == (1, ""), args
        assert result.stderr.splitlines() == [
            f"error: cannot open database {url}: folder {folder} does not exist"
            " (nothing was created; check database.url)"
        ], args
    assert not folder.exists()


def test_an_empty_database_file_is_not_a_ledger(tmp_path: Path) -> None:
    """An existing file without bidagent's tables is refused, not silently initialised."""
    ledger = tmp_path / "empty.db"
    ledger.write_bytes(b"")
    url = f"sqlite:///{ledger}"
    result = runner.invoke(app, ["pause"], env={"BIDAGENT_DATABASE__URL": url})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"error: database {url} is not an initialised bidagent ledger; run"
        " `bidagent db upgrade` to create it, or check database.url"
    ]
    assert ledger.read_bytes() == b""


def test_the_default_url_in_a_config_file_must_be_initialised_too() -> None:
    """Only the built-in demo (no file at all) may create ``bidagent.db``; a file opts out."""
    Path("bidagent.toml").write_text('[database]\nurl = "sqlite:///bidagent.db"\n')
    result = runner.invoke(app, ["pause"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database file bidagent.db does not exist; ")
    assert not Path("bidagent.db").exists()


def test_the_builtin_demo_creates_its_ledger_in_the_working_folder() -> None:
    """No configuration and the default URL: the demo's ``bidagent.db`` is created on first use."""
    result = runner.invoke(app, ["pause"])
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert Path("bidagent.db").is_file()
