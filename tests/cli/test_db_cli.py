"""``bidagent db upgrade``/``db current`` and ``bidagent health`` on a SQLite database."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bidagent.cli.health
from bidagent.cli.app import app
from bidagent.cli.db import head_revision
from bidagent.cli.health import first_start
from bidagent.store import CycleRecord, make_engine, session_scope, upgrade_database

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    """Environment pointing the CLI at a database file that does not exist yet."""
    return {"BIDAGENT_DATABASE__URL": f"sqlite:///{tmp_path}/cli.db"}


def test_upgrade_then_current(db_env: dict[str, str], tmp_path: Path) -> None:
    """``db current`` says empty (exit 1, no file created); ``db upgrade`` brings it to head."""
    head = head_revision()
    assert head is not None
    before = runner.invoke(app, ["db", "current"], env=db_env)
    assert (before.exit_code, before.stdout) == (
        1,
        f"empty (head is {head}; run `bidagent db upgrade`)\n",
    )
    assert not (tmp_path / "cli.db").exists()

    upgraded = runner.invoke(app, ["db", "upgrade"], env=db_env)
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout == f"database sqlite:///{tmp_path}/cli.db at revision {head}\n"

    again = runner.invoke(app, ["db", "upgrade"], env=db_env)
    assert (again.exit_code, again.stdout) == (0, upgraded.stdout)

    current = runner.invoke(app, ["db", "current", "--format", "json"], env=db_env)
    assert current.exit_code == 0, current.output
    assert current.stdout == f'{{"current": "{head}", "head": "{head}", "up_to_date": true}}\n'


def test_db_commands_report_a_bad_config(tmp_path: Path) -> None:
    """A configuration error stops the command with exit 1 before touching any database."""
    path = tmp_path / "bad.toml"
    path.write_text("[databse]\n")
    result = runner.invoke(app, ["--config", str(path), "db", "upgrade"])
    assert (result.exit_code, result.stderr) == (1, f"error: {path}: unknown key 'databse'\n")


def _record_cycle(url: str, recorded_at: dt.datetime) -> None:
    engine = make_engine(url)
    upgrade_database(engine)
    with session_scope(engine) as session:
        session.add(
            CycleRecord(
                profile_id="p",
                business_date=dt.date(2026, 1, 1),
                mode="live",
                outcome="succeeded",
                started_at=recorded_at,
                finished_at=recorded_at,
                recorded_at=recorded_at,
            )
        )
    engine.dispose()


def test_health_missing_database_is_unhealthy(db_env: dict[str, str], tmp_path: Path) -> None:
    """No database file: exit 1 with the reason, and the check does not create the file."""
    result = runner.invoke(app, ["health"], env=db_env)
    assert (result.exit_code, result.stderr) == (
        1,
        f"unhealthy: database file {tmp_path}/cli.db does not exist\n",
    )
    assert not (tmp_path / "cli.db").exists()


def test_health_follows_the_last_cycle(db_env: dict[str, str]) -> None:
    """A cycle recorded just now is healthy (exit 0); one older than the allowance is not."""
    url = db_env["BIDAGENT_DATABASE__URL"]
    _record_cycle(url, dt.datetime.now(dt.UTC))
    healthy = runner.invoke(app, ["health"], env=db_env)
    assert healthy.exit_code == 0, healthy.output
    assert healthy.stdout.startswith("healthy: last cycle 1 (p 2026-01-01) succeeded")

    stale_url = url.replace("cli.db", "stale.db")
    _record_cycle(stale_url, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    stale = runner.invoke(app, ["health"], env={"BIDAGENT_DATABASE__URL": stale_url})
    assert stale.exit_code == 1
    assert stale.stderr.startswith("unhealthy: last cycle 1 (p 2026-01-01) succeeded")


def test_health_before_the_first_cycle_depends_on_the_start(
    db_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cycle yet: healthy within the first period after start, unhealthy after or if unknown."""
    engine = make_engine(db_env["BIDAGENT_DATABASE__URL"])
    upgrade_database(engine)
    engine.dispose()
    now = dt.datetime.now(dt.UTC)
    for started, code in ((now, 0), (now - dt.timedelta(days=3), 1), (None, 1)):
        monkeypatch.setattr(bidagent.cli.health, "first_start", lambda s=started: s)
        result = runner.invoke(app, ["health"], env=db_env)
        assert result.exit_code == code, (started, result.output)


def test_first_start_reads_pid_1_from_proc(tmp_path: Path) -> None:
    """PID 1's start is boot time plus its start ticks; an unreadable /proc gives None."""
    (tmp_path / "1").mkdir()
    fields = ["S"] + ["0"] * 18 + ["12345"]  # fields 3..22; starttime is the 22nd field
    (tmp_path / "1" / "stat").write_text("1 (bidagent run) " + " ".join(fields) + " 0 0\n")
    (tmp_path / "stat").write_text("cpu 1 2 3\nbtime 1700000000\n")
    expected = dt.datetime.fromtimestamp(1700000000 + 12345 / os.sysconf("SC_CLK_TCK"), dt.UTC)
    assert first_start(tmp_path) == expected
    assert first_start(tmp_path / "missing") is None
