"""Which ad groups are due for a suggested-bid fetch, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from bidagent.agent.cycle.bid_suggestions import due_ad_groups
from bidagent.store import (
    AdGroupRecord,
    BidSuggestionRecord,
    CampaignRecord,
    ProfileRecord,
    TargetRecord,
    session_scope,
    upsert_rows,
)

PROFILE, OTHER = "1000000000000001", "1000000000000002"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
WEEK = timedelta(days=7)


def _populate(engine: Engine) -> None:
    """Ad groups 20-26 of one profile in an enabled campaign, 27 in a paused one, 99 elsewhere."""
    with session_scope(engine) as session:
        for profile in (PROFILE, OTHER):
            session.add(ProfileRecord(profile_id=profile, country_code="US", currency_code="USD",
                                      timezone="America/Los_Angeles", synced_at=NOW))  # fmt: skip
    upsert_rows(engine, CampaignRecord, [
        {"campaign_id": cid, "profile_id": profile, "name": f"SP {cid}", "state": state,
         "targeting_type": "manual", "budget": Decimal("10"), "budget_type": "daily",
         "synced_at": NOW}
        for cid, profile, state in [("10", PROFILE, "enabled"), ("11", PROFILE, "paused"),
                                    ("90", OTHER, "enabled")]
    ])  # fmt: skip
    groups = [(str(g), "10", "enabled") for g in range(20, 26)]
    groups += [("26", "10", "paused"), ("27", "11", "enabled")]
    upsert_rows(engine, AdGroupRecord, [
        {"ad_group_id": gid, "profile_id": PROFILE, "campaign_id": cid, "name": gid,
         "state": state, "default_bid": Decimal("0.5"), "synced_at": NOW}
        for gid, cid, state in groups
    ] + [{"ad_group_id": "99", "profile_id": OTHER, "campaign_id": "90", "name": "99",
          "state": "enabled", "default_bid": Decimal("0.5"), "synced_at": NOW}])  # fmt: skip
    # Two keywords per ad group; both keywords of group 25 are paused.
    targets = [
        {"kind": "keyword", "target_id": f"{gid}{n}", "profile_id": PROFILE, "campaign_id": cid,
         "ad_group_id": gid, "state": "paused" if gid == "25" else "enabled",
         "bid": Decimal("0.4"), "match_type": "exact", "keyword_text": f"kw {gid} {n}",
         "synced_at": NOW}
        for gid, cid, _ in groups for n in (1, 2)
    ] + [{"kind": "keyword", "target_id": "991", "profile_id": OTHER, "campaign_id": "90",
          "ad_group_id": "99", "state": "enabled", "bid": Decimal("0.4"), "match_type": "exact",
          "keyword_text": "theirs", "synced_at": NOW}]  # fmt: skip
    upsert_rows(engine, TargetRecord, targets)
    # Group 20 fetched 10 days ago, 21 8 days ago (its second keyword never), 22 yesterday;
    # 23 and 24 never.
    fetched = {"201": 10, "202": 10, "211": 8, "221": 1, "222": 1}
    upsert_rows(engine, BidSuggestionRecord, [
        {"kind": "keyword", "target_id": tid, "profile_id": PROFILE, "ad_group_id": tid[:2],
         "low": Decimal("0.5"), "median": Decimal("0.7"), "high": Decimal("1.0"),
         "fetched_at": NOW - timedelta(days=days)}
        for tid, days in fetched.items()
    ])  # fmt: skip


def test_never_fetched_first_then_the_oldest_and_only_live_groups(engine: Engine) -> None:
    """23 and 24 (never), then 20 (10 days), 21 (8 days); 22 is fresh; paused ones and the other
    profile's are never due."""
    _populate(engine)
    due = due_ad_groups(engine, PROFILE, now=NOW, max_age=WEEK, limit=10)
    assert due == ["23", "24", "20", "21"]


def test_the_limit_takes_the_most_overdue(engine: Engine) -> None:
    """A limit of three leaves the least overdue group for the next cycle; zero asks for none."""
    _populate(engine)
    assert due_ad_groups(engine, PROFILE, now=NOW, max_age=WEEK, limit=3) == ["23", "24", "20"]
    assert due_ad_groups(engine, PROFILE, now=NOW, max_age=WEEK, limit=0) == []


def test_a_shorter_max_age_makes_yesterdays_fetch_due(engine: Engine) -> None:
    """With a one-day max age, the group fetched exactly a day ago is due too, last."""
    _populate(engine)
    due = due_ad_groups(engine, PROFILE, now=NOW, max_age=timedelta(days=1), limit=10)
    assert due == ["23", "24", "20", "21", "22"]
