"""Re-pulled report days replace their stored rows whole, atomically, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bidagent.store import SearchTermFactRecord, TargetFactRecord, session_scope
from bidagent.store.fact_days import replace_fact_days

DAY = dt.date(2026, 4, 1)
NEXT = DAY + dt.timedelta(days=1)


def _term(term: str, day: dt.date, clicks: int, profile_id: str = "p") -> dict[str, Any]:
    return {
        "source_kind": "keyword",
        "source_id": f"k-{profile_id}",
        "search_term": term,
        "date": day,
        "profile_id": profile_id,
        "campaign_id": "c1",
        "ad_group_id": "g1",
        "impressions": clicks * 10,
        "clicks": clicks,
        "cost": clicks * 0.5,
        "orders": 0,
        "sales": 0.0,
        "units": 0,
    }


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"date": pl.Date})


def _stored(engine: Engine) -> list[tuple[str, str, dt.date, int]]:
    with session_scope(engine) as session:
        rows = session.exec(select(SearchTermFactRecord)).all()
    return sorted((r.profile_id, r.search_term, r.date, r.clicks) for r in rows)


def _seed(engine: Engine) -> None:
    rows = [_term(t, d, 3) for t in ("blue mug", "red mug", "mug") for d in (DAY, NEXT)]
    rows.append(_term("red mug", DAY, 4, profile_id="other"))
    replace_fact_days(engine, "p", DAY, NEXT, {SearchTermFactRecord: _frame(rows[:-1])})
    replace_fact_days(engine, "other", DAY, DAY, {SearchTermFactRecord: _frame(rows[-1:])})


def test_repull_with_fewer_terms_leaves_exactly_the_new_rows(engine: Engine) -> None:
    """A day re-pulled with fewer search terms keeps only the new rows; other days and profiles stay."""
    _seed(engine)
    new = _frame([_term("mug", DAY, 5)])
    deleted = replace_fact_days(engine, "p", DAY, DAY, {SearchTermFactRecord: new})
    assert deleted == {"search_term_facts": 3}
    assert _stored(engine) == [
        ("other", "red mug", DAY, 4),
        ("p", "blue mug", NEXT, 3),
        ("p", "mug", DAY, 5),
        ("p", "mug", NEXT, 3),
        ("p", "red mug", NEXT, 3),
    ]


def test_repull_with_no_rows_empties_the_days(engine: Engine) -> None:
    """An empty re-pull of a day removes every row of that day for the profile."""
    _seed(engine)
    empty = _frame([_term("x", DAY, 1)]).clear()
    replace_fact_days(engine, "p", DAY, DAY, {SearchTermFactRecord: empty})
    assert _stored(engine) == [
        ("other", "red mug", DAY, 4),
        ("p", "blue mug", NEXT, 3),
        ("p", "mug", NEXT, 3),
        ("p", "red mug", NEXT, 3),
    ]


def test_failure_midway_leaves_the_old_rows(engine: Engine) -> None:
    """An insert that fails after the delete rolls the whole replacement back, in every table."""
    _seed(engine)
    target = {
        "entity_kind": "keyword", "entity_id": "k1", "date": DAY, "profile_id": "p",
        "impressions": 10, "clicks": 1, "cost": 0.5, "orders": 0, "sales": 0.0, "units": 0,
    }  # fmt: skip
    replace_fact_days(engine, "p", DAY, DAY, {TargetFactRecord: _frame([target])})
    broken = _frame([_term("mug", DAY, 5), {**_term("blue mug", DAY, 1), "campaign_id": None}])
    with pytest.raises(IntegrityError, match=r"(?i)null"):
        replace_fact_days(
            engine, "p", DAY, DAY,
            {TargetFactRecord: _frame([target]).clear(), SearchTermFactRecord: broken},
        )  # fmt: skip
    assert _stored(engine) == [
        ("other", "red mug", DAY, 4),
        ("p", "blue mug", DAY, 3),
        ("p", "blue mug", NEXT, 3),
        ("p", "mug", DAY, 3),
        ("p", "mug", NEXT, 3),
        ("p", "red mug", DAY, 3),
        ("p", "red mug", NEXT, 3),
    ]
    with session_scope(engine) as session:
        assert [r.entity_id for r in session.exec(select(TargetFactRecord)).all()] == ["k1"]


def test_rows_outside_the_days_are_refused(engine: Engine) -> None:
    """A frame with a row outside the replaced days or profile is refused before any write."""
    _seed(engine)
    with pytest.raises(ValueError, match=r"search_term_facts: 1 row\(s\) outside profile p"):
        replace_fact_days(
            engine, "p", DAY, DAY, {SearchTermFactRecord: _frame([_term("mug", NEXT, 1)])}
        )
    assert len(_stored(engine)) == 7
