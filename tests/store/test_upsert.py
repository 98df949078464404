"""Bulk upsert: facts keyed by (entity, date) overwrite on conflict, from dicts or a polars frame."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bidagent.store import (
    AdGroupRecord,
    CampaignRecord,
    ProfileRecord,
    TargetFactRecord,
    TargetRecord,
    session_scope,
    upsert_rows,
)

DAY = dt.date(2026, 4, 1)
SYNCED = dt.datetime(2026, 4, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-7)))


def _fact(entity_id: str, day: dt.date, clicks: int, cost: float) -> dict[str, Any]:
    return {
        "entity_kind": "keyword",
        "entity_id": entity_id,
        "date": day,
        "profile_id": "p",
        "impressions": clicks * 10,
        "clicks": clicks,
        "cost": cost,
        "orders": 1,
        "sales": 25.5,
        "units": 2,
    }


def _facts(engine: Engine) -> list[tuple[Any, ...]]:
    with session_scope(engine) as session:
        rows = session.exec(select(TargetFactRecord)).all()
    return sorted(
        (r.entity_id, r.date, r.impressions, r.clicks, r.cost, r.orders, r.sales, r.units)
        for r in rows
    )


def test_upsert_from_dicts_overwrites_on_conflict(engine: Engine) -> None:
    """The same (entity, date) written twice leaves one row holding the second values."""
    assert (
        upsert_rows(engine, TargetFactRecord, [_fact("k1", DAY, 3, 1.5), _fact("k2", DAY, 1, 0.5)])
        == 2
    )
    assert upsert_rows(engine, TargetFactRecord, [_fact("k1", DAY, 9, 4.25)]) == 1
    assert _facts(engine) == [
        ("k1", DAY, 90, 9, 4.25, 1, 25.5, 2),
        ("k2", DAY, 10, 1, 0.5, 1, 25.5, 2),
    ]


def test_upsert_from_a_polars_frame_overwrites_on_conflict(engine: Engine) -> None:
    """A polars frame (Date column) upserts like dicts, and re-upserting restated days overwrites."""
    days = [DAY, DAY + dt.timedelta(days=1)]
    first = pl.DataFrame([_fact("k1", d, 2, 1.0) for d in days])
    assert first.schema["date"] == pl.Date
    upsert_rows(engine, TargetFactRecord, first)
    restated = pl.DataFrame([_fact("k1", days[1], 5, 2.0), _fact("k3", days[0], 1, 0.25)])
    upsert_rows(engine, TargetFactRecord, restated)
    assert _facts(engine) == [
        ("k1", days[0], 20, 2, 1.0, 1, 25.5, 2),
        ("k1", days[1], 50, 5, 2.0, 1, 25.5, 2),
        ("k3", days[0], 10, 1, 0.25, 1, 25.5, 2),
    ]


def _target(bid: str, expression: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        "kind": "product_target",
        "target_id": "t1",
        "profile_id": "p",
        "campaign_id": "c",
        "ad_group_id": "g",
        "state": "enabled",
        "bid": Decimal(bid),
        "match_type": "targeting_expression",
        "targeting": 'asin="B0TEST"',
        "expression": expression,
        "synced_at": SYNCED,
    }


@pytest.mark.parametrize("as_frame", [False, True], ids=["dicts", "frame"])
def test_upsert_entities_with_json_decimal_and_datetime(engine: Engine, as_frame: bool) -> None:
    """Entity upserts keep JSON structures, exact Decimals and aware UTC datetimes on both backends."""
    with session_scope(engine) as session:
        session.add(
            ProfileRecord(profile_id="p", country_code="US", currency_code="USD", timezone="UTC")
        )
        session.flush()
        session.add(
            CampaignRecord(
                campaign_id="c",
                profile_id="p",
                name="SP",
                state="enabled",
                targeting_type="manual",
                synced_at=SYNCED,
            )
        )
        session.flush()
        session.add(
            AdGroupRecord(
                ad_group_id="g",
                profile_id="p",
                campaign_id="c",
                name="g",
                state="enabled",
                synced_at=SYNCED,
            )
        )
    expression = [{"type": "asinSameAs", "value": "B0TEST"}]
    rows = [_target("0.35", None), _target("0.41", expression)]
    for row in rows:
        data: Any = [row]
        if as_frame:
            data = pl.DataFrame([row], schema_overrides={"expression": pl.Object})
        upsert_rows(engine, TargetRecord, data)
    with session_scope(engine) as session:
        target = session.exec(select(TargetRecord)).one()
    assert (target.bid, target.expression, target.synced_at) == (
        Decimal("0.41"),
        expression,
        dt.datetime(2026, 4, 2, 16, 30, tzinfo=dt.UTC),
    )
    assert target.synced_at.tzinfo is dt.UTC


def test_upsert_joins_the_callers_transaction(engine: Engine) -> None:
    """Given a connection, the upsert is part of the caller's transaction and rolls back with it."""
    connection = engine.connect()
    transaction = connection.begin()
    upsert_rows(connection, TargetFactRecord, [_fact("k1", DAY, 3, 1.5)])
    assert connection.exec_driver_sql("SELECT count(*) FROM target_facts").scalar() == 1
    transaction.rollback()
    connection.close()
    assert _facts(engine) == []


def test_upsert_rejects_rows_without_the_key_or_with_unknown_columns(engine: Engine) -> None:
    """A row missing a key column, or naming a column the table lacks, is refused before writing."""
    missing = {k: v for k, v in _fact("k1", DAY, 1, 1.0).items() if k != "date"}
    with pytest.raises(ValueError, match=r"lack key column\(s\) \['date'\]"):
        upsert_rows(engine, TargetFactRecord, [missing])
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['clickz'\]"):
        upsert_rows(engine, TargetFactRecord, [{**_fact("k1", DAY, 1, 1.0), "clickz": 1}])
    assert upsert_rows(engine, TargetFactRecord, []) == 0
    assert _facts(engine) == []


def test_upsert_in_chunks_writes_every_row(engine: Engine) -> None:
    """Rows spread over several driver batches all arrive."""
    rows = [_fact(f"k{i}", DAY, i, float(i)) for i in range(25)]
    assert upsert_rows(engine, TargetFactRecord, rows, chunk_size=4) == 25
    assert len(_facts(engine)) == 25
