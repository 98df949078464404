"""Benchmark: ``plan`` for one large profile on SQLite, phase by phase.

200,000 targets in 2,000 ad groups and 200 campaigns, 60 days of sparse daily facts (about 3M
rows: each target is active on a quarter of the days), the starter rule pack. Phases: load the
engine inputs from SQLite (the targets and the facts are read by two child processes through
Arrow, see ``bidagent.store.engine_inputs`` and ``bidagent.store.columnar``; windows are computed
inside evaluate), evaluate (rules, conflicts, guardrails), write the plan to the intent log.
Prints wall seconds per phase, and CPU seconds (this process plus the children it waited for:
on a shared machine CPU time varies much less than wall time), peak memory (this process and
its children sampled together), and the ratio of the plan phases to a baseline measured in the
same run: one plain ``SELECT COUNT(*), SUM(cost)`` scan over the same facts table (the floor any
load must pay).

    python -m bench.plan_cycle [--targets 200000] [--days 60]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy.engine import Engine

from bidagent.agent.cycle.engine_inputs import guardrail_config
from bidagent.agent.cycle.intent_log import write_plan
from bidagent.engine import EngineSettings, Plan, RuleSet, evaluate, load_rule_set
from bidagent.engine.lookback import facts_lookback_days
from bidagent.marketplaces import marketplace_for
from bidagent.settings import Settings
from bidagent.store import (
    AdGroupRecord,
    CampaignRecord,
    ProfileRecord,
    TargetFactRecord,
    TargetRecord,
    make_engine,
    session_scope,
    upgrade_database,
    upsert_rows,
)
from bidagent.store.engine_inputs import read_engine_inputs

PROFILE = "1000000000000001"
TODAY = date(2026, 6, 1)
RULES = Path(__file__).resolve().parents[1] / "rules"


def _populate(url: str, targets: int, days: int) -> int:
    engine = make_engine(url)
    upgrade_database(engine)
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with session_scope(engine) as session:
        session.add(
            ProfileRecord(profile_id=PROFILE, country_code="US", currency_code="USD",
                          timezone="America/Los_Angeles", synced_at=now)
        )  # fmt: skip
    campaigns = 200
    groups = 2_000
    upsert_rows(engine, CampaignRecord, pl.DataFrame({
        "campaign_id": [f"{10_000 + c}" for c in range(campaigns)],
        "profile_id": PROFILE, "name": [f"SP Campaign {c}" for c in range(campaigns)],
        "state": "enabled", "targeting_type": "manual", "budget": "50.00", "budget_type": "daily",
        "synced_at": now,
    }))  # fmt: skip
    upsert_rows(engine, AdGroupRecord, pl.DataFrame({
        "ad_group_id": [f"{20_000 + g}" for g in range(groups)],
        "profile_id": PROFILE, "campaign_id": [f"{10_000 + g % campaigns}" for g in range(groups)],
        "name": [f"Ad group {g}" for g in range(groups)], "state": "enabled",
        "default_bid": "0.75", "synced_at": now,
    }))  # fmt: skip
    index = pl.int_range(0, targets, eager=True)
    target_frame = pl.DataFrame({
        "kind": "keyword", "target_id": (index + 1_000_000).cast(pl.Utf8), "profile_id": PROFILE,
        "campaign_id": ((index % groups) % campaigns + 10_000).cast(pl.Utf8),
        "ad_group_id": (index % groups + 20_000).cast(pl.Utf8), "state": "enabled",
        "bid": ((index % 150) / 100 + 0.2).round(2).cast(pl.Utf8),
        "match_type": "exact", "keyword_text": "keyword " + index.cast(pl.Utf8), "synced_at": now,
    })  # fmt: skip
    upsert_rows(engine, TargetRecord, target_frame)
    rows = 0
    for day in range(days):
        active = index.filter((index * 7 + day) % 4 == 0)
        clicks = (active * 13 + day) % 9
        orders = ((active + day) % 11 == 0).cast(pl.Int64) * (clicks > 3).cast(pl.Int64)
        facts = pl.DataFrame({
            "entity_kind": "keyword", "entity_id": (active + 1_000_000).cast(pl.Utf8),
            "date": TODAY - timedelta(days=day + 1), "profile_id": PROFILE,
            "impressions": clicks * 40 + 10, "clicks": clicks, "cost": clicks * 0.63,
            "orders": orders, "sales": orders * 24.0, "units": orders,
        })  # fmt: skip
        rows += upsert_rows(engine, TargetFactRecord, facts)
    return rows


def _build(url: str, targets: int, days: int) -> None:
    start = time.perf_counter()
    facts = _populate(url, targets, days)
    print(f"setup: {targets:,} targets, {facts:,} fact rows in {time.perf_counter() - start:.1f}s")


def _prepare(url: str, path: Path, targets: int, days: int) -> None:
    """Build the database in a child process, so the plan's peak memory is measured alone."""
    if path.exists():
        print(f"setup: reusing {path}")
    else:
        child = multiprocessing.get_context("spawn").Process(
            target=_build, args=(url, targets, days)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"setup failed with exit code {child.exitcode}")
    # Empty the ledger of an earlier run. Foreign keys off: changes reference changes (reverts)
    # without an index, so SQLite would scan the table once per deleted row.
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("DELETE FROM changes")
        connection.execute("DELETE FROM notifications")
        connection.execute("DELETE FROM review_items")
    connection.close()


class TreeMemory:
    """Samples the resident memory of this process plus all its children every 10 ms.

    ``ru_maxrss`` of children reports the largest single child, not what runs at once; the
    plan's reads run two children beside this process, so their sum is what a host must hold.
    Linux only (reads /proc); elsewhere it reports this process's own peak.
    """

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.01):
            total = 0
            for pid in _tree(os.getpid()):
                try:
                    with open(f"/proc/{pid}/statm") as statm:
                        total += int(statm.read().split()[1]) * page
                except (OSError, IndexError, ValueError):
                    continue
            self.peak = max(self.peak, total)


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except OSError:
            continue
    return pids


def main() -> None:
    """Build the profile, then time each phase of ``plan``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--db", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db.resolve() if args.db else Path(folder) / "bench.db"
        url = f"sqlite:///{path}"
        _prepare(url, path, args.targets, args.days)
        # Measured in a fresh process, so its peak memory (and its children's) is the plan's own.
        child = multiprocessing.get_context("spawn").Process(target=_measure, args=(url,))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"the measurement failed with exit code {child.exitcode}")


def _measure(url: str) -> None:
    engine = make_engine(url)
    rule_set = load_rule_set([RULES])
    settings = EngineSettings(
        profile_id=PROFILE, timezone="America/Los_Angeles", marketplace=marketplace_for("US"),
        mode="apply", target_acos=0.3, guardrails=guardrail_config(Settings().guardrails),
    )  # fmt: skip
    now = datetime(2026, 6, 1, 15, tzinfo=UTC)
    lookback = facts_lookback_days(rule_set, settings)

    start = time.perf_counter()
    with engine.connect() as connection:
        baseline_rows = connection.exec_driver_sql(
            "SELECT COUNT(*), SUM(cost) FROM target_facts"
        ).one()[0]
    baseline = time.perf_counter() - start

    with TreeMemory() as tree:
        phases, cpu, plan = _phases(engine, rule_set, settings, now, lookback)
    engine.dispose()

    total = sum(phases.values())
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak_mb = max(tree.peak, own_peak) / 2**20
    cpu_total = sum(cpu.values())
    print(f"baseline scan of {baseline_rows:,} fact rows: {baseline:.3f}s")
    for name, seconds in phases.items():
        print(
            f"{name:52s} {seconds:7.3f}s  ({seconds / baseline:6.1f}x baseline)"
            f"  cpu {cpu[name]:6.3f}s"
        )
    print(
        f"{'total':52s} {total:7.3f}s  ({total / baseline:6.1f}x baseline)  cpu {cpu_total:6.3f}s"
    )
    print(f"proposals {len(plan.proposals):,}, review items {len(plan.reviews):,}")
    print(
        f"peak memory of the plan phases {peak_mb:,.0f} MB (this process and its children at once)"
    )


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _phases(
    engine: Engine, rule_set: RuleSet, settings: EngineSettings, now: datetime, lookback: int
) -> tuple[dict[str, float], dict[str, float], Plan]:
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(name: str, start: float, cpu_start: float) -> None:
        phases[name], cpu[name] = time.perf_counter() - start, _cpu() - cpu_start

    start, cpu_start = time.perf_counter(), _cpu()
    with engine.connect() as connection:
        inputs = read_engine_inputs(connection, PROFILE, TODAY, facts_lookback_days=lookback)
    timed(f"load inputs ({inputs.facts.height:,} fact rows, {lookback} days)", start, cpu_start)
    start, cpu_start = time.perf_counter(), _cpu()
    plan = evaluate(rule_set, inputs, settings, now)
    timed("evaluate (windows, rules, conflicts, guardrails)", start, cpu_start)
    start, cpu_start = time.perf_counter(), _cpu()
    with session_scope(engine) as session:
        write_plan(session, None, plan, now=now, hold_expiry=timedelta(days=3))
    timed("write the plan", start, cpu_start)
    return phases, cpu, plan


if __name__ == "__main__":
    main()
