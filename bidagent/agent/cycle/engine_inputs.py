"""Read the store into the frames the engine evaluates: entities, daily facts, history, base bids.

This is the only place that turns SQL rows into the engine's polars frames (see
``bidagent.engine`` for the column contract). It reads with the driver cursor and builds frames
column-wise, which is several times faster than going through ORM objects for millions of facts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bidagent.agent.cycle.report_coverage import read_report_dates
from bidagent.business_dates import business_date
from bidagent.durations import parse_duration
from bidagent.engine import EngineInputs, EngineSettings
from bidagent.engine.config import GuardrailConfig
from bidagent.errors import AgentError
from bidagent.marketplaces import marketplace_for
from bidagent.settings import GuardrailSettings, Settings
from bidagent.store import ProfileRecord, make_engine, session_scope, upgrade_database
from bidagent.store.columnar import FrameReader, PendingFrames, Query

__all__ = ["FACT_LOOKBACK_DAYS", "load_engine_inputs", "read_engine_inputs"]

# From this many targets on, a profile's daily facts and its targets are read by child processes
# (see bidagent.store.columnar); below it, a process start (about 0.2 s) costs more than it saves.
CHILD_READ_MIN_TARGETS = 20_000

# The share of the fact days read by the child that also reads the targets: on the benchmark
# (200,000 targets, 50,000 fact rows a day) 0.4 has both children take the same CPU time.
_FIRST_CHILD_DAYS = 0.4

# Amazon keeps 95 days of SP report data; no rule window can usefully reach further back.
FACT_LOOKBACK_DAYS = 95

_METRICS = ["impressions", "clicks", "cost", "orders", "sales", "units"]
_METRIC_TYPES = {
    "impressions": pl.Int64,
    "clicks": pl.Int64,
    "cost": pl.Float64,
    "orders": pl.Int64,
    "sales": pl.Float64,
    "units": pl.Int64,
}


def _as_date(frame: pl.DataFrame, column: str = "date") -> pl.DataFrame:
    if frame.schema[column] == pl.Date:
        return frame
    return frame.with_columns(pl.col(column).cast(pl.Utf8).str.slice(0, 10).str.to_date())


def _as_utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return frame.with_columns(pl.col(column).dt.convert_time_zone("UTC"))
    if isinstance(dtype, pl.Datetime):
        return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC"))
    return frame.with_columns(
        pl.col(column)
        .cast(pl.Utf8)
        .str.slice(0, 26)
        .str.to_datetime(format="%Y-%m-%d %H:%M:%S%.f", strict=False)
        .dt.replace_time_zone("UTC")
    )


# The targets alone; their ad group's and campaign's columns are joined on here (see
# _joined_targets): a SQL join costs the child reader two lookups and five columns per target.
_TARGETS_SQL = """
SELECT kind AS entity_kind, target_id AS entity_id, profile_id, campaign_id, ad_group_id, state,
       bid, match_type, keyword_text, targeting
FROM targets WHERE profile_id = :profile_id
"""
# Every ad group and campaign, not only the profile's: the join must keep what a SQL join keeps.
_GROUP_COLUMNS_SQL = "SELECT ad_group_id, name AS ad_group_name, default_bid FROM ad_groups"
_CAMPAIGN_COLUMNS_SQL = """
SELECT campaign_id, name AS campaign_name, portfolio_id AS portfolio, budget FROM campaigns
"""
# Suggested bids are few next to the targets (a refreshed subset) and read in the parent.
_SUGGESTIONS_SQL = """
SELECT kind AS entity_kind, target_id AS entity_id, median AS suggested_bid,
       low AS suggested_bid_low, high AS suggested_bid_high
FROM bid_suggestions WHERE profile_id = :profile_id
"""
_AD_GROUPS_SQL = """
SELECT 'ad_group' AS entity_kind, g.ad_group_id AS entity_id, g.profile_id, g.campaign_id,
       c.name AS campaign_name, g.name AS ad_group_name, g.state, g.default_bid,
       c.portfolio_id AS portfolio, c.budget
FROM ad_groups g JOIN campaigns c ON c.campaign_id = g.campaign_id
WHERE g.profile_id = :profile_id
"""
_CAMPAIGNS_SQL = """
SELECT 'campaign' AS entity_kind, campaign_id AS entity_id, profile_id, campaign_id,
       name AS campaign_name, state, budget, portfolio_id AS portfolio, targeting_type
FROM campaigns WHERE profile_id = :profile_id
"""
_NEGATIVES_SQL = """
SELECT campaign_id, ad_group_id, keyword_text, match_type FROM negatives
WHERE profile_id = :profile_id AND keyword_text IS NOT NULL AND state != 'archived'
"""
_TARGET_FACTS_SQL = """
SELECT entity_kind, entity_id, date, impressions, clicks, cost, orders, sales, units
FROM target_facts WHERE profile_id = :profile_id AND date >= :since AND date < :until
"""
_CAMPAIGN_FACTS_SQL = """
SELECT 'campaign' AS entity_kind, campaign_id AS entity_id, date, impressions, clicks, cost, orders, sales, units
FROM campaign_facts WHERE profile_id = :profile_id AND date >= :since AND date < :until
"""
_TERM_FACTS_SQL = """
SELECT f.source_kind, f.source_id, f.search_term, f.date, f.impressions, f.clicks, f.cost,
       f.orders, f.sales, f.units, f.campaign_id, f.ad_group_id
FROM search_term_facts f
WHERE f.profile_id = :profile_id AND f.date >= :since AND f.date < :until
"""
_HISTORY_SQL = """
SELECT entity_kind, entity_id, field, COALESCE(finished_at, updated_at) AS changed_at, actor,
       rule_name, CASE WHEN status = 'rejected' THEN 'rejected' ELSE 'applied' END AS status
FROM changes
WHERE profile_id = :profile_id AND status IN ('applied', 'rejected')
  AND COALESCE(finished_at, updated_at) >= :history_since
"""
_BASE_BIDS_SQL = """
SELECT b.entity_kind, b.entity_id, b.rule_name, b.base_bid FROM base_bids b
JOIN targets t ON t.kind = b.entity_kind AND t.target_id = b.entity_id
WHERE t.profile_id = :profile_id
"""


def _text(columns: list[str]) -> dict[str, Any]:
    return dict.fromkeys(columns, pl.Utf8)


_MONEY = {"bid": pl.Float64, "default_bid": pl.Float64, "budget": pl.Float64}
_TARGETS_SCHEMA = {
    **_text([
        "entity_kind", "entity_id", "profile_id", "campaign_id", "campaign_name", "ad_group_id",
        "ad_group_name", "state", "bid", "default_bid", "match_type", "keyword_text", "targeting",
        "portfolio", "budget",
    ]),
    **_MONEY,
    **dict.fromkeys(["suggested_bid", "suggested_bid_low", "suggested_bid_high"], pl.Float64),
}  # fmt: skip
_SUGGESTIONS_SCHEMA = {
    c: _TARGETS_SCHEMA[c]
    for c in [
        "entity_kind",
        "entity_id",
        "suggested_bid",
        "suggested_bid_low",
        "suggested_bid_high",
    ]
}
_TARGET_ROWS_SCHEMA = {
    c: _TARGETS_SCHEMA[c]
    for c in ["entity_kind", "entity_id", "profile_id", "campaign_id", "ad_group_id", "state",
              "bid", "match_type", "keyword_text", "targeting"]
}  # fmt: skip
_GROUP_COLUMNS_SCHEMA = {
    "ad_group_id": pl.Utf8,
    "ad_group_name": pl.Utf8,
    "default_bid": pl.Float64,
}
_CAMPAIGN_COLUMNS_SCHEMA = {
    **_text(["campaign_id", "campaign_name", "portfolio"]),
    "budget": pl.Float64,
}
_AD_GROUPS_SCHEMA = {
    **_text([
        "entity_kind", "entity_id", "profile_id", "campaign_id", "campaign_name", "ad_group_name",
        "state", "default_bid", "portfolio", "budget",
    ]),
    "default_bid": pl.Float64,
    "budget": pl.Float64,
}  # fmt: skip
_CAMPAIGNS_SCHEMA = {
    **_text([
        "entity_kind", "entity_id", "profile_id", "campaign_id", "campaign_name", "state",
        "budget", "portfolio", "targeting_type",
    ]),
    "budget": pl.Float64,
}  # fmt: skip
_NEGATIVES_SCHEMA = _text(["campaign_id", "ad_group_id", "keyword_text", "match_type"])
_FACT_SCHEMA = {"entity_kind": pl.Utf8, "entity_id": pl.Utf8, "date": pl.Date, **_METRIC_TYPES}
_TERM_SCHEMA = {
    **_text(["source_kind", "source_id", "search_term"]),
    "date": pl.Date,
    **_METRIC_TYPES,
    **_text(["campaign_id", "ad_group_id"]),
}
_HISTORY_SCHEMA = _text(
    ["entity_kind", "entity_id", "field", "changed_at", "actor", "rule_name", "status"]
)
_BASE_BIDS_SCHEMA = {**_text(["entity_kind", "entity_id", "rule_name"]), "base_bid": pl.Float64}


def read_engine_inputs(
    connection: Connection,
    profile_id: str,
    today: date,
    *,
    lookback_days: int = FACT_LOOKBACK_DAYS,
    facts_lookback_days: int | None = None,
) -> EngineInputs:
    """Build :class:`EngineInputs` for one profile from an open connection.

    ``lookback_days`` bounds the change history (cooldowns); ``facts_lookback_days`` (default:
    the same) bounds the daily facts. Facts are by far the largest read, so callers that know
    their rule set pass :func:`bidagent.engine.lookback.facts_lookback_days` and load only the
    days a window can reach.
    """
    since = today - timedelta(days=lookback_days)
    facts_since = today - timedelta(days=facts_lookback_days or lookback_days)
    params = {"profile_id": profile_id, "since": facts_since}
    history_params = {"profile_id": profile_id, "history_since": _history_since(connection, since)}
    reader = FrameReader(connection)
    # A large profile's big reads (facts, targets) go to child processes; the rest is small.
    large = _target_count(connection, profile_id) >= CHILD_READ_MIN_TARGETS
    reads = _submit_big_reads(reader, params, facts_since, today, in_child=large)
    ad_groups = reader.frame(_AD_GROUPS_SQL, params, _AD_GROUPS_SCHEMA)
    campaigns = reader.frame(_CAMPAIGNS_SQL, params, _CAMPAIGNS_SCHEMA)
    negatives = reader.frame(_NEGATIVES_SQL, params, _NEGATIVES_SCHEMA)
    history = reader.frame(_HISTORY_SQL, history_params, _HISTORY_SCHEMA)
    base_bids = reader.frame(_BASE_BIDS_SQL, params, _BASE_BIDS_SCHEMA)
    group_columns = reader.frame(_GROUP_COLUMNS_SQL, {}, _GROUP_COLUMNS_SCHEMA)
    campaign_columns = reader.frame(_CAMPAIGN_COLUMNS_SQL, {}, _CAMPAIGN_COLUMNS_SCHEMA)
    suggestions = reader.frame(_SUGGESTIONS_SQL, params, _SUGGESTIONS_SCHEMA)
    target_rows, *first = reads[0].result()
    targets = _joined_targets(target_rows, group_columns, campaign_columns, suggestions)
    parts = [first, *(pending.result() for pending in reads[1:])]
    target_facts, campaign_facts, term_facts = (
        pl.concat(frames) for frames in zip(*parts, strict=True)
    )
    coverage = read_report_dates(connection, profile_id, facts_since)
    term_facts = term_facts.with_columns(
        pl.lit("search_term").alias("entity_kind"),
        pl.concat_str(
            [pl.col("source_kind"), pl.col("source_id"), pl.col("search_term")], separator=":"
        ).alias("entity_id"),
    )
    facts = pl.concat(
        [
            _as_date(target_facts),
            _as_date(campaign_facts),
            _as_date(term_facts.select(list(_FACT_SCHEMA))),
        ],
        how="vertical",
    )
    return EngineInputs(
        targets=targets,
        ad_groups=ad_groups,
        campaigns=campaigns,
        search_terms=_search_terms(term_facts, targets, campaigns, ad_groups, profile_id),
        negatives=negatives,
        facts=facts,
        history=_as_utc(history, "changed_at"),
        base_bids=base_bids,
        # Which days the reports covered, so a quiet day is not taken for a missing one. A store
        # that never recorded coverage (facts loaded by other means) falls back to the facts.
        report_dates=coverage if coverage.height else None,
    )


def _submit_big_reads(
    reader: FrameReader, params: dict[str, Any], since: date, today: date, *, in_child: bool
) -> list[PendingFrames]:
    """The targets, then the three fact reads (targets, campaigns, search terms) of each date range.

    In children, two processes share the work (one per core; a third would only add a process
    start, about 0.25 s of CPU): the first reads the targets and the oldest days, the second the
    rest, so both finish about together. The date ranges come back oldest first, so the rows keep
    the order of a single read.
    """
    end = today + timedelta(days=1)
    split = since + timedelta(days=round((end - since).days * _FIRST_CHILD_DAYS))
    ranges = [(since, split), (split, end)] if in_child and since < split < end else [(since, end)]
    sources = (
        (_TARGET_FACTS_SQL, _FACT_SCHEMA),
        (_CAMPAIGN_FACTS_SQL, _FACT_SCHEMA),
        (_TERM_FACTS_SQL, _TERM_SCHEMA),
    )
    facts = [
        [
            Query(sql, {**params, "since": a, "until": b}, schema, ("date",))
            for sql, schema in sources
        ]
        for a, b in ranges
    ]
    targets = Query(_TARGETS_SQL, params, _TARGET_ROWS_SCHEMA)
    first = reader.submit([targets, *facts[0]], in_child=in_child)
    return [first, *(reader.submit(queries, in_child=in_child) for queries in facts[1:])]


def _joined_targets(
    targets: pl.DataFrame,
    groups: pl.DataFrame,
    campaigns: pl.DataFrame,
    suggestions: pl.DataFrame,
) -> pl.DataFrame:
    """Targets with their ad group's and campaign's columns, as an inner join in SQL gives them
    (a target without its ad group or campaign row is left out), in the targets' own order, and
    their suggested bids where one was fetched."""
    return (
        targets.join(groups, on="ad_group_id", how="inner", maintain_order="left")
        .join(campaigns, on="campaign_id", how="inner", maintain_order="left")
        .join(suggestions, on=["entity_kind", "entity_id"], how="left", maintain_order="left")
        .select(list(_TARGETS_SCHEMA))
    )


def _target_count(connection: Connection, profile_id: str) -> int:
    query = text("SELECT COUNT(*) FROM targets WHERE profile_id = :profile_id")
    return int(connection.execute(query, {"profile_id": profile_id}).scalar_one())


def _history_since(connection: Connection, since: date) -> Any:
    moment = datetime(since.year, since.month, since.day)
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S.%f") if connection.dialect.name == "sqlite" else moment
    )


def _search_terms(
    term_facts: pl.DataFrame,
    targets: pl.DataFrame,
    campaigns: pl.DataFrame,
    ad_groups: pl.DataFrame,
    profile_id: str,
) -> pl.DataFrame:
    """One row per search term entity, with its source target's text and match type."""
    terms = term_facts.select(
        "entity_kind",
        "entity_id",
        "campaign_id",
        "ad_group_id",
        "search_term",
        "source_kind",
        "source_id",
    ).unique(subset=["entity_id"], keep="last", maintain_order=True)
    sources = targets.select(
        pl.col("entity_kind").alias("source_kind"),
        pl.col("entity_id").alias("source_id"),
        "keyword_text",
        "match_type",
    )
    names = campaigns.select(pl.col("entity_id").alias("campaign_id"), "campaign_name")
    group_names = ad_groups.select(pl.col("entity_id").alias("ad_group_id"), "ad_group_name")
    return (
        terms.join(sources, on=["source_kind", "source_id"], how="left")
        .join(names, on="campaign_id", how="left")
        .join(group_names, on="ad_group_id", how="left")
        .with_columns(pl.lit(profile_id).alias("profile_id"))
        .select(
            "entity_kind",
            "entity_id",
            "profile_id",
            "campaign_id",
            "campaign_name",
            "ad_group_id",
            "ad_group_name",
            "search_term",
            "source_kind",
            "source_id",
            "keyword_text",
            "match_type",
        )
    )


def engine_settings_for(settings: Settings, profile: ProfileRecord) -> EngineSettings:
    """The engine's view of one profile's configuration and marketplace."""
    configured = settings.profile(profile.profile_id)
    return EngineSettings(
        profile_id=profile.profile_id,
        timezone=profile.timezone,
        marketplace=marketplace_for(profile.country_code),
        mode=settings.effective_mode,
        target_acos=settings.target_acos_for(profile.profile_id),
        campaign_target_acos=dict(configured.campaign_target_acos) if configured else {},
        guardrails=guardrail_config(settings.guardrails),
    )


def guardrail_config(guardrails: GuardrailSettings) -> GuardrailConfig:
    """The ``[guardrails]`` section as the engine takes it: durations parsed."""
    return GuardrailConfig(
        min_bid=guardrails.min_bid,
        max_bid=guardrails.max_bid,
        min_budget=guardrails.min_budget,
        max_budget=guardrails.max_budget,
        max_step=guardrails.max_step,
        cooldown=parse_duration(guardrails.cooldown),
        settle=parse_duration(guardrails.settle),
        max_data_age=parse_duration(guardrails.max_data_age),
        max_changes_per_cycle=guardrails.max_changes_per_cycle,
        max_changes_pct=guardrails.max_changes_pct,
    )


def load_engine_inputs(
    settings: Settings, profile_id: str, now: datetime, *, engine: Engine | None = None
) -> tuple[EngineInputs, EngineSettings]:
    """Everything the engine needs for one profile at ``now``, read from the configured database."""
    db = engine or make_engine(settings.database.url)
    if engine is None:
        upgrade_database(db)
    with session_scope(db) as session:
        profile = session.get(ProfileRecord, profile_id)
    if profile is None:
        raise AgentError(
            f"profile {profile_id} is not in the database yet; run `bidagent cycle` once to sync it"
        )
    engine_settings = engine_settings_for(settings, profile)
    today = business_date(now, profile.timezone)
    with db.connect() as connection:
        inputs = read_engine_inputs(connection, profile_id, today)
    return inputs, engine_settings
