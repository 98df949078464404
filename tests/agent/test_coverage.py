"""Report coverage into the engine: ``read_report_dates`` and the freshness gate it feeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from bidagent.engine import EngineInputs, evaluate, load_rule_set
from bidagent.engine.inputs import REPORT_DATES_SCHEMA
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import PROFILE_ID, build_inputs, build_settings
from bidagent.store import ReportDayRecord, make_engine, upgrade_database, upsert_rows
from bidagent.store.report_days import read_report_dates

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)
TODAY = NOW.date()
SOURCES = ("targets", "search_terms", "campaigns")
RULE = "rules:\n  - {name: cut, entity: keyword, when: clicks >= 15, then: {bid: '-20%'}}\n"


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/ledger.db")
    upgrade_database(engine)
    return engine


def _record_days(db: Engine, profile_id: str, first: date, last: date, sources=SOURCES) -> None:
    """What the cycle's report sync records: every day of the pulled range, per source."""
    rows = [
        {"profile_id": profile_id, "source": s, "date": first + timedelta(days=n), "pulled_at": NOW}
        for s in sources
        for n in range((last - first).days + 1)
    ]
    upsert_rows(db, ReportDayRecord, rows)


def _dates(db: Engine, profile_id: str, since: date) -> pl.DataFrame:
    with db.connect() as connection:
        return read_report_dates(connection, profile_id, since)


def test_reads_one_profiles_days_from_since_in_the_engine_schema(db: Engine) -> None:
    """Only the asked profile's days on or after ``since``, sorted, with REPORT_DATES_SCHEMA."""
    _record_days(db, "p1", date(2024, 6, 1), date(2024, 6, 4), sources=("targets", "campaigns"))
    _record_days(db, "p2", date(2024, 6, 1), date(2024, 6, 19))
    got = _dates(db, "p1", date(2024, 6, 3))
    assert got.schema == pl.Schema(REPORT_DATES_SCHEMA)
    assert got.rows() == [
        ("campaigns", date(2024, 6, 3)),
        ("campaigns", date(2024, 6, 4)),
        ("targets", date(2024, 6, 3)),
        ("targets", date(2024, 6, 4)),
    ]


def test_a_profile_never_pulled_has_an_empty_typed_frame(db: Engine) -> None:
    """No rows: an empty frame (not None), so the engine sees "no coverage", not "unknown"."""
    _record_days(db, "p2", date(2024, 6, 1), date(2024, 6, 2))
    got = _dates(db, "p1", date(2024, 1, 1))
    assert (got.height, got.schema) == (0, pl.Schema(REPORT_DATES_SCHEMA))


def _case() -> Case:
    """One keyword with 20 clicks spread over the 14 days the rule's window reads."""
    return Case.model_validate(
        {
            "name": "coverage",
            "expect": {},
            "entities": {
                "ad_groups": [{"entity_id": "g1", "campaign_id": "c1"}],
                "targets": [
                    {"entity_id": "k1", "ad_group_id": "g1", "keyword_text": "kw", "bid": 1.0}
                ],
            },
            "facts": [{"entity_id": "k1", "days": 14, "clicks": 20, "cost": 10}],
        }
    )


def _plan_with(tmp_path: Path, report_dates: pl.DataFrame | None) -> Any:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(RULE)
    settings = build_settings({})
    inputs: EngineInputs = replace(build_inputs(_case(), settings, NOW), report_dates=report_dates)
    return evaluate(load_rule_set([tmp_path / "rules"]), inputs, settings, NOW)


def test_failed_report_syncs_hold_rules_with_a_data_item(tmp_path: Path, db: Engine) -> None:
    """Coverage stopping six days ago (later syncs failed) raises one data item and no change,
    although the facts alone look fresh enough for the engine to act on."""
    _record_days(db, PROFILE_ID, TODAY - timedelta(days=60), TODAY - timedelta(days=6))
    plan = _plan_with(tmp_path, _dates(db, PROFILE_ID, TODAY - timedelta(days=95)))
    assert plan.proposals == []
    assert [(r.kind, r.severity, r.dedupe_key, r.rule_name) for r in plan.reviews] == [
        ("data", "warning", f"data:{PROFILE_ID}:cut", "cut")
    ]
    assert plan.reviews[0].summary == (
        "cut: not run: newest report day is 2024-06-14, older than max_data_age 3d "
        "(needs 2024-06-17 or later)"
    )
    assert [(s.rule_name, s.reason) for s in plan.skips] == [("cut", "freshness")]
    guessed = _plan_with(tmp_path, None)
    assert [(p.entity_id, p.new_value, p.status) for p in guessed.proposals] == [
        ("k1", Decimal("0.80"), "planned")
    ]
    assert guessed.reviews == []


def test_quiet_days_covered_by_reports_are_not_missing(tmp_path: Path, db: Engine) -> None:
    """A day with no facts but a pulled report is quiet, not missing: the rule still acts."""
    _record_days(db, PROFILE_ID, TODAY - timedelta(days=60), TODAY - timedelta(days=1))
    settings = build_settings({})
    inputs = build_inputs(_case(), settings, NOW)
    quiet = TODAY - timedelta(days=5)
    inputs = replace(
        inputs,
        facts=inputs.facts.filter(pl.col("date") != quiet),
        report_dates=_dates(db, PROFILE_ID, TODAY - timedelta(days=95)),
    )
    (tmp_path / "r.yaml").write_text(RULE)
    plan = evaluate(load_rule_set([tmp_path]), inputs, settings, NOW)
    assert [(p.entity_id, p.status) for p in plan.proposals] == [("k1", "planned")]
    assert plan.reviews == []
    guessed = evaluate(load_rule_set([tmp_path]), replace(inputs, report_dates=None), settings, NOW)
    assert [(r.kind, r.summary) for r in guessed.reviews] == [
        ("data", f"cut: not run: 1 day(s) missing in the window: {quiet.isoformat()}")
    ]
