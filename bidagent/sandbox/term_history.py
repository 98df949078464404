"""Which search terms were removed on which past day: negatives and harvests as they stood then.

A search-term report splits a target-day's clicks over the target's search terms. Splitting a
past day by the negatives in force *today* rewrites history: a term negated this morning would
vanish from last week's rows and its clicks move to the other terms. So a day is split by the
entities in force at the start of that day (the profile's local midnight), rebuilt from the
audit log (``writes``: each creation and state change with its simulated time): a negative, a
harvested exact keyword or a harvested ASIN product target created during day D removes its term
from day D+1 on, and one archived
during day D still removed it on day D. Entities the audit log never saw (the catalog's own) were
in their current state all along. A past day's split is thus fixed once the day has begun; only
the restatement of conversions changes a past day's rows afterwards.

It must not decide how clicks are split (:mod:`bidagent.sandbox.report_rows`) nor which terms
serve now (:func:`bidagent.sandbox.market.term_factors`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from bidagent.sandbox.market import EPOCH, harvest_takers, mark_asin_terms, matches_negative
from bidagent.sandbox.store import SandboxStore

__all__ = ["removed_term_days"]

_NEGATIVE_KINDS = (
    "negative_keyword",
    "campaign_negative_keyword",
    "negative_target",
    "campaign_negative_target",
)
_KEYS = {"sim_key": pl.Int64, "term": pl.String, "day": pl.Int64}


def removed_term_days(
    store: SandboxStore, profile_id: str, terms: pl.DataFrame, zone: ZoneInfo, first: int, last: int
) -> pl.DataFrame:
    """The (sim_key, term, day) of ``terms`` (sim_key, term, campaign_id, ad_group_id) that a
    negative or a harvest removed on each epoch day ``first..last``, one row each."""
    days = list(range(first, last + 1))
    if not days or terms.is_empty():
        return pl.DataFrame(schema=_KEYS)
    history = _enabled_days(store, profile_id, zone, days)
    negatives = store.frame(
        "SELECT kind, entity_id, campaign_id, ad_group_id, text, match_type, expression, state "
        "FROM entities WHERE profile_id = ? AND kind IN (?, ?, ?, ?)",
        (profile_id, *_NEGATIVE_KINDS),
        schema=dict.fromkeys(
            ("kind", "entity_id", "campaign_id", "ad_group_id", "text", "match_type",
             "expression", "state"), pl.String),
    )  # fmt: skip

    def in_force(row: dict[str, Any]) -> list[int]:
        known = history.get((row["kind"], row["entity_id"]))
        if known is not None:
            return known
        return days if row["state"] == "ENABLED" else []

    parts = [
        pl.DataFrame(schema=_KEYS),
        *_negated(negatives, mark_asin_terms(terms), in_force),
        _taken(harvest_takers(store, profile_id), terms, in_force),
    ]
    return pl.concat(parts).unique().sort("sim_key", "term", "day")


def _enabled_days(
    store: SandboxStore, profile_id: str, zone: ZoneInfo, days: list[int]
) -> dict[tuple[str, str], list[int]]:
    """Per (kind, entity_id) the days of ``days`` it was ENABLED at the start of, for every
    entity the audit log recorded a creation or state change of."""
    writes = store.frame(
        "SELECT kind, entity_id, at, field, old, new FROM writes WHERE profile_id = ? "
        "AND field IN ('created', 'state') ORDER BY seq",
        (profile_id,),
        schema=dict.fromkeys(("kind", "entity_id", "at", "field", "old", "new"), pl.String),
    )
    events: dict[tuple[str, str], list[tuple[int, str | None, str]]] = {}
    for kind, entity_id, at, field, old, new in writes.iter_rows():
        # A change during local day D shows from day D + 1: a day is split as it began.
        effective = (datetime.fromisoformat(at).astimezone(zone).date() - EPOCH).days + 1
        before = json.loads(old) if field == "state" and old else None
        events.setdefault((kind, entity_id), []).append((effective, before, json.loads(new)))
    enabled: dict[tuple[str, str], list[int]] = {}
    for key, changes in events.items():
        state, cursor, result = changes[0][1], 0, []
        for day in days:
            while cursor < len(changes) and changes[cursor][0] <= day:
                state = changes[cursor][2]
                cursor += 1
            if state == "ENABLED":
                result.append(day)
        enabled[key] = result
    return enabled


def _day_frame(days: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"day": days}, schema={"day": pl.Int64})


def _negated(
    negatives: pl.DataFrame, terms: pl.DataFrame, in_force: Callable[[dict[str, Any]], list[int]]
) -> Iterator[pl.DataFrame]:
    for row in negatives.iter_rows(named=True):
        days = in_force(row)
        if not days:
            continue
        scope = (
            pl.col("campaign_id") == row["campaign_id"]
            if row["kind"].startswith("campaign_")
            else pl.col("ad_group_id") == row["ad_group_id"]
        )
        hit = terms.filter(scope & matches_negative(row)).select("sim_key", "term")
        if hit.height:
            yield hit.join(_day_frame(days), how="cross")


def _taken(
    takers: pl.DataFrame, terms: pl.DataFrame, in_force: Callable[[dict[str, Any]], list[int]]
) -> pl.DataFrame:
    """A keyword created on a term's exact text, or a product target on an ASIN term's ASIN (a
    harvest), takes its searches over from every other target; of two in force on a day, the
    first created (lowest sim_key) keeps them."""
    taking = [
        pl.DataFrame({"lower": row["term"], "taker": row["sim_key"], "day": days},
                     schema={"lower": pl.String, "taker": pl.Int64, "day": pl.Int64})
        for row in takers.iter_rows(named=True)
        if (days := in_force(row))
    ]  # fmt: skip
    if not taking:
        return pl.DataFrame(schema=_KEYS)
    first = pl.concat(taking).group_by("lower", "day").agg(pl.col("taker").min())
    return (
        terms.select("sim_key", "term", lower=pl.col("term").str.to_lowercase())
        .join(first, on="lower")
        .filter(pl.col("taker") != pl.col("sim_key"))
        .select("sim_key", "term", "day")
    )
