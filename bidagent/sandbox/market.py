"""Move the simulated market through time: read live entities, simulate slices, book the facts.

Owns the bridge between stored state and the traffic model: which targets serve (target, ad
group, campaign enabled and an enabled product ad), their effective bid (own bid or the ad
group's default), which search terms negatives have removed, and how a span of simulated time
splits into local-day slices per profile. It must not speak HTTP or read the wall clock.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from bidagent.marketplaces import marketplace_for
from bidagent.sandbox.scenarios import Scenario
from bidagent.sandbox.store import SandboxStore
from bidagent.sandbox.traffic import hour_mass, simulate
from bidagent.vocabulary import ASIN_PATTERN

__all__ = [
    "ASIN_TERM",
    "EPOCH",
    "harvest_takers",
    "load_targets",
    "mark_asin_terms",
    "matches_negative",
    "profile_zone",
    "simulate_span",
    "term_factors",
]

EPOCH = date(1970, 1, 1)


def profile_zone(country: str) -> ZoneInfo:
    """The time zone a profile reports in."""
    return ZoneInfo(marketplace_for(country).timezone)


def load_targets(store: SandboxStore, profile_id: str) -> pl.DataFrame:
    """Every keyword and target of a profile with truths, effective bid and serving flag."""
    targets = store.frame(
        "SELECT e.sim_key, e.kind, e.entity_id, e.campaign_id, e.ad_group_id, e.state, e.bid, "
        "t.volume, t.ctr, t.cvr, t.comp_bid, t.price, t.margin, t.weekly_amp, t.weekly_peak "
        "FROM entities e JOIN truths t ON t.sim_key = e.sim_key "
        "WHERE e.profile_id = ? AND e.kind IN ('keyword', 'target') ORDER BY e.sim_key",
        (profile_id,),
        schema=_TARGET_SCHEMA,
    )
    parents = store.frame(
        "SELECT kind, entity_id, campaign_id, ad_group_id, state, bid, budget FROM entities "
        "WHERE profile_id = ? AND kind IN ('campaign', 'ad_group', 'product_ad')",
        (profile_id,),
        schema=_PARENT_SCHEMA,
    )
    campaigns = parents.filter(pl.col("kind") == "campaign").select(
        "campaign_id", campaign_state="state", budget="budget"
    )
    groups = parents.filter(pl.col("kind") == "ad_group").select(
        "ad_group_id", group_state="state", default_bid="bid"
    )
    with_ads = (
        parents.filter((pl.col("kind") == "product_ad") & (pl.col("state") == "ENABLED"))
        .select("ad_group_id")
        .unique()
        .with_columns(has_ad=pl.lit(True))
    )
    return (
        targets.join(groups, on="ad_group_id", how="left")
        .join(campaigns, on="campaign_id", how="left")
        .join(with_ads, on="ad_group_id", how="left")
        .with_columns(
            bid=pl.coalesce("bid", "default_bid"),
            serving=(pl.col("state") == "ENABLED")
            & (pl.col("group_state") == "ENABLED")
            & (pl.col("campaign_state") == "ENABLED")
            & pl.col("has_ad").fill_null(False),
        )
    )


_TARGET_SCHEMA = {
    "sim_key": pl.Int64,
    "kind": pl.String,
    "entity_id": pl.String,
    "campaign_id": pl.String,
    "ad_group_id": pl.String,
    "state": pl.String,
    "bid": pl.Float64,
    "volume": pl.Float64,
    "ctr": pl.Float64,
    "cvr": pl.Float64,
    "comp_bid": pl.Float64,
    "price": pl.Float64,
    "margin": pl.Float64,
    "weekly_amp": pl.Float64,
    "weekly_peak": pl.Float64,
}
_PARENT_SCHEMA = {
    "kind": pl.String,
    "entity_id": pl.String,
    "campaign_id": pl.String,
    "ad_group_id": pl.String,
    "state": pl.String,
    "bid": pl.Float64,
    "budget": pl.Float64,
}


def term_factors(
    store: SandboxStore, profile_id: str, targets: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per target: weight of its search terms still served, and their CVR relative to the truth.

    Also returns the term rows with a ``negated`` flag (reports of search terms use them).
    """
    terms = store.frame(
        "SELECT sim_key, term, weight, cvr_mult FROM terms WHERE sim_key IN "
        "(SELECT sim_key FROM entities WHERE profile_id = ? AND kind IN ('keyword', 'target'))",
        (profile_id,),
        schema={
            "sim_key": pl.Int64,
            "term": pl.String,
            "weight": pl.Float64,
            "cvr_mult": pl.Float64,
        },
    ).join(targets.select("sim_key", "campaign_id", "ad_group_id"), on="sim_key")
    negatives = store.frame(
        "SELECT kind, campaign_id, ad_group_id, text, match_type, expression FROM entities "
        "WHERE profile_id = ? AND state = 'ENABLED' AND kind IN ('negative_keyword', "
        "'campaign_negative_keyword', 'negative_target', 'campaign_negative_target')",
        (profile_id,),
        schema=dict.fromkeys(
            ("kind", "campaign_id", "ad_group_id", "text", "match_type", "expression"), pl.String
        ),
    )
    # A keyword created through the API on a search term's exact text, or a product target on an
    # ASIN search term's ASIN (a harvest), takes that term's searches over: its truths were copied
    # from the term, and one search is one auction for the advertiser, so the targets it was
    # harvested from no longer serve it (neither does a second harvest of the same term
    # elsewhere: the first one created keeps it). A keyword spelling an ASIN takes nothing: an
    # ASIN term is a product page, which keywords do not reach.
    enabled = harvest_takers(store, profile_id).filter(pl.col("state") == "ENABLED")
    takers = enabled.group_by("term").agg(taker=pl.col("sim_key").min())
    terms = (
        mark_asin_terms(terms)
        .with_columns(lower=pl.col("term").str.to_lowercase())
        .join(takers.rename({"term": "lower"}), on="lower", how="left")
        .with_columns(taken=pl.col("taker").is_not_null() & (pl.col("taker") != pl.col("sim_key")))
        .drop("lower", "taker")
    )
    negated = pl.col("taken")
    for row in negatives.iter_rows(named=True):
        scope = (
            pl.col("campaign_id") == row["campaign_id"]
            if row["kind"].startswith("campaign_")
            else pl.col("ad_group_id") == row["ad_group_id"]
        )
        negated = negated | (scope & matches_negative(row))
    terms = terms.with_columns(negated=negated).drop("taken", ASIN_TERM)
    factors = (
        terms.filter(~pl.col("negated"))
        .group_by("sim_key")
        .agg(
            active_weight=pl.col("weight").sum(),
            cvr_factor=(pl.col("weight") * pl.col("cvr_mult")).sum() / pl.col("weight").sum(),
        )
    )
    return factors, terms


def harvest_takers(store: SandboxStore, profile_id: str) -> pl.DataFrame:
    """The entities created through the API that take a search term over (see
    :func:`term_factors`): exact keywords on the term's text and product targets on an ASIN
    term's ASIN (one ``ASIN_SAME_AS`` predicate), with their ``state`` and the lower-cased
    ``term``. A keyword spelling an ASIN is not one: an ASIN term is a product page."""
    return store.frame(
        "SELECT kind, entity_id, sim_key, state, lower(CASE WHEN kind = 'keyword' THEN text "
        "ELSE json_extract(expression, '$[0].value') END) AS term FROM entities "
        "WHERE profile_id = ? AND json_extract(data, '$.created') IS NOT NULL AND ("
        "(kind = 'keyword' AND match_type = 'EXACT') OR (kind = 'target' AND "
        "json_array_length(expression) = 1 AND "
        "json_extract(expression, '$[0].type') = 'ASIN_SAME_AS')) ORDER BY sim_key",
        (profile_id,),
        schema={
            "kind": pl.String,
            "entity_id": pl.String,
            "sim_key": pl.Int64,
            "state": pl.String,
            "term": pl.String,
        },
    ).filter((pl.col("kind") != "keyword") | ~pl.col("term").str.contains(ASIN_PATTERN.pattern))


ASIN_TERM = "asin_term"  # the column :func:`mark_asin_terms` adds


def mark_asin_terms(terms: pl.DataFrame) -> pl.DataFrame:
    """``terms`` with a boolean :data:`ASIN_TERM` column: whether each ``term`` is an ASIN
    (computed once per frame; :func:`matches_negative` reads it for every negative)."""
    return terms.with_columns(pl.col("term").str.contains(ASIN_PATTERN.pattern).alias(ASIN_TERM))


def matches_negative(negative: dict[str, str | None]) -> pl.Expr:
    """Whether a search term is removed by one negative keyword or negative target, over a frame
    of terms marked by :func:`mark_asin_terms`."""
    term = pl.col("term").str.to_lowercase()
    if negative["text"] is None:
        values = [
            str(e.get("value", "")).lower() for e in json.loads(negative["expression"] or "[]")
        ]
        return term.is_in(values)
    # A negative keyword stops typed searches only: an ASIN term is a product page the ad showed
    # on, which only a negative product target stops (Amazon's negative keywords do not reach
    # product pages), even when the keyword's text spells that ASIN.
    typed = ~pl.col(ASIN_TERM)
    text = negative["text"].lower()
    match = negative["match_type"] or "NEGATIVE_EXACT"
    if match == "NEGATIVE_EXACT":
        return typed & (term == text)
    if match == "NEGATIVE_PHRASE":
        return typed & (" " + term + " ").str.contains(" " + text + " ", literal=True)
    words = [
        pl.concat_str(pl.lit(" "), term, pl.lit(" ")).str.contains(f" {w} ", literal=True)
        for w in text.split()
    ]
    return typed & pl.all_horizontal(words)


def _slices(
    start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[list[date], float, float]]:
    """Split [start, end) into local-day slices; consecutive whole days form one batch."""
    batches: list[tuple[list[date], float, float]] = []
    cursor = start.astimezone(zone)
    end_local = end.astimezone(zone)
    while cursor < end_local:
        day = cursor.date()
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        stop = min(next_midnight, end_local)
        start_hour = cursor.hour + cursor.minute / 60 + cursor.second / 3600
        end_hour = (
            24.0 if stop == next_midnight else stop.hour + stop.minute / 60 + stop.second / 3600
        )
        if batches and start_hour == 0.0 and end_hour == 24.0 and batches[-1][1:] == (0.0, 24.0):
            batches[-1][0].append(day)
        else:
            batches.append(([day], start_hour, end_hour))
        cursor = stop
    return batches


def simulate_span(
    store: SandboxStore,
    conn: sqlite3.Connection,
    *,
    profile_id: str,
    country: str,
    start: datetime,
    end: datetime,
    seed: int,
    scenario: Scenario,
    first_day: date,
) -> int:
    """Simulate one profile from ``start`` to ``end`` and book the facts; return rows written."""
    zone = profile_zone(country)
    targets = load_targets(store, profile_id)
    factors, _ = term_factors(store, profile_id, targets)
    live = (
        targets.filter(pl.col("serving"))
        .join(factors, on="sim_key", how="left")
        .with_columns(pl.col("active_weight").fill_null(0.0), pl.col("cvr_factor").fill_null(1.0))
    )
    written = 0
    for days, start_hour, end_hour in _slices(start, end, zone):
        day_numbers = [(d - EPOCH).days for d in days]
        frame = pl.DataFrame(
            {"day": day_numbers, "rel_day": [(d - first_day).days for d in days]},
            schema={"day": pl.Int64, "rel_day": pl.Int64},
        )
        spent = _spent(store, live, day_numbers)
        facts = simulate(
            live,
            frame,
            spent,
            mass=hour_mass(start_hour, end_hour),
            seed=seed,
            segment=round(start_hour * 60),
            scenario=scenario,
        )
        store.add_facts(conn, facts)
        written += facts.height
    return written


def _spent(store: SandboxStore, live: pl.DataFrame, days: list[int]) -> pl.DataFrame:
    """Cost already booked per campaign on each of ``days`` (earlier slices of the same day)."""
    placeholders = ", ".join("?" for _ in days)
    booked = store.frame(
        f"SELECT sim_key, day, cost FROM facts WHERE day IN ({placeholders})",
        days,
        schema={"sim_key": pl.Int64, "day": pl.Int64, "cost": pl.Float64},
    )
    return (
        booked.join(live.select("sim_key", "campaign_id"), on="sim_key")
        .group_by("campaign_id", "day")
        .agg(spent=pl.col("cost").sum())
    )
