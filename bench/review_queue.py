"""The review queue at real sizes: ``python -m bench.review_queue [--items N] [--changes M]``.

Seeds a fresh, migrated SQLite ledger with N open review items (default 20,000: single-change
approvals that recurred, so each holds one held and one superseded proposal; a few blast-radius
batches of 800 held changes; alerts holding none) and M change rows in all (default 100,000, the
rest applied changes outside the queue), then times, in server time (no network):

* the store's queries (count, first page, last page, every grouping);
* the console's ``/review`` page and its htmx partials, ``/review/{id}`` of a batch, and the JSON
  API's listing, through Starlette's TestClient with a signed-in approver;
* ``bidagent review`` (the CLI's default listing) and ``--format json``.

Each is run a few times and the best is printed; the issue's bar is "well under a second".
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bidagent.cli.app import app as cli_app
from bidagent.console.app import create_app
from bidagent.console.auth import Authenticator
from bidagent.console.ratelimit import AttemptLimiter
from bidagent.console.render import make_templates
from bidagent.console.sessions import SessionCodec
from bidagent.console.state import ConsoleState
from bidagent.console.users import add_user, issue_token
from bidagent.settings import load_settings
from bidagent.store import (
    ChangeRecord,
    Engine,
    ReviewItemRecord,
    Session,
    make_engine,
    upgrade_database,
)
from bidagent.store.review_queue import (
    GROUPINGS,
    ItemFilter,
    count_items,
    group_items,
    page_items,
)

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
BATCH = 800
BATCHES = 40
CAMPAIGNS = 200


def _change(item_id: int, rule: str, status: str, entity_id: str, campaign: int) -> dict[str, Any]:
    return {
        "profile_id": "1", "entity_kind": "keyword", "entity_id": entity_id,
        "campaign_id": f"c{campaign}", "ad_group_id": f"g{campaign}", "field": "bid",
        "old_value": "1.00", "new_value": "0.80", "rule_name": rule, "status": status,
        "actor": "rule", "review_item_id": item_id, "attempts": 0,
        "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip


def _seed(engine: Engine, items: int, changes: int) -> int:
    """Insert the items and changes; return the id of one batch item."""
    item_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    alerts = max(items // 10, 0)
    singles = items - BATCHES - alerts
    for n in range(items):
        item_id = n + 1
        if n < BATCHES:
            kind, rule, entity = "guardrail", f"rule-{n % 12}", None
        elif n < BATCHES + singles:
            kind, rule, entity = "approval", f"rule-{n % 12}", f"kw{n}"
        else:
            kind, rule, entity = "alert", "spend-spike", None
        item_rows.append({
            "id": item_id, "kind": kind, "severity": ("info", "warning", "critical")[n % 3],
            "profile_id": "1", "entity_kind": "keyword" if entity else None, "entity_id": entity,
            "entity_name": f"keyword {n}" if entity else None, "rule_name": rule,
            "summary": f"{rule}: item {n}", "status": "open", "dedupe_key": f"k{n}",
            "occurrences": 1, "first_seen_at": NOW, "last_seen_at": NOW,
        })  # fmt: skip
        if kind == "guardrail":
            change_rows += [
                _change(item_id, rule, "held", f"b{n}-{k}", k % CAMPAIGNS) for k in range(BATCH)
            ]
        elif kind == "approval":
            change_rows.append(_change(item_id, rule, "superseded", entity or "", n % CAMPAIGNS))
            change_rows.append(_change(item_id, rule, "held", entity or "", n % CAMPAIGNS))
    for n in range(max(changes - len(change_rows), 0)):
        row = {**change_rows[n % len(change_rows)], "status": "applied", "review_item_id": None}
        change_rows.append(row)
    with engine.begin() as conn:
        conn.execute(insert(ReviewItemRecord.__table__), item_rows)  # type: ignore[attr-defined]
        conn.execute(insert(ChangeRecord.__table__), change_rows)  # type: ignore[attr-defined]
    return 1


def _best(label: str, action: Callable[[], Any], runs: int = 3) -> None:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    print(f"{label:<52} {min(times) * 1000:>9.1f} ms")


def _client(engine: Engine, config: Path) -> tuple[TestClient, str]:
    settings = load_settings(config)
    state = ConsoleState(
        settings=settings, engine=engine, clock=lambda: NOW,
        auth=Authenticator(settings.console, engine),
        codec=SessionCodec("bench-secret", max_age_s=3600), limiter=AttemptLimiter(5, 60.0),
        templates=make_templates(), health=lambda: (True, "bench"),
        open_agent=lambda: (_ for _ in ()).throw(RuntimeError("no agent in the benchmark")),
    )  # fmt: skip
    add_user(engine, "lead", "approver", "a long bench password", now=NOW)
    token = issue_token(engine, "lead", now=NOW)
    return TestClient(create_app(state)), token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "ledger.db"
        config = Path(folder) / "bidagent.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
        engine = make_engine(f"sqlite:///{db}")
        upgrade_database(engine)
        started = time.perf_counter()
        batch = _seed(engine, args.items, args.changes)
        print(f"seeded {args.items:,} items, {args.changes:,} changes "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        where = ItemFilter()
        with Session(engine) as session:
            total = count_items(session, where)
            _best("store: count open items", lambda: count_items(session, where))
            _best("store: first page (50)", lambda: page_items(session, where, limit=50))
            _best("store: last page (50)",
                  lambda: page_items(session, where, offset=total - 50, limit=50))  # fmt: skip
            _best("store: by severity, first page",
                  lambda: page_items(session, where, sort="severity", limit=50))  # fmt: skip
            for by in GROUPINGS:
                _best(f"store: group by {by}", lambda by=by: group_items(session, where, by))  # type: ignore[misc]
            one = ItemFilter(campaign_id="c7")
            _best("store: one campaign's first page", lambda: page_items(session, one, limit=50))
        client, token = _client(engine, config)
        auth = {"Authorization": f"Bearer {token}"}
        for path in ("/review", "/review?by=rule", "/review?by=campaign",
                     "/review/list?rule=rule-3", f"/review/{batch}",
                     f"/review/{args.items}", "/api/review-items?limit=50"):  # fmt: skip
            response = client.get(path, headers=auth)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            _best(f"console: GET {path}", lambda path=path: client.get(path, headers=auth))  # type: ignore[misc]
        runner = CliRunner()
        for extra in ([], ["--format", "json"]):
            result = runner.invoke(cli_app, ["--config", str(config), "review", *extra])
            assert result.exit_code == 0, result.output
            _best(f"cli: bidagent review {' '.join(extra)}".rstrip(),
                  lambda extra=extra: runner.invoke(cli_app, ["--config", str(config), "review", *extra]))  # type: ignore[misc]  # fmt: skip
        engine.dispose()


if __name__ == "__main__":
    main()
