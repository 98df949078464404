"""Console page render time at real sizes: ``python -m bench.console_pages [--changes N]``.

Builds a fresh SQLite ledger with one profile, 500 campaigns with 90 days of facts, 5,000
keywords and N change rows (default 100,000, the issue's size), then measures the server time of
the overview, the change log's first and last pages, a filtered and a text-searched page, and one
change's page, through the real app (Starlette's TestClient, a signed-in admin), next to a
baseline measured in the same run: the login form, which reads nothing from the ledger. The goal
in the console issue is well under a second for every page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert
from starlette.testclient import TestClient

from bidagent.console.app import create_app
from bidagent.console.auth import Authenticator
from bidagent.console.ratelimit import AttemptLimiter
from bidagent.console.render import make_templates
from bidagent.console.sessions import SessionCodec
from bidagent.console.state import ConsoleState
from bidagent.console.users import add_user
from bidagent.settings import Settings
from bidagent.store import (
    AdGroupRecord,
    CampaignFactRecord,
    CampaignRecord,
    ChangeRecord,
    CycleRecord,
    Engine,
    ProfileRecord,
    TargetRecord,
    make_engine,
    upgrade_database,
)

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
CAMPAIGNS, KEYWORDS, DAYS = 500, 5_000, 90
PASSWORD = "bench password"


def _fill(engine: Engine, changes: int) -> None:
    today = NOW.date()
    with engine.begin() as conn:
        conn.execute(insert(ProfileRecord.__table__), [
            {"profile_id": "1", "name": "US", "country_code": "US", "currency_code": "USD",
             "timezone": "America/Los_Angeles"}])  # fmt: skip
        conn.execute(insert(CampaignRecord.__table__), [
            {"campaign_id": str(10_000 + c), "profile_id": "1", "name": f"SP {c:04d}",
             "state": "enabled", "targeting_type": "manual", "synced_at": NOW}
            for c in range(CAMPAIGNS)])  # fmt: skip
        conn.execute(insert(AdGroupRecord.__table__), [
            {"ad_group_id": str(20_000 + c), "profile_id": "1", "campaign_id": str(10_000 + c),
             "name": f"Group {c:04d}", "state": "enabled", "synced_at": NOW}
            for c in range(CAMPAIGNS)])  # fmt: skip
        conn.execute(insert(TargetRecord.__table__), [
            {"kind": "keyword", "target_id": str(30_000 + k), "profile_id": "1",
             "campaign_id": str(10_000 + k % CAMPAIGNS), "ad_group_id": str(20_000 + k % CAMPAIGNS),
             "state": "enabled", "match_type": "exact", "keyword_text": f"term {k}",
             "synced_at": NOW}
            for k in range(KEYWORDS)])  # fmt: skip
        conn.execute(insert(CampaignFactRecord.__table__), [
            {"campaign_id": str(10_000 + c), "date": today - dt.timedelta(days=d), "profile_id": "1",
             "impressions": 900, "clicks": 30, "cost": 12.5, "orders": 3, "sales": 60.0, "units": 3}
            for c in range(CAMPAIGNS) for d in range(1, DAYS + 1)])  # fmt: skip
        conn.execute(insert(CycleRecord.__table__), [
            {"profile_id": "1", "business_date": today - dt.timedelta(days=d), "schedule": "daily",
             "mode": "live", "trigger": "daemon", "outcome": "succeeded", "phase": "applied",
             "started_at": NOW, "finished_at": NOW, "recorded_at": NOW}
            for d in range(DAYS)])  # fmt: skip
        rows = []
        for n in range(changes):
            k = n % KEYWORDS
            when = NOW - dt.timedelta(minutes=n)
            rows.append({
                "cycle_id": 1 + n % DAYS, "profile_id": "1", "entity_kind": "keyword",
                "entity_id": str(30_000 + k), "entity_name": f"term {k}",
                "campaign_id": str(10_000 + k % CAMPAIGNS), "ad_group_id": str(20_000 + k % CAMPAIGNS),
                "field": "bid", "old_value": "1.00", "new_value": "1.10",
                "rule_name": ("raise-winners", "cut-bleeders", "pause-far-over-target")[n % 3],
                "status": ("applied", "held", "superseded", "dry_run")[n % 4],
                "actor": "external" if n % 50 == 0 else "rule", "attempts": 1,
                "created_at": when, "updated_at": when, "finished_at": when,
            })  # fmt: skip
            if len(rows) == 10_000:
                conn.execute(insert(ChangeRecord.__table__), rows)
                rows = []
        if rows:
            conn.execute(insert(ChangeRecord.__table__), rows)


def _client(engine: Engine) -> TestClient:
    settings = Settings()
    state = ConsoleState(
        settings=settings, engine=engine, clock=lambda: NOW,
        auth=Authenticator(settings.console, engine),
        codec=SessionCodec("bench secret", max_age_s=3600),
        limiter=AttemptLimiter(5, 900), templates=make_templates(),
        health=lambda: (True, "bench"), open_agent=lambda: None,
    )  # fmt: skip
    add_user(engine, "admin", "admin", PASSWORD, now=NOW)
    client = TestClient(create_app(state), follow_redirects=False)
    page = client.get("/login").text
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf_token": token})
    return client


def _timed(client: TestClient, url: str, repeat: int = 5) -> float:
    """The best of ``repeat`` GETs, in seconds (the first warms the caches)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        best = min(best, time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return best


def main(argv: list[str] | None = None) -> None:
    """Fill a ledger, time each page, print milliseconds and ratios to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade_database(engine)
        started = time.perf_counter()
        _fill(engine, args.changes)
        print(f"ledger: {args.changes:,} changes, {CAMPAIGNS * DAYS:,} campaign days "
              f"({time.perf_counter() - started:.1f} s to build)")  # fmt: skip
        client = _client(engine)
        baseline = _timed(client, "/login")
        pages: dict[str, Callable[[], str]] = {
            "overview, 90 days": lambda: "/?days=90",
            "change log, first page": lambda: "/changes",
            "change log, last page": lambda: "/changes?before=60",
            "change log, one campaign": lambda: "/changes?campaign=10007",
            "change log, status + actor": lambda: "/changes?status=applied&actor=external",
            "change log, text search": lambda: "/changes?q=term%204242",
            "one change": lambda: f"/changes/{args.changes // 2}",
        }
        print(f"{'baseline: login form':<34} {baseline * 1000:8.1f} ms")
        for label, url in pages.items():
            seconds = _timed(client, url())
            print(f"{label:<34} {seconds * 1000:8.1f} ms  {seconds / baseline:6.1f}x baseline")
        client.close()
        engine.dispose()


if __name__ == "__main__":
    main()
