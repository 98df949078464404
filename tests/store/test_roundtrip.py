"""Round-trips: what goes into each table comes back equal, typed as it went in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Date, Float, Integer, Numeric, String, Table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel, select

from bidagent.store import (
    ChangeRecord,
    CycleRecord,
    TargetRecord,
    session_scope,
)
from bidagent.store.types import UTCDateTime

UTC = dt.UTC
TOKYO = dt.timezone(dt.timedelta(hours=9))
WHEN = dt.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=TOKYO)  # a DST night in Europe
JSON_VALUE = {
    "window": "14d",
    "values": [1, 2.5, None, True],
    "text": "Bürste 日本",
    "n": {"a": []},
}


def _models() -> dict[str, type[SQLModel]]:
    return {
        mapper.class_.__tablename__: mapper.class_  # type: ignore[misc]
        for mapper in SQLModel._sa_registry.mappers  # type: ignore[attr-defined]
        if hasattr(mapper.class_, "__tablename__")
    }


def _sample(table: Table, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A row for ``table`` with a non-default value in every column; foreign keys point at ``done``."""
    row: dict[str, Any] = {}
    for column in table.columns:
        foreign = next(iter(column.foreign_keys), None)
        if foreign is not None:
            target = foreign.column
            row[column.name] = (
                None if target.table is table else done[target.table.name][target.name]
            )
            continue
        kind = column.type
        if isinstance(kind, TypeDecorator) and not isinstance(kind, UTCDateTime):
            kind = kind.impl_instance  # sqlmodel's AutoString wraps String
        if isinstance(kind, UTCDateTime):
            row[column.name] = WHEN
        elif isinstance(kind, JSON):
            row[column.name] = JSON_VALUE
        elif isinstance(kind, Numeric) and not isinstance(kind, Float):
            row[column.name] = Decimal("1234.05")
        elif isinstance(kind, Float):
            row[column.name] = 0.1 + 0.2
        elif isinstance(kind, Boolean):
            row[column.name] = True
        elif isinstance(kind, Integer):
            row[column.name] = 7
        elif isinstance(kind, Date):
            row[column.name] = dt.date(2026, 2, 28)
        elif isinstance(kind, String):
            length = kind.length or 64
            row[column.name] = f"{column.name}-é"[:length]
        else:
            raise AssertionError(f"{table.name}.{column.name}: add a sample for {kind!r}")
    return row


def test_every_table_round_trips(engine: Engine) -> None:
    """Each table's row reads back equal: aware UTC datetimes, exact Decimals, JSON as written."""
    models = _models()
    written: dict[str, dict[str, Any]] = {}
    for table in SQLModel.metadata.sorted_tables:
        written[table.name] = _sample(table, written)
        with session_scope(engine) as session:
            session.add(models[table.name](**written[table.name]))

    for table in SQLModel.metadata.sorted_tables:
        model = models[table.name]
        key = tuple(written[table.name][c.name] for c in table.primary_key.columns)
        with session_scope(engine) as session:
            loaded = session.get(model, key)
        assert loaded is not None, table.name
        values = {c.name: getattr(loaded, c.name) for c in table.columns}
        assert values == written[table.name], table.name
        for column in table.columns:
            value = values[column.name]
            if isinstance(column.type, UTCDateTime):
                assert value.tzinfo == UTC, f"{table.name}.{column.name}"
            if isinstance(column.type, Numeric) and not isinstance(column.type, Float):
                assert str(value) == "1234.05", f"{table.name}.{column.name}"


def test_datetimes_come_back_aware_in_utc(engine: Engine) -> None:
    """A datetime written in any zone reads back as the same instant, in UTC."""
    with session_scope(engine) as session:
        session.add(
            CycleRecord(
                profile_id="p",
                business_date=dt.date(2026, 1, 1),
                mode="live",
                started_at=WHEN,
                finished_at=WHEN + dt.timedelta(minutes=3),
            )
        )
    with session_scope(engine) as session:
        cycle = session.exec(select(CycleRecord)).one()
    assert (cycle.started_at, cycle.finished_at) == (
        dt.datetime(2026, 3, 28, 16, 30, 15, 123456, tzinfo=UTC),
        dt.datetime(2026, 3, 28, 16, 33, 15, 123456, tzinfo=UTC),
    )
    assert cycle.started_at is not None
    assert cycle.started_at.tzinfo is UTC


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    """A naive datetime never reaches the database: it would be ambiguous on SQLite."""
    with pytest.raises(StatementError, match="naive datetime"), session_scope(engine) as session:
        session.add(
            CycleRecord(
                profile_id="p",
                business_date=dt.date(2026, 1, 1),
                mode="live",
                started_at=dt.datetime(2026, 1, 1, 7, 0),
            )
        )


@pytest.mark.parametrize("bid", ["0.02", "0.10", "999999999999.99", "1.5"])
def test_money_is_exact(engine: Engine, bid: str) -> None:
    """Bids come back as the exact Decimal written, never a float approximation."""
    with session_scope(engine) as session:
        session.add(
            TargetRecord(
                kind="keyword",
                target_id="t1",
                profile_id="p",
                campaign_id="c",
                ad_group_id=_ad_group(session),
                state="enabled",
                bid=Decimal(bid),
                match_type="exact",
                synced_at=WHEN,
            )
        )
    with session_scope(engine) as session:
        target = session.exec(select(TargetRecord)).one()
    assert target.bid == Decimal(bid)
    assert isinstance(target.bid, Decimal)
    assert target.bid.quantize(Decimal("0.01")) == Decimal(bid)


def _ad_group(session: Any) -> str:
    from bidagent.store import AdGroupRecord, CampaignRecord, ProfileRecord

    session.add(
        ProfileRecord(profile_id="p", country_code="US", currency_code="USD", timezone="UTC")
    )
    session.flush()
    session.add(
        CampaignRecord(
            campaign_id="c",
            profile_id="p",
            name="SP c",
            state="enabled",
            targeting_type="manual",
            synced_at=WHEN,
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
            synced_at=WHEN,
        )
    )
    session.flush()
    return "g"


def test_json_columns_keep_nested_structures(engine: Engine) -> None:
    """JSON evidence and notes come back as the same dicts and lists, unicode included."""
    with session_scope(engine) as session:
        session.add(
            ChangeRecord(
                profile_id="p",
                entity_kind="keyword",
                entity_id="k1",
                field="bid",
                old_value="0.50",
                new_value="0.40",
                evidence=JSON_VALUE,
                notes=["clamped to floor", "ü"],
                payload=None,
                created_at=WHEN,
                updated_at=WHEN,
            )
        )
    with session_scope(engine) as session:
        change = session.exec(select(ChangeRecord)).one()
    assert (change.evidence, change.notes, change.payload) == (
        JSON_VALUE,
        ["clamped to floor", "ü"],
        None,
    )
