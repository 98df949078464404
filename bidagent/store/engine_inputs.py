"""Read the store into the frames the engine evaluates: entities, daily facts, history, base bids.

This is the only place that turns SQL rows into the engine's polars frames. Each read's columns
and dtypes come from the engine's column contract (``bidagent.engine.inputs``): a column is
selected under its own name unless :class:`FrameRead` maps it to another SQL expression. It
reads with the driver cursor and builds frames column-wise (see ``bidagent.store.columnar``),
which is several times faster than going through ORM objects for millions of facts; a large
profile's facts and targets are read by child processes through Arrow.

It must not write, and must not decide anything about the rows: the engine does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bidagent.engine.inputs import (
    AD_GROUPS_SCHEMA,
    BASE_BIDS_SCHEMA,
    CAMPAIGNS_SCHEMA,
    FACTS_SCHEMA,
    HISTORY_SCHEMA,
    NEGATIVES_SCHEMA,
    SEARCH_TERMS_SCHEMA,
    TARGETS_SCHEMA,
    EngineInputs,
)
from bidagent.store.columnar import FrameReader, PendingFrames, Query
from bidagent.store.report_days import read_report_dates
from bidagent.store.types import SQLITE_DATETIME_PARSE_FORMAT, driver_datetime

__all__ = [
    "CHILD_READ_MIN_TARGETS",
    "FACT_LOOKBACK_DAYS",
    "FrameRead",
    "read_engine_inputs",
]

# From this many targets on, a profile's daily facts and its targets are read by child processes
# (see bidagent.store.columnar); below it, a process start (about 0.2 s) costs more than it saves.
CHILD_READ_MIN_TARGETS = 20_000

# The share of the fact days read by the child that also reads the targets: on the benchmark
# (200,000 targets, 50,000 fact rows a day) 0.4 has both children take the same CPU time.
_FIRST_CHILD_DAYS = 0.4

# Amazon keeps 95 days of SP report data; no rule window can usefully reach further back.
FACT_LOOKBACK_DAYS = 95


@dataclass(frozen=True)
class FrameRead:
    """One SELECT: the frame's columns and read dtypes, and what follows ``SELECT ...``.

    ``expressions`` maps a column to its SQL expression where that is not the column of the same
    name; ``alias`` qualifies the others (``b.rule_name``) when the FROM clause joins tables.
    """

    schema: dict[str, Any]
    source: str
    expressions: dict[str, str] = field(default_factory=dict)
    alias: str | None = None

    @property
    def sql(self) -> str:
        """The statement, with ``:name`` placeholders."""
        prefix = f"{self.alias}." if self.alias else ""
        items = []
        for column in self.schema:
            expression = self.expressions.get(column, prefix + column)
            items.append(column if expression == column else f"{expression} AS {column}")
        return f"SELECT {', '.join(items)}\n{self.source}"

    def query(self, params: dict[str, Any], dates: tuple[str, ...] = ()) -> Query:
        """This read as a :class:`Query` for the columnar reader."""
        return Query(self.sql, params, self.schema, dates)


def _pick(schema: dict[str, Any], *columns: str) -> dict[str, Any]:
    return {c: schema[c] for c in columns}


_METRICS = {c: t for c, t in FACTS_SCHEMA.items() if c not in ("entity_kind", "entity_id", "date")}
_KINDS = {"entity_kind": "kind", "entity_id": "target_id"}  # the targets tables' key columns
_PROFILE = "WHERE profile_id = :profile_id"
_FACT_DAYS = f"{_PROFILE} AND date >= :since AND date < :until"

# The targets alone; their ad group's and campaign's columns are joined on here (see
# _joined_targets): a SQL join costs the child reader two lookups and five columns per target.
_TARGET_ROWS = FrameRead(
    _pick(TARGETS_SCHEMA, "entity_kind", "entity_id", "profile_id", "campaign_id", "ad_group_id",
          "state", "bid", "match_type", "keyword_text", "targeting"),
    f"FROM targets {_PROFILE}",
    _KINDS,
)  # fmt: skip
# Every ad group and campaign, not only the profile's: the join must keep what a SQL join keeps.
_GROUP_COLUMNS = FrameRead(
    _pick(TARGETS_SCHEMA, "ad_group_id", "ad_group_name", "default_bid"),
    "FROM ad_groups",
    {"ad_group_name": "name"},
)
_CAMPAIGN_COLUMNS = FrameRead(
    _pick(TARGETS_SCHEMA, "campaign_id", "campaign_name", "portfolio", "budget"),
    "FROM campaigns",
    {"campaign_name": "name", "portfolio": "portfolio_id"},
)
# Suggested bids are few next to the targets (a refreshed subset) and read in the parent.
_SUGGESTIONS = FrameRead(
    _pick(TARGETS_SCHEMA, "entity_kind", "entity_id", "suggested_bid", "suggested_bid_low",
          "suggested_bid_high"),
    f"FROM bid_suggestions {_PROFILE}",
    {**_KINDS, "suggested_bid": "median", "suggested_bid_low": "low", "suggested_bid_high": "high"},
)  # fmt: skip
_AD_GROUPS = FrameRead(
    AD_GROUPS_SCHEMA,
    "FROM ad_groups g JOIN campaigns c ON c.campaign_id = g.campaign_id\n"
    "WHERE g.profile_id = :profile_id",
    {"entity_kind": "'ad_group'", "entity_id": "g.ad_group_id", "campaign_name": "c.name",
     "ad_group_name": "g.name", "portfolio": "c.portfolio_id", "budget": "c.budget",
     "targeting_type": "c.targeting_type", "campaign_state": "c.state"},
    alias="g",
)  # fmt: skip
_CAMPAIGNS = FrameRead(
    CAMPAIGNS_SCHEMA,
    f"FROM campaigns {_PROFILE}",
    {"entity_kind": "'campaign'", "entity_id": "campaign_id", "campaign_name": "name",
     "portfolio": "portfolio_id"},
)  # fmt: skip
# Negative keywords and negative product targets; a target's ASIN is taken from its expression
# (JSON, read as text on every database) in Python, see _negatives.
_NEGATIVES = FrameRead(
    {**{c: t for c, t in NEGATIVES_SCHEMA.items() if c != "asin"}, "expression": pl.Utf8},
    f"FROM negatives {_PROFILE} AND state != 'archived'\n"
    "  AND (keyword_text IS NOT NULL OR expression IS NOT NULL)",
    {"expression": "CAST(expression AS TEXT)"},
)
_TARGET_FACTS = FrameRead(FACTS_SCHEMA, f"FROM target_facts {_FACT_DAYS}")
_CAMPAIGN_FACTS = FrameRead(
    FACTS_SCHEMA,
    f"FROM campaign_facts {_FACT_DAYS}",
    {"entity_kind": "'campaign'", "entity_id": "campaign_id"},
)
# Search-term facts keep their source (the keyword or target matched) and their parents; the
# engine's entity id (source kind, source id and term, joined by ':') is built from them here.
_TERM_FACTS = FrameRead(
    {
        **dict.fromkeys(["source_kind", "source_id", "search_term"], pl.Utf8),
        "date": FACTS_SCHEMA["date"],
        **_METRICS,
        **dict.fromkeys(["campaign_id", "ad_group_id"], pl.Utf8),
    },
    f"FROM search_term_facts {_FACT_DAYS}",
)
# changed_at is read as text: SQLite stores it so, and _as_utc parses it whatever the database.
_HISTORY = FrameRead(
    {**HISTORY_SCHEMA, "changed_at": pl.Utf8},
    "FROM changes\n"
    "WHERE profile_id = :profile_id AND status IN ('applied', 'rejected')\n"
    "  AND COALESCE(finished_at, updated_at) >= :history_since",
    {"changed_at": "COALESCE(finished_at, updated_at)",
     "status": "CASE WHEN status = 'rejected' THEN 'rejected' ELSE 'applied' END"},
)  # fmt: skip
_BASE_BIDS = FrameRead(
    BASE_BIDS_SCHEMA,
    "FROM base_bids b\n"
    "JOIN targets t ON t.kind = b.entity_kind AND t.target_id = b.entity_id\n"
    "WHERE t.profile_id = :profile_id",
    alias="b",
)


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
        .str.to_datetime(format=SQLITE_DATETIME_PARSE_FORMAT, strict=False)
        .dt.replace_time_zone("UTC")
    )


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
    ad_groups = reader.frame(_AD_GROUPS.sql, params, _AD_GROUPS.schema)
    campaigns = reader.frame(_CAMPAIGNS.sql, params, _CAMPAIGNS.schema)
    negatives = reader.frame(_NEGATIVES.sql, params, _NEGATIVES.schema)
    history = reader.frame(_HISTORY.sql, history_params, _HISTORY.schema)
    base_bids = reader.frame(_BASE_BIDS.sql, params, _BASE_BIDS.schema)
    group_columns = reader.frame(_GROUP_COLUMNS.sql, {}, _GROUP_COLUMNS.schema)
    campaign_columns = reader.frame(_CAMPAIGN_COLUMNS.sql, {}, _CAMPAIGN_COLUMNS.schema)
    suggestions = reader.frame(_SUGGESTIONS.sql, params, _SUGGESTIONS.schema)
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
            _as_date(term_facts.select(list(FACTS_SCHEMA))),
        ],
        how="vertical",
    )
    return EngineInputs(
        targets=targets,
        ad_groups=ad_groups,
        campaigns=campaigns,
        search_terms=_search_terms(term_facts, targets, campaigns, ad_groups, profile_id),
        negatives=_negatives(negatives),
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
    sources = (_TARGET_FACTS, _CAMPAIGN_FACTS, _TERM_FACTS)
    facts = [
        [read.query({**params, "since": a, "until": b}, ("date",)) for read in sources]
        for a, b in ranges
    ]
    targets = _TARGET_ROWS.query(params)
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
        .select(list(TARGETS_SCHEMA))
    )


def _target_count(connection: Connection, profile_id: str) -> int:
    query = text("SELECT COUNT(*) FROM targets WHERE profile_id = :profile_id")
    return int(connection.execute(query, {"profile_id": profile_id}).scalar_one())


def _history_since(connection: Connection, since: date) -> Any:
    return driver_datetime(connection.dialect.name, datetime(since.year, since.month, since.day))


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
    names = campaigns.select(
        pl.col("entity_id").alias("campaign_id"), "campaign_name", "targeting_type"
    )
    group_names = ad_groups.select(pl.col("entity_id").alias("ad_group_id"), "ad_group_name")
    return (
        terms.join(sources, on=["source_kind", "source_id"], how="left")
        .join(names, on="campaign_id", how="left")
        .join(group_names, on="ad_group_id", how="left")
        .with_columns(pl.lit(profile_id).alias("profile_id"))
        .select(list(SEARCH_TERMS_SCHEMA))
    )


def _asin_of(expression: str | None) -> str | None:
    """The ASIN (upper case) of a negative targeting expression's ``ASIN_SAME_AS`` predicate."""
    if not expression:
        return None
    try:
        predicates = json.loads(expression)
    except ValueError:
        return None
    for predicate in predicates if isinstance(predicates, list) else []:
        kind = str(predicate.get("type", "")) if isinstance(predicate, dict) else ""
        if kind.replace("_", "").lower() == "asinsameas" and predicate.get("value"):
            return str(predicate["value"]).strip().upper()
    return None


def _negatives(rows: pl.DataFrame) -> pl.DataFrame:
    """The negatives frame: each negative target's ASIN in ``asin`` (null for a brand or other)."""
    asins = [_asin_of(e) for e in rows.get_column("expression").to_list()]
    return rows.with_columns(pl.Series("asin", asins, dtype=pl.Utf8)).select(list(NEGATIVES_SCHEMA))
