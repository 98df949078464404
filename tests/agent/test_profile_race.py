"""Two `bidagent cycle --force` processes started together on one database, against
`bidagent sandbox serve`: one writer per profile holds (no change failed by the race, no false
external edits, one sandbox write per applied change, the loser waits or is refused)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pgserver import find_binaries, start_postgres
from sqlmodel import Session, select

from bidagent.store import ChangeRecord, make_engine
from tests.agent.conftest import STARTER_RULES

pytestmark = pytest.mark.slow

BUSY = "error: profile "


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    env["BIDAGENT_LOGGING__FORMAT"] = "json"
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "serve.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/serve.db"\n[sandbox]\ntargets = 60\nseed = 3\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bidagent", "--config", str(config), "sandbox", "serve",
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(),
    )  # fmt: skip
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    yield base_url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    process.stdout.close()


def _config(tmp_path: Path, name: str, url: str, base_url: str, wait_s: float) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'rules_dir = "{STARTER_RULES}"\nmode = "apply"\n[database]\nurl = "{url}"\n'
        f'[ads]\nbase_url = "{base_url}"\ntoken_url = "{base_url}/auth/o2/token"\n'
        f"[schedule]\nlock_wait_s = {wait_s}\n"
    )
    return path


def _race(config: Path, rng: random.Random) -> list[tuple[int, str]]:
    first = subprocess.Popen(
        [sys.executable, "-m", "bidagent", "--config", str(config), "cycle", "--force"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    time.sleep(rng.uniform(0.0, 1.5))
    second = subprocess.Popen(
        [sys.executable, "-m", "bidagent", "--config", str(config), "cycle", "--force"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    results = []
    for process in (first, second):
        _, err = process.communicate(timeout=170)
        results.append((process.returncode, err))
    return results


@pytest.mark.parametrize(("backend", "wait_s"), [("sqlite", 60.0), ("sqlite", 0.0),
                                                 pytest.param("postgresql", 60.0, marks=pytest.mark.postgres)])  # fmt: skip
def test_two_cycles_started_together_never_fight(
    request: pytest.FixtureRequest, tmp_path: Path, served: str, backend: str, wait_s: float
) -> None:
    """Two forced cycles at once: each exits 0 after waiting, or 1 naming the holder; nothing
    failed by the race, no external-edit rows, one sandbox write per applied change."""
    server = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/ledger.db"
    else:
        bin_dir = find_binaries()
        if bin_dir is None:
            pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
        server = start_postgres(bin_dir)
        request.addfinalizer(server.stop)
        url = server.url(server.create_database())
    config = _config(tmp_path, backend, url, served, wait_s)
    rng = random.Random(hash((backend, wait_s)) & 0xFFFF)
    for _ in range(3):
        for code, err in _race(config, rng):
            assert code == 0 or (code == 1 and BUSY in err and " is busy: held by " in err), err[
                -2000:
            ]
        httpx.post(served + "/_sandbox/advance", json={"days": 1}, timeout=10)
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.exec(select(ChangeRecord)))
    engine.dispose()
    writes = httpx.get(served + "/_sandbox/writes", timeout=10).json()["writes"]
    statuses = Counter(r.status for r in rows)
    assert [r for r in rows if r.actor == "external"] == []
    assert [r.reason for r in rows if r.status == "failed"] == []
    updates = [w for w in writes if w["field"] != "created"]
    applied = [r for r in rows if r.status in ("applied", "reverted")
               and r.field in ("bid", "budget", "state", "default_bid")]  # fmt: skip
    assert statuses["applied"] > 0, statuses
    assert len(updates) == len(applied), (len(updates), len(applied))
