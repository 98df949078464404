"""Report ingest throughput: ``python -m bench.report_ingest [--rows N]``.

Builds a gzipped spTargeting report of N daily rows shaped like Amazon's (numeric ids, the
columns bidagent requests), then measures, in one run:

* parse: gunzip + validation + normalisation into fact rows (``bidagent.ads.parse_report``),
  against a baseline of gunzip + plain ``json.loads`` (no validation at all);
* store: upsert of the parsed frame into a fresh, migrated SQLite file's ``target_facts``
  (``upsert_rows``, one transaction), against a baseline of plain ``sqlite3`` ``executemany``
  INSERTs into a table of the same shape without conflict handling.

The issue's aim: at least 200,000 rows/s parse and 100,000 rows/s stored. Not a test: numbers
vary by machine; run it on a quiet one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bidagent.ads import parse_report
from bidagent.store import TargetFactRecord, make_engine, upgrade_database, upsert_rows

START = date(2024, 4, 1)
DAYS = 31
_TYPES = ("EXACT", "PHRASE", "BROAD", "TARGETING_EXPRESSION", "TARGETING_EXPRESSION_PREDEFINED")


def build_report(rows: int, seed: int = 7) -> bytes:
    """A gzipped JSON array of ``rows`` spTargeting rows over 31 days."""
    rng = random.Random(seed)
    data = []
    for n in range(rows):
        entity, day = divmod(n, DAYS)
        kind = _TYPES[entity % len(_TYPES)]
        clicks = rng.randint(0, 40)
        orders = rng.randint(0, min(clicks, 4))
        data.append({
            "date": (START + timedelta(days=day)).isoformat(),
            "campaignId": 140000000000000 + entity % 400,
            "adGroupId": 250000000000000 + entity % 3000,
            "keywordId": 360000000000000 + entity,
            "keywordType": kind, "matchType": kind, "targeting": f"keyword {entity}",
            "impressions": clicks * rng.randint(20, 200), "clicks": clicks,
            "cost": round(clicks * rng.uniform(0.2, 2.5), 2), "purchases7d": orders,
            "sales7d": round(orders * rng.uniform(10, 60), 2), "unitsSoldClicks7d": orders,
        })  # fmt: skip
    return gzip.compress(json.dumps(data).encode(), 6)


def _best(func, repeat: int) -> float:
    """Best of ``repeat`` wall-clock timings (less noise from the rest of the machine)."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    report = build_report(args.rows)
    end = START + timedelta(days=DAYS - 1)

    def ours():
        return parse_report("spTargeting", gzip.decompress(report), profile_id="1",
                            start=START, end=end)  # fmt: skip

    def baseline_parse():
        return json.loads(gzip.decompress(report))

    parse_s = _best(ours, args.repeat)
    base_parse_s = _best(baseline_parse, args.repeat)
    facts = ours()
    rows = facts.height

    with tempfile.TemporaryDirectory() as folder:
        store_s = []
        for n in range(args.repeat):
            engine = make_engine(f"sqlite:///{Path(folder)}/store{n}.db")
            upgrade_database(engine)
            began = time.perf_counter()
            upsert_rows(engine, TargetFactRecord, facts)
            store_s.append(time.perf_counter() - began)
            engine.dispose()
        tuples = [tuple(r) for r in facts.with_columns(facts["date"].cast(str)).iter_rows()]
        base_store_s = []
        for n in range(args.repeat):
            conn = sqlite3.connect(Path(folder) / f"base{n}.db")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(
                "CREATE TABLE facts (entity_kind TEXT, entity_id TEXT, date TEXT, profile_id TEXT, "
                "impressions INT, clicks INT, cost REAL, orders INT, sales REAL, units INT, "
                "PRIMARY KEY (entity_kind, entity_id, date))"
            )
            began = time.perf_counter()
            with conn:
                conn.executemany("INSERT INTO facts VALUES (?,?,?,?,?,?,?,?,?,?)", tuples)
            base_store_s.append(time.perf_counter() - began)
            conn.close()

    parse_rate, base_parse_rate = rows / parse_s, rows / base_parse_s
    store_rate, base_store_rate = rows / min(store_s), rows / min(base_store_s)
    print(f"report: {rows:,} spTargeting rows, {len(report) / 1e6:.1f} MB gzipped")
    print(
        f"parse  (gunzip + validate + normalise): {parse_rate:>12,.0f} rows/s "
        f"({parse_rate / base_parse_rate:.2f}x gunzip+json.loads at {base_parse_rate:,.0f} rows/s)"
    )
    print(f"store  (upsert_rows into SQLite):      {store_rate:>12,.0f} rows/s "
          f"({store_rate / base_store_rate:.2f}x plain sqlite3 executemany at "
          f"{base_store_rate:,.0f} rows/s)")  # fmt: skip
    print(
        f"aim: parse >= 200,000 rows/s {'met' if parse_rate >= 200_000 else 'NOT met'}; "
        f"store >= 100,000 rows/s {'met' if store_rate >= 100_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
