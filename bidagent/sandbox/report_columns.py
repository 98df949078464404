"""The columns of a reporting-v3 file: what each report type offers and how each is filled in.

Owns the column vocabulary per report type (dimensions, metrics and their attribution windows),
the group-bys and filters a request may name, the ``targeting`` text Amazon shows for a keyword,
product or auto target, and the last steps of a report: naming the dimension columns from the
stored entities (ids as JSON numbers, dates as ISO strings) and deriving the ratio columns (null
without a denominator). Split from :mod:`bidagent.sandbox.report_rows`, which builds the rows
these columns describe. It must not read storage, restate conversions or validate requests
(:mod:`bidagent.sandbox.reporting` does that, against :data:`COLUMNS`).
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from bidagent.sandbox.market import EPOCH

__all__ = [
    "COLUMNS",
    "FILTERS",
    "GROUP_BYS",
    "METRICS",
    "WINDOWS",
    "add_dimensions",
    "add_ratios",
    "targeting_text",
]

WINDOWS = ("1d", "7d", "14d", "30d")
METRICS = {
    "impressions",
    "clicks",
    "cost",
    "costPerClick",
    "clickThroughRate",
    "salesOtherSku7d",
    "unitsSoldOtherSku7d",
    "acosClicks7d",
    "acosClicks14d",
    "roasClicks7d",
    "roasClicks14d",
    "topOfSearchImpressionShare",
    *(
        f"{m}{w}"
        for w in WINDOWS
        for m in (
            "purchases",
            "purchasesSameSku",
            "unitsSoldClicks",
            "unitsSoldSameSku",
            "sales",
            "attributedSalesSameSku",
        )
    ),
}
_CAMPAIGN_DIMS = {
    "date",
    "startDate",
    "endDate",
    "campaignId",
    "campaignName",
    "campaignStatus",
    "campaignBudgetAmount",
    "campaignBudgetType",
    "campaignBudgetCurrencyCode",
    "portfolioId",
}
_TARGET_DIMS = _CAMPAIGN_DIMS | {
    "adGroupId",
    "adGroupName",
    "keywordId",
    "keyword",
    "targeting",
    "matchType",
    "keywordType",
    "keywordBid",
    "adKeywordStatus",
}
COLUMNS: dict[str, set[str]] = {
    "spTargeting": _TARGET_DIMS | METRICS,
    "spSearchTerm": _TARGET_DIMS | METRICS | {"searchTerm"},
    "spCampaigns": _CAMPAIGN_DIMS
    | METRICS
    | {"spend", "campaignBiddingStrategy", "adGroupId", "adGroupName", "adStatus"}
    | {"placementClassification"},
}
GROUP_BYS = {
    "spTargeting": ({"targeting"},),
    "spSearchTerm": ({"searchTerm"},),
    "spCampaigns": (
        {"campaign"},
        {"adGroup"},
        {"campaign", "adGroup"},
        {"campaignPlacement"},
        {"campaign", "campaignPlacement"},
    ),
}
FILTERS = {
    "targeting": {"adKeywordStatus", "keywordType"},
    "searchTerm": {"keywordType"},
    "campaign": {"campaignStatus"},
    "adGroup": {"adStatus"},
    "campaignPlacement": {"campaignSite"},
}
_AUTO_LABELS = {
    "QUERY_HIGH_REL_MATCHES": "close-match",
    "QUERY_BROAD_REL_MATCHES": "loose-match",
    "ASIN_ACCESSORY_RELATED": "complements",
    "ASIN_SUBSTITUTE_RELATED": "substitutes",
}
_EXPR_LABELS = {
    "ASIN_SAME_AS": "asin",
    "ASIN_CATEGORY_SAME_AS": "category",
    "ASIN_EXPANDED_FROM": "asin-expanded",
    "ASIN_BRAND_SAME_AS": "brand",
}


def targeting_text(kind: str, text: str | None, expression: str | None) -> str:
    """The ``targeting`` column of a keyword, product or auto target, as Amazon renders it."""
    if kind == "keyword":
        return text or ""
    parts = json.loads(expression or "[]")
    rendered = []
    for part in parts:
        kind_ = part.get("type", "")
        if kind_ in _AUTO_LABELS:
            rendered.append(_AUTO_LABELS[kind_])
        else:
            label = _EXPR_LABELS.get(kind_, kind_.lower().replace("_", "-"))
            rendered.append(f'{label}="{part.get("value", "")}"')
    return " ".join(rendered)


def add_dimensions(
    frame: pl.DataFrame,
    entities: pl.DataFrame,
    keys: list[str],
    currency: str,
    start: date,
    end: date,
) -> pl.DataFrame:
    """Name the dimension columns of aggregated rows from the entities they belong to."""
    if "sim_key" in keys:
        frame = frame.join(entities, on="sim_key", how="left")
    else:
        keys = [k for k in keys if k in entities.columns]  # a placement is no entity's column
        names = entities.group_by(keys).agg(pl.all().first())
        frame = frame.join(names, on=keys, how="left")
    as_int = pl.Int64
    out = frame.with_columns(
        campaignId=pl.col("campaign_id").cast(as_int),
        adGroupId=pl.col("ad_group_id").cast(as_int),
        keywordId=pl.col("entity_id").cast(as_int),
        keyword=pl.col("targeting"),
        matchType=pl.col("keywordType"),
        keywordBid=pl.col("day_bid"),
        adKeywordStatus=pl.col("state"),
        campaignStatus=pl.col("campaign_state"),
        adStatus=pl.col("group_state"),
        campaignBudgetAmount=pl.col("budget"),
        campaignBudgetType=pl.lit("DAILY_BUDGET"),
        campaignBudgetCurrencyCode=pl.lit(currency),
        campaignBiddingStrategy=pl.lit("legacyForSales"),
        portfolioId=pl.lit(None, as_int),
        startDate=pl.lit(start.isoformat()),
        endDate=pl.lit(end.isoformat()),
        spend=pl.col("cost"),
    )
    if "placement" in frame.columns:
        out = out.with_columns(placementClassification=pl.col("placement"))
    if "day" in frame.columns:
        out = out.with_columns(
            date=(pl.lit(EPOCH) + pl.duration(days=pl.col("day"))).dt.strftime("%Y-%m-%d")
        )
    return out


def add_ratios(frame: pl.DataFrame) -> pl.DataFrame:
    """Round money and derive the ratio columns after aggregation (ratios of sums, not sums)."""

    def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
        return pl.when(den > 0).then(num / den).otherwise(None)

    return frame.with_columns(
        cost=pl.col("cost").round(2),
        spend=pl.col("spend").round(2),
        costPerClick=ratio(pl.col("cost"), pl.col("clicks")).round(2),
        clickThroughRate=(ratio(pl.col("clicks"), pl.col("impressions")) * 100).round(4),
        acosClicks7d=(ratio(pl.col("cost"), pl.col("sales7d")) * 100).round(2),
        acosClicks14d=(ratio(pl.col("cost"), pl.col("sales14d")) * 100).round(2),
        roasClicks7d=ratio(pl.col("sales7d"), pl.col("cost")).round(4),
        roasClicks14d=ratio(pl.col("sales14d"), pl.col("cost")).round(4),
        topOfSearchImpressionShare=pl.lit(None, pl.Float64),
        **{
            c: pl.col(c).round(2)
            for c in frame.columns
            if c.startswith(("sales", "attributedSales"))
        },
    )
