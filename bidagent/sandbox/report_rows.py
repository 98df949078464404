"""The rows of a reporting-v3 file: spTargeting, spSearchTerm and spCampaigns, built with polars.

Owns the rows: which targets and days a report covers, the restatement of conversions (a day's
purchases grow as the report is pulled later), the split of a target's clicks over the search
terms it served that day (:mod:`bidagent.sandbox.term_history`), filters, aggregation by the
report's keys, and keeping only rows with activity. Which
columns exist and how they are named and derived is :mod:`bidagent.sandbox.report_columns`
(re-exported here for :mod:`bidagent.sandbox.reporting`). It must not validate requests or manage
report status (:mod:`bidagent.sandbox.reporting`).
"""

from __future__ import annotations

import gzip
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from bidagent.marketplaces import marketplace_for
from bidagent.sandbox.market import EPOCH, load_targets, profile_zone, term_factors
from bidagent.sandbox.placements import split_by_placement
from bidagent.sandbox.report_columns import (
    COLUMNS,
    FILTERS,
    GROUP_BYS,
    METRICS,
    WINDOWS,
    add_dimensions,
    add_ratios,
    targeting_text,
)
from bidagent.sandbox.term_history import removed_term_days
from bidagent.sandbox.traffic import uniform, visible_fraction

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["COLUMNS", "FILTERS", "GROUP_BYS", "build_report"]


def _entities(sandbox: Sandbox, profile_id: str) -> pl.DataFrame:
    """Targets with everything a report row can name."""
    targets = load_targets(sandbox.store, profile_id)
    extra = sandbox.store.frame(
        "SELECT sim_key, text, match_type, expression, expression_type FROM entities "
        "WHERE profile_id = ? AND kind IN ('keyword', 'target')",
        (profile_id,),
        schema={
            "sim_key": pl.Int64,
            "text": pl.String,
            "match_type": pl.String,
            "expression": pl.String,
            "expression_type": pl.String,
        },
    )
    names = sandbox.store.frame(
        "SELECT kind, entity_id, name, state FROM entities WHERE profile_id = ? "
        "AND kind IN ('campaign', 'ad_group')",
        (profile_id,),
        schema={"kind": pl.String, "entity_id": pl.String, "name": pl.String, "state": pl.String},
    )
    campaigns = names.filter(pl.col("kind") == "campaign").select(
        campaign_id="entity_id", campaignName="name"
    )
    groups = names.filter(pl.col("kind") == "ad_group").select(
        ad_group_id="entity_id", adGroupName="name"
    )
    frame = targets.join(extra, on="sim_key").join(campaigns, on="campaign_id", how="left")
    frame = frame.join(groups, on="ad_group_id", how="left")
    keyword_type = (
        pl.when(pl.col("kind") == "keyword")
        .then(pl.col("match_type"))
        .when(pl.col("expression_type") == "AUTO")
        .then(pl.lit("TARGETING_EXPRESSION_PREDEFINED"))
        .otherwise(pl.lit("TARGETING_EXPRESSION"))
    )
    labels = [
        targeting_text(k, t, e)
        for k, t, e in frame.select("kind", "text", "expression").iter_rows()
    ]
    return frame.with_columns(
        keywordType=keyword_type, targeting=pl.Series(labels, dtype=pl.String)
    )


def _facts(sandbox: Sandbox, entities: pl.DataFrame, first: int, last: int) -> pl.DataFrame:
    facts = sandbox.store.frame(
        "SELECT sim_key, day, impressions, clicks, cost, orders, bid AS day_bid FROM facts "
        "WHERE day BETWEEN ? AND ?",
        (first, last),
        schema={
            "sim_key": pl.Int64,
            "day": pl.Int64,
            "impressions": pl.Int64,
            "clicks": pl.Int64,
            "cost": pl.Float64,
            "orders": pl.Int64,
            "day_bid": pl.Float64,
        },
    )
    return facts.join(entities, on="sim_key")


def _split_terms(frame: pl.DataFrame, terms: pl.DataFrame, removed: pl.DataFrame) -> pl.DataFrame:
    """Spread each target-day's clicks and orders over the search terms it served that day
    (``removed``: the term-days negatives and harvests took away), by largest remainder."""
    active = terms.select("sim_key", "term", "weight", "cvr_mult")
    # Sorted so the largest-remainder tie-breaks (ordinal rank) are the same on every run.
    rows = (
        frame.filter(pl.col("clicks") > 0)
        .join(active, on="sim_key")
        .join(removed, on=["sim_key", "term", "day"], how="anti")
        .sort("sim_key", "day", "term")
    )
    rows = rows.with_columns(share=pl.col("weight") / pl.col("weight").sum().over("sim_key", "day"))
    for column, weight in (("clicks", "share"), ("impressions", "share")):
        exact = pl.col(column) * pl.col(weight)
        rows = rows.with_columns(_base=exact.floor(), _rem=exact - exact.floor()).with_columns(
            _rank=pl.col("_rem").rank("ordinal", descending=True).over("sim_key", "day"),
            _left=pl.col(column) - pl.col("_base").sum().over("sim_key", "day"),
        )
        rows = rows.with_columns(
            (pl.col("_base") + (pl.col("_rank") <= pl.col("_left")).cast(pl.Float64))
            .cast(pl.Int64)
            .alias(f"term_{column}")
        )
    rows = rows.with_columns(
        _w=(pl.col("term_clicks") * pl.col("cvr_mult")),
        term_cost=pl.col("cost") * pl.col("term_clicks") / pl.col("clicks"),
    ).with_columns(
        _exact=pl.col("orders") * pl.col("_w") / pl.col("_w").sum().over("sim_key", "day"),
    )
    orders = pl.col("_exact").fill_nan(0.0).fill_null(0.0)
    rows = rows.with_columns(term_orders=orders.round().cast(pl.Int64))
    return (
        rows.filter(pl.col("term_clicks") > 0)
        .drop("clicks", "impressions", "cost", "orders")
        .rename(
            {
                "term_clicks": "clicks",
                "term_impressions": "impressions",
                "term_cost": "cost",
                "term_orders": "orders",
                "term": "searchTerm",
            }
        )
        .with_columns(
            pl.col("cost").round(2), pl.max_horizontal("impressions", "clicks").alias("impressions")
        )
    )


def _conversions(frame: pl.DataFrame, today: int, seed: int) -> pl.DataFrame:
    """Conversions as visible today: restated upward for days after the click."""
    age = pl.lit(today) - pl.col("day") - 1
    u = uniform(seed, 40, "sim_key", "day")
    seven = pl.min_horizontal(
        pl.col("orders"), (pl.col("orders") * visible_fraction(age) + u).floor()
    )
    one = pl.min_horizontal(
        seven,
        (pl.col("orders") * pl.min_horizontal(visible_fraction(age), pl.lit(0.7)) + u).floor(),
    )
    frame = frame.with_columns(p7=seven.cast(pl.Int64), p1=one.cast(pl.Int64))
    values: dict[str, Any] = {}
    for window in WINDOWS:
        count = pl.col("p1") if window == "1d" else pl.col("p7")
        same = (count * 0.9 + u).floor().cast(pl.Int64)
        values |= {
            f"purchases{window}": count,
            f"unitsSoldClicks{window}": count,
            f"purchasesSameSku{window}": same,
            f"unitsSoldSameSku{window}": same,
            f"sales{window}": count * pl.col("price"),
            f"attributedSalesSameSku{window}": same * pl.col("price"),
        }
    values["salesOtherSku7d"] = (pl.col("p7") - (pl.col("p7") * 0.9 + u).floor()) * pl.col("price")
    values["unitsSoldOtherSku7d"] = (pl.col("p7") - (pl.col("p7") * 0.9 + u).floor()).cast(pl.Int64)
    return frame.with_columns(**values)


def build_report(
    sandbox: Sandbox, profile_id: str, configuration: dict[str, Any], start: date, end: date
) -> bytes:
    """The gzip JSON array of one report, as of the sandbox's current simulated time."""
    report_type = configuration["reportTypeId"]
    group_by = set(configuration["groupBy"])
    columns: list[str] = list(configuration["columns"])
    summary = configuration.get("timeUnit") == "SUMMARY"
    country = next(p["country"] for p in sandbox.profile_rows() if p["profile_id"] == profile_id)
    market = marketplace_for(country)
    entities = _entities(sandbox, profile_id)
    today = (sandbox.today(profile_id) - EPOCH).days
    # Amazon accepts 95-day-old dates but keeps only the last 65 days of SP data.
    first = max((start - EPOCH).days, today - 65)
    last = (end - EPOCH).days
    frame = _facts(sandbox, entities, first, last)
    if report_type == "spSearchTerm":
        # A past day is split by the negatives and harvests in force that day, never today's.
        _, terms = term_factors(sandbox.store, profile_id, entities)
        zone = profile_zone(country)
        removed = removed_term_days(sandbox.store, profile_id, terms, zone, first, last)
        frame = _split_terms(frame, terms, removed)
    frame = _conversions(frame, today, sandbox.seed)
    if "campaignPlacement" in group_by:
        frame = split_by_placement(frame, _summed(frame), sandbox.seed)
    frame = _apply_filters(frame, configuration.get("filters") or [])
    if report_type == "spCampaigns":
        keys = ["campaign_id"] + (["ad_group_id"] if "adGroup" in group_by else [])
        keys += ["placement"] if "campaignPlacement" in group_by else []
    elif report_type == "spSearchTerm":
        keys = ["sim_key", "searchTerm"]
    else:
        keys = ["sim_key"]
    frame = _aggregate(frame, keys if summary else [*keys, "day"])
    frame = frame.filter(
        pl.col("clicks") > 0 if report_type == "spSearchTerm" else pl.col("impressions") > 0
    )
    frame = add_dimensions(frame, entities, keys, market.currency_code, start, end)
    frame = add_ratios(frame).select(columns)
    return gzip.compress(frame.write_json().encode(), compresslevel=5)


def _apply_filters(frame: pl.DataFrame, filters: list[dict[str, Any]]) -> pl.DataFrame:
    for item in filters:
        field, values = item["field"], [str(v) for v in item["values"]]
        column = {
            "keywordType": "keywordType",
            "adKeywordStatus": "state",
            "campaignStatus": "campaign_state",
            "adStatus": "group_state",
            "campaignSite": "site",
        }[field]
        frame = frame.filter(pl.col(column).is_in(values))
    return frame


_SUMS = [
    "impressions",
    "clicks",
    "cost",
    *sorted(m for m in METRICS if m[-2:] in ("1d", "7d") or m[-3:] in ("14d", "30d")),
]


def _summed(frame: pl.DataFrame) -> list[str]:
    """The metric columns a report sums over its rows."""
    return [c for c in _SUMS if c in frame.columns and not c.startswith(("acos", "roas"))]


def _aggregate(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    sums = _summed(frame)
    return frame.group_by(keys).agg(
        *(pl.col(c).sum() for c in sums),
        day_bid=pl.col("day_bid").last() if "day" in keys else pl.col("day_bid").max(),
    )
