"""The daemon: simulated days on the sandbox, one daemon per database, SIGTERM, rule reloads,
and ``bidagent health`` (real processes where it is about processes). ``/healthz``, ``/metrics``
and the console served beside the daemon: tests/console/test_served.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bidagent.agent.service.daemon import Daemon, acquire_daemon_lock, daypart_times
from bidagent.cli.app import app
from bidagent.engine import load_rule_set
from bidagent.settings import Settings, load_settings
from bidagent.store import (
    ChangeRecord,
    CycleRecord,
    ReviewItemRecord,
    make_engine,
    session_scope,
    upgrade_database,
)
from tests.agent.conftest import STARTER_RULES, small_sandbox_config


def _config(tmp_path: Path, extra: str = "", rules_dir: Path = STARTER_RULES) -> Path:
    """A small, fast sandbox (36 days of history cover the starter pack's longest window)."""
    return small_sandbox_config(
        tmp_path, rules=rules_dir, sandbox="seconds_per_day = 0.5",
        extra="[schedule]\nreload_rules_s = 0.2\n" + extra,
    )  # fmt: skip


def _bidagent(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "bidagent", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(settings: Settings, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(settings.database.url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)))
    finally:
        engine.dispose()


def _wait(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.mark.slow
def test_run_two_days_applies_changes(tmp_path: Path) -> None:
    """`run --days 2` exits 0 after two simulated days with applied changes in the ledger."""
    config = _config(tmp_path)
    settings = load_settings(config)
    process = _bidagent(config, "run", "--days", "2")
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    cycles = _rows(settings, CycleRecord)
    assert [(c.trigger, c.outcome) for c in cycles] == [("daemon", "succeeded")] * 2
    assert len({c.business_date for c in cycles}) == 2
    statuses = {c.status for c in _rows(settings, ChangeRecord)}
    assert "applied" in statuses and "sending" not in statuses
    assert '"cycle_summary"' in err


def _record_cycle(settings: Settings, recorded_at: datetime, schedule: str) -> None:
    engine = make_engine(settings.database.url)
    upgrade_database(engine)
    with session_scope(engine) as session:
        session.add(
            CycleRecord(profile_id="1", business_date=date(2025, 6, 1), mode="live", schedule=schedule,
                        outcome="succeeded", started_at=recorded_at, recorded_at=recorded_at)
        )  # fmt: skip
    engine.dispose()


def test_health_exits_zero_after_a_cycle_and_one_when_it_is_too_old(tmp_path: Path) -> None:
    """`bidagent health` is 0 right after a cycle, 1 once the newest cycle is older than one
    sandbox day plus a minute."""
    config = _config(tmp_path)
    settings = load_settings(config)
    _record_cycle(settings, datetime.now(UTC) - timedelta(hours=3), "daily")
    stale = CliRunner().invoke(app, ["--config", str(config), "health"])
    assert stale.exit_code == 1
    assert stale.stderr.startswith("unhealthy: last cycle 1 (1 2025-06-01) succeeded, 108")
    _record_cycle(settings, datetime.now(UTC), "daypart@12:00")
    fresh = CliRunner().invoke(app, ["--config", str(config), "health"])
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout.startswith("healthy: last cycle 2 (1 2025-06-01) succeeded, 0s ago")


def test_a_second_daemon_on_the_same_database_refuses(tmp_path: Path) -> None:
    """While one daemon holds the database, another exits 1 with a message naming it."""
    config = _config(tmp_path)
    settings = load_settings(config)
    held = acquire_daemon_lock(settings)
    assert held is not None
    try:
        process = _bidagent(config, "run")
        _out, err = process.communicate(timeout=60)
    finally:
        held.close()
    assert process.returncode == 1
    assert f"already runs on {settings.database.url}" in err
    assert err.startswith("error: another bidagent daemon (pid ")


def test_sigterm_during_a_run_exits_zero_and_leaves_nothing_sending(tmp_path: Path) -> None:
    """SIGTERM while cycles run: the batch in flight finishes, exit 0, no row left `sending`."""
    config = _config(tmp_path)
    settings = load_settings(config)
    process = _bidagent(config, "run")
    try:
        _wait(lambda: Path(settings.database.url.removeprefix("sqlite:///")).exists())
        _wait(lambda: bool(_rows(settings, ChangeRecord)))
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-2000:]
    assert '"daemon_stopped"' in err
    assert [r.id for r in _rows(settings, ChangeRecord) if r.status == "sending"] == []


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[[Path], Daemon]]:
    """Start a daemon in a background thread of this process; stop it after the test."""
    started: list[tuple[Daemon, threading.Thread]] = []

    def start(config: Path) -> Daemon:
        daemon = Daemon(load_settings(config))
        thread = threading.Thread(target=daemon.run, name="daemon-under-test")
        thread.start()
        started.append((daemon, thread))
        _wait(lambda: daemon.ticks >= 1)
        return daemon

    yield start
    for daemon, thread in started:
        daemon.request_stop()
        thread.join(timeout=60)
        assert not thread.is_alive()


@pytest.mark.slow
def test_a_bad_rule_file_keeps_the_last_good_set_and_opens_one_item(
    tmp_path: Path, running: Callable[[Path], Daemon]
) -> None:
    """A broken rule file written while the daemon runs: cycles go on under the last good set,
    exactly one `rules` review item opens (not one per poll), and a fix resolves it."""
    rules = tmp_path / "rules"
    shutil.copytree(STARTER_RULES, rules)
    config = _config(tmp_path, rules_dir=rules)
    daemon = running(config)
    assert daemon.rules is not None
    good = daemon.rules.current.hash
    staged = tmp_path / "broken.tmp"
    staged.write_text("rules:\n  - name: broken\n    entity: keyword\n    when: ordrs > 1\n")
    os.replace(staged, rules / "broken.yaml")  # atomic: the poll never sees half a file
    settings = load_settings(config)
    _wait(lambda: any(i.kind == "rules" for i in _rows(settings, ReviewItemRecord)))
    ticks = daemon.ticks
    _wait(lambda: daemon.ticks >= ticks + 1)
    items = [i for i in _rows(settings, ReviewItemRecord) if i.kind == "rules"]
    assert [(i.status, i.severity) for i in items] == [("open", "critical")]
    assert "ordrs" in str(items[0].evidence)
    assert daemon.rules.current.hash == good
    (rules / "broken.yaml").unlink()
    _wait(lambda: [i.status for i in _rows(settings, ReviewItemRecord) if i.kind == "rules"]
          == ["resolved"])  # fmt: skip
    assert daemon.rules.current.hash == good


def test_daypart_times_cover_every_period_start_and_end(tmp_path: Path) -> None:
    """Daypart jobs fire when a period opens and when it closes (a duration `until` included)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "dip.yaml").write_text(
        """
rules:
  - name: night-dip
    entity: keyword
    schedule: "30 23 * * *"
    until: "8h"
    when: state == "enabled"
    then: { bid: base * 0.8 }
  - name: lunch-boost
    entity: keyword
    schedule: "0 12 * * 1-5"
    until: "0 14 * * 1-5"
    when: state == "enabled"
    then: { bid: base * 1.1 }
"""
    )
    assert daypart_times(load_rule_set([rules])) == [(7, 30), (12, 0), (14, 0), (23, 30)]
    assert daypart_times(load_rule_set([STARTER_RULES])) != []
