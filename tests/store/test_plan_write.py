"""write_plan: multi-row inserts keep plan order and every value; evidence JSON is the standard text."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from bidagent.agent.cycle import intent_log as planlog
from bidagent.agent.cycle.intent_log import write_plan
from bidagent.engine import Plan, Proposal
from bidagent.store import ChangeRecord, session_scope
from bidagent.store.changes import SQLITE_ROWS_PER_INSERT

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _standard_json(value: Any) -> str | None:
    """The JSON text the ledger has always stored: json's encoder, NaN and odd keys walked first."""
    if value is None:
        return None
    try:
        return json.JSONEncoder(default=planlog._json_default, allow_nan=False).encode(value)
    except (TypeError, ValueError):
        return json.dumps(planlog._jsonable(value))


def _proposal(i: int) -> Proposal:
    evidence: dict[str, Any] = {
        "clicks": float(15 + i % 4), "orders": i % 3, "acos": None if i % 5 else 0.123456,
        "state": "enabled", "cpc": math.nan if i == 7 else -0.0 if i == 8 else 0.1 * i,
        "day": date(2026, 5, 1 + i % 28), "bid": Decimal("0.40"), "name": f"kw é {i}",
    }  # fmt: skip
    payload = {"keyword_text": f"kw {i}", "bid": Decimal("1.20")} if i % 100 == 3 else None
    return Proposal(
        "keyword", f"{1000 + i}", f"kw {i}", "p1", "10", "20", "bid",
        Decimal("0.50") if i % 9 else None, Decimal(f"0.{10 + i % 80}"), f"rule{i % 3}",
        "rules/r.yaml", "hash", i % 4, evidence, payload,
        "superseded" if i % 11 == 0 else "planned",
        [f"rule value {0.1 * (i % 7):.6g}", "shared note"] if i % 2 else [],
        superseded_by="rule1" if i % 11 == 0 else None,
    )  # fmt: skip


def test_rows_keep_plan_order_and_values_across_insert_batches(engine: Engine) -> None:
    """Two full 400-row statements and a remainder: ids follow the plan, every column as planned."""
    proposals = [_proposal(i) for i in range(2 * SQLITE_ROWS_PER_INSERT + 3)]
    with session_scope(engine) as session:
        written = write_plan(
            session, None, Plan("h", proposals=proposals), now=NOW, hold_expiry=timedelta(days=3)
        )
    with session_scope(engine) as session:
        rows = session.exec(select(ChangeRecord).order_by(ChangeRecord.id)).all()  # type: ignore[arg-type]
        got = [
            (r.entity_id, r.old_value, r.new_value, r.rule_name, r.evidence, r.payload, r.notes,
             r.status, r.superseded_by, r.reason)
            for r in rows
        ]  # fmt: skip
    expected = [
        (p.entity_id, planlog.value_text(p.old_value), planlog.value_text(p.new_value),
         p.rule_name, json.loads(_standard_json(p.evidence) or "null"),
         json.loads(_standard_json(p.payload) or "null"), p.notes, p.status, p.superseded_by,
         f"superseded by rule '{p.superseded_by}'" if p.superseded_by else None)
        for p in proposals
    ]  # fmt: skip
    assert (written, got) == (len(proposals), expected)


def test_sqlite_stores_the_standard_json_text(engine: Engine) -> None:
    """The stored text of evidence, payload and notes is exactly what json's encoder writes."""
    proposals = [_proposal(i) for i in range(20)]
    with session_scope(engine) as session:
        write_plan(session, None, Plan("h", proposals=proposals), now=NOW, hold_expiry=timedelta(0))
    if engine.dialect.name != "sqlite":  # PostgreSQL normalises JSON text; values checked above
        return
    with engine.connect() as connection:
        query = text("SELECT evidence, payload, notes FROM changes ORDER BY id")
        stored = [tuple(row) for row in connection.execute(query)]
    assert stored == [
        (_standard_json(p.evidence), _standard_json(p.payload), _standard_json(p.notes))
        for p in proposals
    ]


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities included: the careful walk turns them into null
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(),
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(value=json_values)
def test_json_text_is_the_standard_text(value: Any) -> None:
    """The reused C encoder writes what ``JSONEncoder.encode`` writes, NaN fallback included."""
    assert planlog._json_text(value) == _standard_json(value)
