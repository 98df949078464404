"""FrameReader: the child-process read gives exactly the frames of the in-process read, or falls back."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from bidagent.store import (
    AdGroupRecord,
    BidSuggestionRecord,
    CampaignRecord,
    ProfileRecord,
    SearchTermFactRecord,
    TargetFactRecord,
    TargetRecord,
    make_engine,
    session_scope,
    upsert_rows,
)
from bidagent.store import engine_inputs as inputs_module
from bidagent.store.columnar import FrameReader, Query
from bidagent.store.engine_inputs import read_engine_inputs

PROFILE = "1000000000000001"
TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
SCHEMA = {"label": pl.Utf8, "amount": pl.Float64, "count": pl.Int64, "day": pl.Utf8}


@pytest.fixture
def odd_table(tmp_path: Path) -> Engine:
    """A SQLite file whose first 3,000 rows are NULL, then text, mixed int/real and dates."""
    engine = make_engine(f"sqlite:///{tmp_path}/odd.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE odd (label TEXT, amount NUMERIC, count INTEGER, day DATE)"))  # fmt: skip
        connection.execute(text(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000) "
            "INSERT INTO odd SELECT NULL, NULL, NULL, NULL FROM s"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO odd VALUES ('x', 50, 1, '2026-05-01'), ('y', 50.25, 2, '2026-05-02'), "
            "('z', 12345678.91, 3000000000, '2026-05-03')"
        ))  # fmt: skip
    return engine


def _both(engine: Engine, query: Query) -> tuple[pl.DataFrame, pl.DataFrame, bool]:
    with engine.connect() as connection:
        reader = FrameReader(connection)
        pending = reader.submit([query], in_child=True)
        (child,) = pending.result()
        here = reader.frame(query.sql, query.params, query.schema)
    return child, here, pending.in_child


def test_child_read_equals_the_in_process_read_with_nulls_first_and_mixed_numbers(
    odd_table: Engine,
) -> None:
    """NULL-led text, NUMERIC holding both 50 and 50.25, and big integers come back identical."""
    query = Query(
        "SELECT label, amount, count, day FROM odd WHERE rowid > :skip", {"skip": 0}, SCHEMA
    )
    with capture_logs() as logs:
        child, here, _ = _both(odd_table, query)
    assert [e for e in logs if e["event"] == "columnar_read_fell_back"] == []
    assert child.schema == pl.Schema(SCHEMA)
    assert child.equals(here)
    assert child.tail(3).rows() == [
        ("x", 50.0, 1, "2026-05-01"),
        ("y", 50.25, 2, "2026-05-02"),
        ("z", 12345678.91, 3_000_000_000, "2026-05-03"),
    ]


def test_text_in_a_numeric_column_falls_back_to_the_exact_read(odd_table: Engine) -> None:
    """The child's typed-as-text number is never parsed: the in-process read answers instead."""
    with odd_table.begin() as connection:
        connection.execute(text("INSERT INTO odd VALUES ('w', 'n/a', 4, '2026-05-04')"))
    query = Query("SELECT label, amount, count, day FROM odd WHERE label IS NOT NULL", {}, SCHEMA)
    with capture_logs() as logs:
        child, here, _ = _both(odd_table, query)
    fell_back = [e["reason"] for e in logs if e["event"] == "columnar_read_fell_back"]
    assert fell_back == ["column amount came back as text"]
    assert child.equals(here)
    assert child["amount"].to_list() == [50.0, 50.25, 12345678.91, None]


def test_a_child_that_cannot_start_falls_back(
    odd_table: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No interpreter to run the child: the rows are read here, and the reason is logged."""
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    query = Query("SELECT label, amount, count, day FROM odd", {}, SCHEMA)
    with capture_logs() as logs:
        child, here, in_child = _both(odd_table, query)
    assert in_child is False
    assert [e["event"] for e in logs] == ["columnar_read_fell_back"]
    assert child.equals(here) and child.height == 3003


def test_a_failing_query_in_the_child_falls_back_with_the_reason(odd_table: Engine) -> None:
    """A query the child cannot run is retried here, where its error surfaces as usual."""
    query = Query("SELECT nope FROM odd", {}, {"nope": pl.Utf8})
    with odd_table.connect() as connection, capture_logs() as logs:
        pending = FrameReader(connection).submit([query], in_child=True)
        with pytest.raises(Exception, match="no such column: nope"):
            pending.result()
    reasons = [e["reason"] for e in logs if e["event"] == "columnar_read_fell_back"]
    assert len(reasons) == 1 and "no such column: nope" in reasons[0]


def _populate(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(
            ProfileRecord(profile_id=PROFILE, country_code="US", currency_code="USD",
                          timezone="America/Los_Angeles", synced_at=NOW)
        )  # fmt: skip
    upsert_rows(engine, CampaignRecord, [
        {"campaign_id": "10", "profile_id": PROFILE, "name": "SP Shoes", "state": "enabled",
         "targeting_type": "manual", "budget": Decimal("50.25"), "budget_type": "daily",
         "synced_at": NOW},
    ])  # fmt: skip
    upsert_rows(engine, AdGroupRecord, [
        {"ad_group_id": "20", "profile_id": PROFILE, "campaign_id": "10", "name": "Running",
         "state": "enabled", "default_bid": Decimal("0.75"), "synced_at": NOW},
    ])  # fmt: skip
    targets = [
        {"kind": "keyword", "target_id": f"{1000 + i}", "profile_id": PROFILE,
         "campaign_id": "10", "ad_group_id": "20", "state": "enabled",
         "bid": None if i % 3 == 0 else Decimal(f"0.{10 + i}"), "match_type": "exact",
         "keyword_text": f"shoe {i}", "targeting": None, "synced_at": NOW}
        for i in range(40)
    ] + [
        {"kind": "product_target", "target_id": "2000", "profile_id": PROFILE,
         "campaign_id": "10", "ad_group_id": "20", "state": "paused", "bid": Decimal("1.5"),
         "match_type": "targeting_expression", "keyword_text": None,
         "targeting": 'asin="B0TEST"', "synced_at": NOW},
    ]  # fmt: skip
    upsert_rows(engine, TargetRecord, targets)
    upsert_rows(engine, TargetFactRecord, [
        {"entity_kind": "keyword", "entity_id": f"{1000 + i}", "profile_id": PROFILE,
         "date": TODAY - timedelta(days=d), "impressions": 100 + i, "clicks": i % 7,
         "cost": round(0.37 * (i % 7), 2), "orders": i % 2, "sales": 19.99 * (i % 2),
         "units": i % 2}
        for i in range(40) for d in range(1, 11)
    ])  # fmt: skip
    upsert_rows(engine, SearchTermFactRecord, [
        {"source_kind": "keyword", "source_id": "1001", "search_term": "red shoe",
         "date": TODAY - timedelta(days=2), "profile_id": PROFILE, "campaign_id": "10",
         "ad_group_id": "20", "impressions": 30, "clicks": 3, "cost": 1.11, "orders": 1,
         "sales": 25.5, "units": 1},
    ])  # fmt: skip
    upsert_rows(engine, BidSuggestionRecord, [
        {"kind": "keyword", "target_id": "1000", "profile_id": PROFILE, "ad_group_id": "20",
         "low": Decimal("0.61"), "median": Decimal("0.82"), "high": Decimal("1.15"),
         "fetched_at": datetime(2024, 6, 19, 6, tzinfo=UTC)},
    ])  # fmt: skip


def _read(engine: Engine) -> dict[str, pl.DataFrame]:
    with engine.connect() as connection:
        got = read_engine_inputs(connection, PROFILE, TODAY, facts_lookback_days=7)
    names = ["targets", "ad_groups", "campaigns", "search_terms", "facts", "negatives"]
    return {name: getattr(got, name) for name in names}


def test_engine_inputs_read_the_same_on_every_backend_and_path(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Targets (null bids, product targets), facts in the window and search terms, whole."""
    _populate(engine)
    monkeypatch.setattr(inputs_module, "CHILD_READ_MIN_TARGETS", 10**9)
    here = _read(engine)
    monkeypatch.setattr(inputs_module, "CHILD_READ_MIN_TARGETS", 0)
    with capture_logs() as logs:
        child = _read(engine)
    assert [e for e in logs if e["event"] == "columnar_read_fell_back"] == []
    for name, frame in here.items():
        assert frame.equals(child[name]), name
    targets = here["targets"].sort("entity_id")
    assert targets.height == 41
    assert targets.row(0, named=True) == {
        "entity_kind": "keyword", "entity_id": "1000", "profile_id": PROFILE,
        "campaign_id": "10", "campaign_name": "SP Shoes", "ad_group_id": "20",
        "ad_group_name": "Running", "state": "enabled", "bid": None, "default_bid": 0.75,
        "match_type": "exact", "keyword_text": "shoe 0", "targeting": None, "portfolio": None,
        "budget": 50.25, "suggested_bid": 0.82, "suggested_bid_low": 0.61,
        "suggested_bid_high": 1.15,
    }  # fmt: skip
    assert targets.filter(pl.col("entity_id") == "2000")["targeting"].to_list() == ['asin="B0TEST"']
    facts = here["facts"]
    assert facts.schema["date"] == pl.Date
    assert facts.height == 40 * 7 + 1
    assert facts["date"].min() == TODAY - timedelta(days=7)
    assert here["search_terms"]["entity_id"].to_list() == ["keyword:1001:red shoe"]
