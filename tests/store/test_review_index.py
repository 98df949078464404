"""The review queue's partial unique index: one *open* item per dedupe key, any number closed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bidagent.store import ReviewItemRecord, session_scope

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _item(status: str = "open", key: str = "guardrail:kw:1") -> ReviewItemRecord:
    return ReviewItemRecord(
        kind="guardrail",
        summary="bid change over max_step",
        status=status,
        dedupe_key=key,
        first_seen_at=NOW,
        last_seen_at=NOW,
    )


def test_second_open_item_with_the_same_key_is_refused(engine: Engine) -> None:
    """Two open items with one dedupe key violate the index."""
    with session_scope(engine) as session:
        session.add(_item())
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(_item())
    with session_scope(engine) as session:
        assert len(session.exec(select(ReviewItemRecord)).all()) == 1


def test_closed_items_do_not_block_a_new_open_one(engine: Engine) -> None:
    """Resolved, rejected and expired items may share the key with each other and one open item."""
    with session_scope(engine) as session:
        for status in ("resolved", "rejected", "expired", "resolved"):
            session.add(_item(status))
        session.add(_item("open"))
        session.add(_item("open", key="guardrail:kw:2"))
    with session_scope(engine) as session:
        rows = session.exec(select(ReviewItemRecord.status, ReviewItemRecord.dedupe_key)).all()
    assert sorted(rows) == sorted(
        [
            ("resolved", "guardrail:kw:1"),
            ("rejected", "guardrail:kw:1"),
            ("expired", "guardrail:kw:1"),
            ("resolved", "guardrail:kw:1"),
            ("open", "guardrail:kw:1"),
            ("open", "guardrail:kw:2"),
        ]
    )


def test_closing_the_open_item_frees_the_key(engine: Engine) -> None:
    """Once the open item is resolved, a recurrence may open a new one."""
    with session_scope(engine) as session:
        session.add(_item())
    with session_scope(engine) as session:
        item = session.exec(select(ReviewItemRecord)).one()
        item.status = "resolved"
        session.add(item)
    with session_scope(engine) as session:
        session.add(_item())
    with session_scope(engine) as session:
        statuses = sorted(session.exec(select(ReviewItemRecord.status)).all())
    assert statuses == ["open", "resolved"]
