"""Tables mirroring the advertising account as last synced, and its daily performance facts.

These are a cache of Amazon's truth, rebuilt by sync: upserted, never edited by hand. Ids are the
decimal strings Amazon uses in entity payloads (report ids, which arrive as numbers, are converted
to the same strings at the boundary in ``bidagent.ads``). Keywords and product targets share one
table keyed by (kind, id) because Amazon lets two entity types share a numeric id.

Money on entities (bids, budgets) is NUMERIC. Fact metrics are floats: they are aggregated by the
engine in polars, not carried into API calls.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Numeric, String
from sqlmodel import Field, SQLModel

from bidagent.store.types import UTCDateTime

__all__ = [
    "AdGroupRecord",
    "BidSuggestionRecord",
    "BidSuggestionRefusalRecord",
    "CampaignFactRecord",
    "CampaignRecord",
    "NegativeRecord",
    "ProfileRecord",
    "ReportDayRecord",
    "SearchTermFactRecord",
    "TargetFactRecord",
    "TargetRecord",
]

ID = 32  # Amazon ids are 64-bit unsigned integers: at most 20 digits as text.


def _money(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Numeric(14, 2), nullable=nullable))


def _when(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class ProfileRecord(SQLModel, table=True):
    """An advertising profile: one seller or vendor account in one marketplace."""

    __tablename__ = "profiles"

    profile_id: str = Field(primary_key=True, max_length=ID)
    name: str | None = None
    country_code: str = Field(max_length=4)
    currency_code: str = Field(max_length=4)
    timezone: str = Field(max_length=64)
    marketplace_id: str | None = Field(default=None, max_length=32)
    account_type: str | None = Field(default=None, max_length=16)
    synced_at: dt.datetime | None = _when(nullable=True)


class CampaignRecord(SQLModel, table=True):
    """A Sponsored Products campaign."""

    __tablename__ = "campaigns"

    campaign_id: str = Field(primary_key=True, max_length=ID)
    profile_id: str = Field(
        sa_column=Column(String(ID), ForeignKey("profiles.profile_id"), nullable=False, index=True)
    )
    name: str
    state: str = Field(max_length=16)  # enabled | paused | archived | other (lower case)
    targeting_type: str = Field(max_length=8)  # manual | auto
    budget: Decimal | None = _money()
    budget_type: str | None = Field(default=None, max_length=16)
    portfolio_id: str | None = Field(default=None, max_length=ID)
    bidding_strategy: str | None = Field(default=None, max_length=32)
    synced_at: dt.datetime = _when()


class AdGroupRecord(SQLModel, table=True):
    """An ad group; its default bid applies to targets without a bid of their own."""

    __tablename__ = "ad_groups"

    ad_group_id: str = Field(primary_key=True, max_length=ID)
    profile_id: str = Field(max_length=ID, index=True)
    campaign_id: str = Field(
        sa_column=Column(
            String(ID), ForeignKey("campaigns.campaign_id"), nullable=False, index=True
        )
    )
    name: str
    state: str = Field(max_length=16)
    default_bid: Decimal | None = _money()
    synced_at: dt.datetime = _when()


class TargetRecord(SQLModel, table=True):
    """A keyword (kind ``keyword``) or a product/auto target (kind ``product_target``)."""

    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_profile", "profile_id"),)

    kind: str = Field(primary_key=True, max_length=16)
    target_id: str = Field(primary_key=True, max_length=ID)
    profile_id: str = Field(max_length=ID)
    campaign_id: str = Field(max_length=ID, index=True)
    ad_group_id: str = Field(
        sa_column=Column(
            String(ID), ForeignKey("ad_groups.ad_group_id"), nullable=False, index=True
        )
    )
    state: str = Field(max_length=16)
    bid: Decimal | None = _money()  # None: inherits the ad group's default bid
    match_type: str = Field(max_length=40)  # exact phrase broad targeting_expression[_predefined]
    keyword_text: str | None = None
    targeting: str | None = (
        None  # expression rendered as in reports, e.g. asin="B0..." or close-match
    )
    expression: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    synced_at: dt.datetime = _when()


class NegativeRecord(SQLModel, table=True):
    """A negative keyword or negative product target, at ad-group or campaign level."""

    __tablename__ = "negatives"

    # negative_keyword | campaign_negative_keyword | negative_target | campaign_negative_target
    kind: str = Field(primary_key=True, max_length=32)
    negative_id: str = Field(primary_key=True, max_length=ID)
    profile_id: str = Field(max_length=ID, index=True)
    campaign_id: str = Field(max_length=ID, index=True)
    ad_group_id: str | None = Field(default=None, max_length=ID)
    keyword_text: str | None = None
    match_type: str | None = Field(default=None, max_length=24)  # negative_exact | negative_phrase
    expression: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    state: str = Field(max_length=16)
    synced_at: dt.datetime = _when()


class _Metrics(SQLModel):
    """The daily metrics every fact table carries; ``orders``/``sales``/``units`` are 7-day."""

    impressions: int = 0
    clicks: int = 0
    cost: float = 0.0
    orders: int = 0
    sales: float = 0.0
    units: int = 0


class TargetFactRecord(_Metrics, table=True):
    """One day of one keyword or product target, from the spTargeting report."""

    __tablename__ = "target_facts"
    __table_args__ = (Index("ix_target_facts_profile_date", "profile_id", "date"),)

    entity_kind: str = Field(primary_key=True, max_length=16)
    entity_id: str = Field(primary_key=True, max_length=ID)
    date: dt.date = Field(primary_key=True)
    profile_id: str = Field(max_length=ID)


class SearchTermFactRecord(_Metrics, table=True):
    """One day of one customer search term under one keyword or target (spSearchTerm)."""

    __tablename__ = "search_term_facts"
    __table_args__ = (Index("ix_search_term_facts_profile_date", "profile_id", "date"),)

    source_kind: str = Field(primary_key=True, max_length=16)
    source_id: str = Field(primary_key=True, max_length=ID)
    search_term: str = Field(primary_key=True)
    date: dt.date = Field(primary_key=True)
    profile_id: str = Field(max_length=ID)
    campaign_id: str = Field(max_length=ID)
    ad_group_id: str = Field(max_length=ID)


class CampaignFactRecord(_Metrics, table=True):
    """One day of one campaign (spCampaigns), with the budget that was in force."""

    __tablename__ = "campaign_facts"
    __table_args__ = (Index("ix_campaign_facts_profile_date", "profile_id", "date"),)

    campaign_id: str = Field(primary_key=True, max_length=ID)
    date: dt.date = Field(primary_key=True)
    profile_id: str = Field(max_length=ID)
    budget: float | None = None


class ReportDayRecord(SQLModel, table=True):
    """A day a report covered for a profile, even if it had no rows: a quiet day is not a
    missing day. The engine's freshness guardrail reads this rather than guessing from facts."""

    __tablename__ = "report_days"

    profile_id: str = Field(primary_key=True, max_length=ID)
    source: str = Field(primary_key=True, max_length=16)  # targets | search_terms | campaigns
    date: dt.date = Field(primary_key=True)
    pulled_at: dt.datetime = _when()


class BidSuggestionRecord(SQLModel, table=True):
    """Amazon's suggested bid range for one keyword or target, as last fetched.

    Kept apart from ``targets`` because it is refreshed on its own, slower schedule (a few ad
    groups per cycle, oldest first) and a target without one is normal. The ad group is stored so
    the refresh can pick whole ad groups, the unit Amazon's recommendation call works in.
    """

    __tablename__ = "bid_suggestions"
    __table_args__ = (Index("ix_bid_suggestions_profile_group", "profile_id", "ad_group_id"),)

    kind: str = Field(primary_key=True, max_length=16)
    target_id: str = Field(primary_key=True, max_length=ID)
    profile_id: str = Field(max_length=ID)
    ad_group_id: str = Field(max_length=ID)
    # Amazon may answer fewer than three values: two are low and high, one is the median.
    low: Decimal | None = _money()
    median: Decimal | None = _money()
    high: Decimal | None = _money()
    fetched_at: dt.datetime = _when()


class BidSuggestionRefusalRecord(SQLModel, table=True):
    """An ad group Amazon refused suggestions for (a 4xx such as the documented 422 for an ad
    group without an ASIN), and when it is due again: the refusal backs off instead of being
    asked first every cycle. Removed when a fetch for the ad group succeeds."""

    __tablename__ = "bid_suggestion_refusals"

    profile_id: str = Field(primary_key=True, max_length=ID)
    ad_group_id: str = Field(primary_key=True, max_length=ID)
    status: int
    reason: str = Field(max_length=500)
    refusals: int  # in a row, for the back-off
    refused_at: dt.datetime = _when()
    retry_at: dt.datetime = _when()
