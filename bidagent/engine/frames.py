"""Metric windows and the per-rule frame: one row per entity, one column per name a rule reads.

Owns the date arithmetic of windows (the newest ``settle`` days are excluded; "today" is the profile's
local date of ``now``, and yesterday is the newest day a report can hold), the sums over each window,
and the derived ratios (zero denominator gives null), and a search term's ``term_kind``. It must not
decide changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import polars as pl

from bidagent.engine.inputs import EngineInputs, EngineSettings
from bidagent.engine.names import COUNT_METRICS, RATIO_METRICS, NameSpec
from bidagent.engine.ruleset import LoadedRule
from bidagent.vocabulary import (
    ASIN_PATTERN,
    REPORT_SOURCES,
    RULE_ENTITY_KINDS,
    TARGET_KINDS,
    ReportSource,
)

__all__ = ["Range", "WindowSums", "entity_frame", "rule_frame", "rule_ranges", "term_kinds"]

Range = tuple[date, date]  # inclusive
SOURCE_OF: dict[str, ReportSource] = {
    "keyword": "targets",
    "product_target": "targets",
    "target": "targets",
    "ad_group": "targets",
    "campaign": "campaigns",
    "search_term": "search_terms",
}
FACT_KINDS: dict[ReportSource, tuple[str, ...]] = {
    "targets": TARGET_KINDS,
    "campaigns": ("campaign",),
    "search_terms": ("search_term",),
}


def window_range(today: date, settle_days: int, days: int, *, prev: bool = False) -> Range:
    """The dates a window covers: ``days`` days ending before the newest ``settle`` complete days."""
    end = today - timedelta(days=1 + settle_days)
    start = end - timedelta(days=days - 1)
    if prev:
        end, start = start - timedelta(days=1), start - timedelta(days=days)
    return start, end


def _col(metric: str, window: Range) -> str:
    return f"{metric}@{window[0].isoformat()}@{window[1].isoformat()}"


def rule_ranges(rule: LoadedRule, today: date, settle_days: int) -> dict[str, Range]:
    """Each metric name of ``rule`` mapped to the date range it sums."""
    return {
        name: window_range(today, settle_days, spec.window_days or rule.window_days, prev=spec.prev)
        for name, spec in rule.specs.items()
        if spec.source == "metric"
    }


class WindowSums:
    """Sums of the count metrics per entity over every range any rule needs, computed once per source."""

    def __init__(self, inputs: EngineInputs) -> None:
        self.inputs = inputs
        self.ranges: dict[ReportSource, set[Range]] = {source: set() for source in REPORT_SOURCES}
        self._frames: dict[str, pl.DataFrame] = {}

    def want(self, entity: str, ranges: Iterable[Range]) -> None:
        """Register ranges before :meth:`frame` is first called for that source."""
        self.ranges[SOURCE_OF[entity]].update(ranges)

    def frame(self, entity: str) -> pl.DataFrame:
        """``entity_id`` plus one column per (metric, range); ad groups sum their targets."""
        source = SOURCE_OF[entity]
        if source not in self._frames:
            self._frames[source] = self._compute(source)
        sums = self._frames[source]
        if entity != "ad_group":
            return sums
        targets = self.inputs.targets.select("entity_id", "ad_group_id")
        value_cols = [c for c in sums.columns if c != "entity_id"]
        return (
            sums.join(targets, on="entity_id", how="inner")
            .group_by("ad_group_id")
            .agg([pl.col(c).sum() for c in value_cols])
            .rename({"ad_group_id": "entity_id"})
        )

    def _compute(self, source: ReportSource) -> pl.DataFrame:
        ranges = sorted(self.ranges[source])
        facts = self.inputs.facts
        if not ranges:
            return facts.select("entity_id").unique()
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        date = pl.col("date")
        scoped = facts.lazy().filter(
            pl.col("entity_kind").is_in(FACT_KINDS[source]) & date.is_between(low, high)
        )
        # Money sums are rounded to 1e-6: polars may add a group's rows in any order, and the
        # last bits of a float sum must not decide a threshold or a rounded bid differently
        # from one run to the next.
        aggs = [
            _exact(
                pl.when(date.is_between(r[0], r[1])).then(pl.col(m)).otherwise(0).sum(),
                facts.schema[m],
            ).alias(_col(m, r))
            for r in ranges
            for m in COUNT_METRICS
        ]
        return scoped.group_by("entity_id").agg(aggs).collect()


def _exact(total: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return total.round(6) if dtype.is_float() else total


def entity_frame(entity: str, inputs: EngineInputs) -> pl.DataFrame:
    """The rule's entities with their attributes; archived entities are never acted on."""
    if entity in ("keyword", "product_target", "target"):
        kinds = RULE_ENTITY_KINDS[entity]
        return inputs.targets.filter(
            pl.col("entity_kind").is_in(kinds) & (pl.col("state") != "archived")
        ).with_columns(
            pl.coalesce("bid", "default_bid").alias("bid"),
            pl.coalesce("keyword_text", "targeting").alias("entity_name"),
        )
    if entity == "ad_group":
        return inputs.ad_groups.filter(pl.col("state") != "archived").with_columns(
            pl.col("entity_id").alias("ad_group_id"), pl.col("ad_group_name").alias("entity_name")
        )
    if entity == "campaign":
        return inputs.campaigns.filter(pl.col("state") != "archived").with_columns(
            pl.col("campaign_name").alias("entity_name"),
            pl.lit(None, dtype=pl.Utf8).alias("ad_group_id"),
        )
    terms = inputs.search_terms
    return terms.with_columns(
        pl.col("search_term").alias("entity_name"), term_kinds(terms["search_term"])
    )


def term_kinds(texts: pl.Series) -> pl.Series:
    """``term_kind`` of each search term: "asin" where :func:`is_asin` holds, else "keyword".

    ``ASIN_PATTERN`` is written for both regex engines, so polars' vectorised match is is_asin's."""
    asin = texts.str.contains(ASIN_PATTERN.pattern).fill_null(value=False)
    return (
        pl.select(pl.when(asin).then(pl.lit("asin")).otherwise(pl.lit("keyword")))
        .to_series()
        .alias("term_kind")
    )


def _metric_expr(spec: NameSpec, window: Range) -> pl.Expr:
    metric = spec.metric or spec.name

    def count(m: str) -> pl.Expr:
        return pl.col(_col(m, window)).fill_null(0)

    if metric in COUNT_METRICS:
        return count(metric).cast(pl.Float64)
    if metric == "budget_utilization":
        days = (window[1] - window[0]).days + 1
        daily = count("cost") / days
        return pl.when(pl.col("budget") > 0).then(daily / pl.col("budget")).otherwise(None)
    num, den = RATIO_METRICS[metric]
    return pl.when(count(den) > 0).then(count(num) / count(den)).otherwise(None)


def _target_acos(settings: EngineSettings) -> pl.Expr:
    overrides = settings.campaign_target_acos
    by_id = pl.col("campaign_id").replace_strict(overrides, default=None, return_dtype=pl.Float64)
    by_name = pl.col("campaign_name").replace_strict(
        overrides, default=None, return_dtype=pl.Float64
    )
    if not overrides:
        return pl.lit(settings.target_acos, dtype=pl.Float64)
    return pl.coalesce(by_id, by_name, pl.lit(settings.target_acos, dtype=pl.Float64))


def rule_frame(
    rule: LoadedRule,
    entities: pl.DataFrame,
    sums: WindowSums,
    inputs: EngineInputs,
    settings: EngineSettings,
    ranges: dict[str, Range],
    now: datetime,
) -> pl.DataFrame:
    """Entities of ``rule`` with a column per name it reads (metrics, attributes, settings, base)."""
    frame = entities
    extra: list[pl.Expr] = []
    if ranges:
        if not any("@" in c for c in frame.columns):
            frame = frame.join(sums.frame(rule.rule.entity), on="entity_id", how="left")
        extra.extend(_metric_expr(rule.specs[n], r).alias(n) for n, r in ranges.items())
    if "target_acos" in rule.specs or "campaign_id" in frame.columns:
        extra.append(_target_acos(settings).alias("target_acos"))
    if "days_since_change" in rule.specs:
        frame = frame.join(_last_change(rule, inputs), on="entity_id", how="left")
        seconds = (
            pl.lit(now).cast(pl.Datetime("us", "UTC")) - pl.col("_last_change")
        ).dt.total_seconds()
        extra.append((seconds / 86400.0).alias("days_since_change"))
    if rule.schedule is not None:
        stored = inputs.base_bids.filter(pl.col("rule_name") == rule.name).select(
            "entity_id", pl.col("base_bid").alias("_stored_base")
        )
        frame = frame.join(stored, on="entity_id", how="left")
        extra.append(pl.coalesce("_stored_base", "bid").alias("base"))
    return frame.with_columns(extra) if extra else frame


def _last_change(rule: LoadedRule, inputs: EngineInputs) -> pl.DataFrame:
    history = inputs.history.filter(
        pl.col("entity_kind").is_in(RULE_ENTITY_KINDS[rule.rule.entity])
        & (pl.col("status") == "applied")
    )
    if rule.field is not None:
        history = history.filter(pl.col("field") == rule.field)
    return history.group_by("entity_id").agg(pl.col("changed_at").max().alias("_last_change"))
