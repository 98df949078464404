"""read_engine_inputs: targets joined to their ad group and campaign exactly as a SQL join does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from bidagent.store import (
    AdGroupRecord,
    BidSuggestionRecord,
    CampaignRecord,
    NegativeRecord,
    ProfileRecord,
    SearchTermFactRecord,
    TargetFactRecord,
    TargetRecord,
    session_scope,
    upsert_rows,
)
from bidagent.store import engine_inputs as inputs_module
from bidagent.store.engine_inputs import read_engine_inputs

PROFILE, OTHER = "1000000000000001", "1000000000000002"
TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

# The join as it was written in SQL before the targets were read alone: the reference.
JOINED_SQL = """
SELECT t.kind AS entity_kind, t.target_id AS entity_id, t.profile_id, t.campaign_id,
       c.name AS campaign_name, t.ad_group_id, g.name AS ad_group_name, t.state, t.bid,
       g.default_bid, t.match_type, t.keyword_text, t.targeting, c.portfolio_id AS portfolio,
       c.budget, s.median AS suggested_bid, s.low AS suggested_bid_low,
       s.high AS suggested_bid_high
FROM targets t JOIN ad_groups g ON g.ad_group_id = t.ad_group_id
JOIN campaigns c ON c.campaign_id = t.campaign_id
LEFT JOIN bid_suggestions s ON s.kind = t.kind AND s.target_id = t.target_id
WHERE t.profile_id = :profile_id
"""


def _populate(engine: Engine) -> None:
    with session_scope(engine) as session:
        for profile in (PROFILE, OTHER):
            session.add(
                ProfileRecord(profile_id=profile, country_code="US", currency_code="USD",
                              timezone="America/Los_Angeles", synced_at=NOW)
            )  # fmt: skip
    upsert_rows(engine, CampaignRecord, [
        {"campaign_id": cid, "profile_id": profile, "name": f"SP {cid}", "state": "enabled",
         "targeting_type": "manual", "budget": Decimal(budget), "budget_type": "daily",
         "portfolio_id": portfolio, "synced_at": NOW}
        for cid, profile, budget, portfolio in [
            ("10", PROFILE, "50.25", None), ("11", PROFILE, "7", "p1"), ("90", OTHER, "12.5", None),
        ]
    ])  # fmt: skip
    upsert_rows(engine, AdGroupRecord, [
        {"ad_group_id": gid, "profile_id": profile, "campaign_id": cid, "name": f"Group {gid}",
         "state": "enabled", "default_bid": Decimal(bid), "synced_at": NOW}
        for gid, profile, cid, bid in [
            ("20", PROFILE, "10", "0.75"), ("21", PROFILE, "11", "1"), ("91", OTHER, "90", "2.5"),
        ]
    ])  # fmt: skip
    # Targets in every ad group (one in the other profile's group), one naming a campaign that
    # does not exist (no foreign key holds it), keywords and product targets, null bids.
    targets = [
        {"kind": "keyword", "target_id": f"{1000 + i}", "profile_id": PROFILE,
         "campaign_id": ["10", "11", "90", "404"][i % 4], "ad_group_id": ["20", "21", "91"][i % 3],
         "state": "enabled", "bid": None if i % 5 == 0 else Decimal(f"0.{10 + i}"),
         "match_type": "exact", "keyword_text": f"shoe {i}", "targeting": None, "synced_at": NOW}
        for i in range(24)
    ] + [
        {"kind": "product_target", "target_id": "2000", "profile_id": PROFILE,
         "campaign_id": "10", "ad_group_id": "20", "state": "paused", "bid": Decimal("1.5"),
         "match_type": "targeting_expression", "keyword_text": None,
         "targeting": 'asin="B0TEST"', "synced_at": NOW},
        {"kind": "keyword", "target_id": "3000", "profile_id": OTHER, "campaign_id": "90",
         "ad_group_id": "91", "state": "enabled", "bid": Decimal("3"), "match_type": "broad",
         "keyword_text": "theirs", "targeting": None, "synced_at": NOW},
    ]  # fmt: skip
    upsert_rows(engine, TargetRecord, targets)
    # Suggested bids for some targets: every third keyword and the product target.
    upsert_rows(engine, BidSuggestionRecord, [
        {"kind": t["kind"], "target_id": t["target_id"], "profile_id": t["profile_id"],
         "ad_group_id": t["ad_group_id"], "low": Decimal("0.50"), "median": Decimal(f"0.{60 + i}"),
         "high": Decimal("1.20"), "fetched_at": NOW}
        for i, t in enumerate(targets) if i % 3 == 0 or t["kind"] == "product_target"
    ])  # fmt: skip
    upsert_rows(engine, TargetFactRecord, [
        {"entity_kind": "keyword", "entity_id": "1001", "profile_id": PROFILE,
         "date": TODAY - timedelta(days=d), "impressions": 10, "clicks": 1, "cost": 0.5,
         "orders": 0, "sales": 0.0, "units": 0}
        for d in range(1, 6)
    ])  # fmt: skip


@pytest.mark.parametrize("min_targets", [0, 10**9], ids=["child", "here"])
def test_targets_equal_the_sql_join_on_both_paths(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, min_targets: int
) -> None:
    """Same rows, order, columns and types as the SQL join: the target whose campaign is missing
    is left out, the one in another profile's ad group is kept, the other profile's are not."""
    _populate(engine)
    monkeypatch.setattr(inputs_module, "CHILD_READ_MIN_TARGETS", min_targets)
    with engine.connect() as connection, capture_logs() as logs:
        got = read_engine_inputs(connection, PROFILE, TODAY, facts_lookback_days=7)
        rows = connection.execute(text(JOINED_SQL), {"profile_id": PROFILE}).all()
    assert [e for e in logs if e["event"] == "columnar_read_fell_back"] == []
    expected = pl.DataFrame(
        [tuple(r) for r in rows],
        schema=inputs_module.TARGETS_SCHEMA,
        orient="row",
        strict=False,
    )
    key = ["entity_kind", "entity_id"]  # the SQL join's order is the planner's choice
    assert got.targets.schema == expected.schema
    assert got.targets.sort(key).rows() == expected.sort(key).rows()
    assert (got.targets.height, got.facts.height) == (25 - 6, 5)


def test_negatives_carry_keywords_and_the_asins_of_negative_targets(engine: Engine) -> None:
    """Negative keywords keep text and match type; a negative target's ASIN_SAME_AS value comes
    upper case in ``asin`` (a brand one has none); archived ones and other profiles' are left out."""
    _populate(engine)
    asin = [{"type": "ASIN_SAME_AS", "value": "b0abc12345"}]
    brand = [{"type": "ASIN_BRAND_SAME_AS", "value": "12345"}]
    upsert_rows(engine, NegativeRecord, [
        {"kind": kind, "negative_id": nid, "profile_id": profile, "campaign_id": "10",
         "ad_group_id": group, "keyword_text": text_, "match_type": match, "expression": expr,
         "state": state, "synced_at": NOW}
        for kind, nid, profile, group, text_, match, expr, state in [
            ("negative_keyword", "n1", PROFILE, "20", "free shoes", "negative_exact", None, "enabled"),
            ("campaign_negative_keyword", "n2", PROFILE, None, "cheap", "negative_phrase", None, "enabled"),
            ("negative_target", "n3", PROFILE, "20", None, None, asin, "enabled"),
            ("campaign_negative_target", "n4", PROFILE, None, None, None, brand, "enabled"),
            ("negative_target", "n5", PROFILE, "20", None, None, asin, "archived"),
            ("negative_keyword", "n6", OTHER, "91", "theirs", "negative_exact", None, "enabled"),
        ]
    ])  # fmt: skip
    with engine.connect() as connection:
        got = read_engine_inputs(connection, PROFILE, TODAY, facts_lookback_days=7)
    assert got.negatives.schema == pl.Schema(inputs_module.NEGATIVES_SCHEMA)
    assert sorted(got.negatives.rows()) == [
        ("campaign_negative_keyword", "10", None, "cheap", "negative_phrase", None),
        ("campaign_negative_target", "10", None, None, None, None),
        ("negative_keyword", "10", "20", "free shoes", "negative_exact", None),
        ("negative_target", "10", "20", None, None, "B0ABC12345"),
    ]


def test_ad_groups_and_search_terms_carry_their_campaigns_targeting(engine: Engine) -> None:
    """Ad groups have their campaign's targeting type and state; search terms the targeting type."""
    _populate(engine)
    with session_scope(engine) as session:
        campaign = session.get(CampaignRecord, "11")
        assert campaign is not None
        campaign.targeting_type, campaign.state = "auto", "archived"
        session.add(campaign)
    upsert_rows(engine, SearchTermFactRecord, [
        {"source_kind": "product_target", "source_id": "2000", "search_term": term,
         "date": TODAY - timedelta(days=2), "profile_id": PROFILE, "campaign_id": cid,
         "ad_group_id": gid, "impressions": 9, "clicks": 1, "cost": 0.4, "orders": 0,
         "sales": 0.0, "units": 0}
        for term, cid, gid in [("desk lamp", "10", "20"), ("b0abc12345", "11", "21")]
    ])  # fmt: skip
    with engine.connect() as connection:
        got = read_engine_inputs(connection, PROFILE, TODAY, facts_lookback_days=7)
    groups = got.ad_groups.select("entity_id", "targeting_type", "campaign_state").sort("entity_id")
    assert groups.rows() == [("20", "manual", "enabled"), ("21", "auto", "archived")]
    terms = got.search_terms.select("search_term", "targeting_type").sort("search_term")
    assert terms.rows() == [("b0abc12345", "auto"), ("desk lamp", "manual")]
