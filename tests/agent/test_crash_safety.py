"""Kill the agent at random points of real cycles and check nothing is lost or applied twice.

Each round runs ``bidagent cycle`` as a real subprocess against the in-process sandbox (whose
state file commits every write, like Amazon would), with timeouts injected *after* the fake API
applied a change, and kills the process with SIGKILL, either after a random delay or at a named
failpoint. A clean ``bidagent cycle`` then resumes the interrupted cycle. After all rounds:

* every change that was planned ended ``applied``, ``failed`` with a reason, or ``superseded``;
* the sandbox applied each change at most once (no blind resend);
* every value the sandbox holds from a write has a change row (nothing applied without a row).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bidagent.agent.cycle.change_requests import CREATION_FIELDS
from bidagent.sandbox import Sandbox
from bidagent.settings import load_settings
from bidagent.store import ChangeRecord, make_engine

pytestmark = pytest.mark.slow

FAULTS = """
[sandbox.faults]
seed = 5
[sandbox.faults.endpoints."PUT /sp/*"]
timeout_after_apply = 0.25
[sandbox.faults.endpoints."POST /sp/negativeKeywords"]
timeout_after_apply = 0.25
"""
POINTS = ["after_mark_sending", "after_request_sent", "before_record_outcome", "mid_reconcile"]


def _bidagent(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    full_env.update(env or {})
    full_env["BIDAGENT_LOGGING__FORMAT"] = "json"
    return subprocess.Popen(
        [sys.executable, "-m", "bidagent", "--config", str(config), *args],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _run(config: Path, *args: str) -> None:
    process = _bidagent(config, *args)
    _, err = process.communicate(timeout=180)
    assert process.returncode == 0, err.decode()[-3000:]


def _value(text: object) -> str:
    try:
        return str(Decimal(str(text)).normalize())
    except ArithmeticError:
        return str(text).lower()


def test_random_kills_never_lose_or_double_a_change(config_writer: Callable[..., Path]) -> None:
    """Over many killed and resumed cycles, every change settles and applies at most once."""
    config = config_writer(FAULTS)
    rng = random.Random(20261126)
    kills = Counter[str]()
    rounds = 10
    for number in range(rounds):
        env: dict[str, str] = {}
        if number % 2 == 0:
            point = POINTS[(number // 2) % len(POINTS)]
            env = {
                "BIDAGENT_FAILPOINTS": f"{point}=kill@0.5",
                "BIDAGENT_FAILPOINTS_SEED": str(number),
            }
        process = _bidagent(config, "cycle", env=env)
        if not env:
            time.sleep(rng.uniform(0.5, 4.0))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        process.communicate(timeout=180)
        kills["killed" if process.returncode == -signal.SIGKILL else "finished"] += 1
        _run(config, "cycle")  # resumes the interrupted cycle, or finds today's done
        _run(config, "sandbox", "advance", "--days", "1")
    _run(config, "cycle")

    settings = load_settings(config)
    engine = make_engine(settings.database.url)
    with Session(engine) as session:
        rows = list(session.exec(select(ChangeRecord)))
    statuses = Counter(r.status for r in rows)
    assert kills["killed"] >= rounds // 3, kills
    assert statuses["applied"] > 0, statuses
    assert statuses["planned"] == 0 and statuses["sending"] == 0, statuses
    assert all(r.reason for r in rows if r.status == "failed")

    box = Sandbox.from_settings(settings)
    try:
        writes = box.write_log()
    finally:
        box.close()
    updates = [w for w in writes if w.field != "created"]
    applied = Counter(
        (r.entity_id, r.field, _value(r.new_value))
        for r in rows
        if r.status in ("applied", "reverted")
        and r.actor != "external"
        and r.field in ("bid", "budget", "state", "default_bid")
    )
    written = Counter((w.entity_id, w.field, _value(w.new)) for w in updates)
    doubled = {k: n for k, n in written.items() if n > applied.get(k, 0)}
    assert doubled == {}, f"applied more often than recorded: {doubled}"
    missing = {k for k in written if k not in applied}
    assert missing == set(), f"sandbox values without a change row: {missing}"
    # A creation sent twice would leave a second entity with no change row naming it.
    created = Counter(w.entity_id for w in writes if w.field == "created")
    rows_by_remote = Counter(
        r.remote_id for r in rows if r.status == "applied" and r.field in CREATION_FIELDS
    )
    assert created, "the rounds created no keyword or negative"
    assert {k for k, n in created.items() if n > 1} == set()
    assert {k for k in created if rows_by_remote.get(k) != 1} == set()
