"""The review queue's insert that can lose the open-key race, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bidagent.store import ReviewItemRecord, session_scope
from bidagent.store.review_items import insert_open_item, list_items, open_item

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _item(
    summary: str, key: str = "guardrail:kw:1", item_id: int | None = None
) -> ReviewItemRecord:
    return ReviewItemRecord(
        id=item_id,
        kind="guardrail",
        summary=summary,
        dedupe_key=key,
        first_seen_at=NOW,
        last_seen_at=NOW,
    )


def test_an_insert_that_loses_the_race_returns_the_winner(engine: Engine) -> None:
    """When another writer's open item holds the key, the insert hands back that item, and the
    caller's transaction goes on (the savepoint took the failure)."""
    with session_scope(engine) as session:
        assert insert_open_item(session, _item("first"))[1] is True
    with session_scope(engine) as session:
        found, inserted = insert_open_item(session, _item("second"))
        assert (found.summary, inserted) == ("first", False)
        assert insert_open_item(session, _item("other key", key="guardrail:kw:2"))[1] is True
    with session_scope(engine) as session:
        assert [(i.summary, i.dedupe_key) for i in list_items(session)] == [
            ("first", "guardrail:kw:1"),
            ("other key", "guardrail:kw:2"),
        ]
        assert (open_item(session, "guardrail:kw:1") or _item("none")).summary == "first"


def test_an_insert_failing_for_another_reason_raises(engine: Engine) -> None:
    """An integrity error with no open item to hand back (here a duplicate id) is not swallowed."""
    with session_scope(engine) as session:
        insert_open_item(session, _item("first", item_id=1))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        insert_open_item(session, _item("same id", key="guardrail:kw:9", item_id=1))
