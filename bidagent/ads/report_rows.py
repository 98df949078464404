"""Validate a downloaded report and turn its rows into fact rows for the store.

Owns what a well-formed report is (digest §3.5-3.6): a JSON array of flat objects with the columns
we asked for, ids as non-negative integers, dates inside the requested range, counts that are
non-negative integers and money that is a non-negative number. A report that breaks any of this is
rejected **whole** with a :class:`ReportFailed` naming the row index and the column: acting on a
partial report is how a rule cuts the bid of a keyword whose sales merely went missing.

Parsing is columnar (polars reads the JSON with a fixed schema, checks run as vector expressions)
because a 60-day sync of a large account is millions of rows. Where polars would silently coerce a
value (``true`` read as 1) or gives only a vague error, a slow per-row pass finds the exact row.
It must not write to the store.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl
import structlog

from bidagent.errors import ReportFailed

__all__ = ["MAX_COUNT", "MAX_MONEY", "parse_report"]

log = structlog.get_logger(__name__)

# Plausible ranges, checked before any cast: a count or amount past these is a broken report, not
# a busy day (and 1e30 clicks would not even fit the store's integer columns).
MAX_COUNT = 10**10  # impressions of one entity on one day; clicks and orders are far fewer
MAX_MONEY = 10.0**9  # cost, sales or budget of one entity on one day, in the account currency

# Column roles: id, date, count (non-negative integer), money (non-negative number), text, kind.
_METRICS = {
    "impressions": "count",
    "clicks": "count",
    "cost": "money",
    "purchases7d": "count",
    "sales7d": "money",
    "unitsSoldClicks7d": "count",
}
_SPECS: dict[str, dict[str, str]] = {
    "spTargeting": {"date": "date", "keywordId": "id", **_METRICS},
    "spSearchTerm": {"date": "date", "campaignId": "id", "adGroupId": "id", "keywordId": "id",
                     "searchTerm": "text", **_METRICS},
    "spCampaigns": {"date": "date", "campaignId": "id", **_METRICS},
}  # fmt: skip
# Asked for (ads/reports.py REPORT_COLUMNS) but not read; any other column is logged as unknown.
_REQUESTED = {"spTargeting": {"campaignId", "adGroupId", "targeting"}}
# Read but allowed to be absent or null.
_OPTIONAL = {"spCampaigns": {"campaignBudgetAmount": "money"}}
_KIND_COLUMNS = ("keywordType", "matchType")
_KINDS = {
    "BROAD": "keyword",
    "PHRASE": "keyword",
    "EXACT": "keyword",
    "TARGETING_EXPRESSION": "product_target",
    "TARGETING_EXPRESSION_PREDEFINED": "product_target",
}
_NEEDS_KIND = {"spTargeting", "spSearchTerm"}
_KEYS = {
    "spTargeting": ["entity_kind", "entity_id", "date"],
    "spSearchTerm": ["source_kind", "source_id", "search_term", "date"],
    "spCampaigns": ["campaign_id", "date"],
}
_DTYPES = {"id": pl.String, "date": pl.String, "count": pl.Float64, "money": pl.Float64,
           "text": pl.String, "kind": pl.String}  # fmt: skip
# A JSON boolean as a value: polars would read it into a number column as 0/1.
_BOOLEAN_VALUE = re.compile(rb":\s*(?:true|false)\b")


class _Context:
    """Which report is being parsed, for error messages and exception fields."""

    def __init__(self, report_type: str, profile_id: str, start: date, end: date) -> None:
        self.report_type = report_type
        self.profile_id = profile_id
        self.start = start
        self.end = end

    def reject(self, message: str) -> ReportFailed:
        error = ReportFailed(
            f"{self.report_type} report for profile {self.profile_id}, {self.start}..{self.end} "
            f"rejected: {message}"
        )
        for name in ("report_type", "profile_id", "start", "end"):
            setattr(error, name, getattr(self, name))
        return error


def _columns(report_type: str) -> dict[str, str]:
    columns = dict(_SPECS[report_type])
    columns.update(_OPTIONAL.get(report_type, {}))
    if report_type in _NEEDS_KIND:
        columns.update(dict.fromkeys(_KIND_COLUMNS, "kind"))
    return columns


def _diagnose(raw: bytes, report_type: str) -> str | None:
    """The first problem a per-row pass finds, or ``None`` (slow; only on suspicion)."""
    try:
        rows = json.loads(raw)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(rows, list):
        return "the file is not a JSON array"
    columns = _columns(report_type)
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            return f"row {index} is not a JSON object"
        for column, role in columns.items():
            value = row.get(column)
            if value is None:
                continue  # absence and nulls are judged by the columnar checks
            if role in ("count", "money"):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            elif role == "id":
                ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                    isinstance(value, str) and value.isdigit()
                )
            else:
                ok = isinstance(value, str)
            if not ok:
                return f"row {index} column '{column}': {_show(value)} is not a valid {role}"
    return None


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read(raw: bytes, context: _Context) -> pl.DataFrame:
    columns = _columns(context.report_type)
    if raw.lstrip()[:1] != b"[" or _BOOLEAN_VALUE.search(raw):
        problem = _diagnose(raw, context.report_type)
        if problem is not None:
            raise context.reject(problem)
    schema = {name: _DTYPES[role] for name, role in columns.items()}
    try:
        return pl.read_json(io.BytesIO(raw), schema=schema)
    except Exception as exc:  # polars raises several types; all mean "unreadable"
        problem = _diagnose(raw, context.report_type)
        raise context.reject(problem or f"unreadable ({str(exc).splitlines()[0]})") from None


def _first(frame: pl.DataFrame, mask: pl.Series) -> int | None:
    hits = mask.fill_null(True).arg_true()
    return None if hits.is_empty() else int(hits[0])


def _check(frame: pl.DataFrame, context: _Context) -> None:
    """Raise on the first broken row, column by column, naming row index and column."""
    if frame.is_empty():
        return
    for column, role in _columns(context.report_type).items():
        series = frame[column]
        optional = column in _OPTIONAL.get(context.report_type, {}) or role == "kind"
        if not optional and series.null_count() == frame.height:
            raise context.reject(f"column '{column}' is missing")
        if not optional and series.null_count():
            index = _first(frame, series.is_null())
            raise context.reject(f"row {index} column '{column}': value is missing or null")
        bad: pl.Series | None = None
        if role == "id":
            bad = ~series.str.contains(r"^[0-9]+$")
        elif role in ("count", "money"):
            top = MAX_COUNT if role == "count" else MAX_MONEY
            good = series.is_finite() & (series >= 0) & (series <= top)  # NaN is not good
            if role == "count":
                good = good & (series == series.floor())
            bad = ~good
        elif role == "date":
            parsed = series.str.to_date("%Y-%m-%d", strict=False)
            index = _first(frame, parsed.is_null())
            if index is not None:
                raise context.reject(
                    f"row {index} column 'date': {_show(series[index])} is not a date"
                )
            bad = (parsed < context.start) | (parsed > context.end)
            index = _first(frame, bad)
            if index is not None:
                raise context.reject(
                    f"row {index} column 'date': {series[index]} is outside the requested range"
                )
            continue
        if bad is not None:
            index = _first(frame, bad.fill_null(False))
            if index is not None:
                value = series[index]
                what = f"not a valid {role}"
                if isinstance(value, float) and value < 0:
                    what = "negative"
                elif isinstance(value, float) and math.isfinite(value) and value > 0:
                    limit = MAX_COUNT if role == "count" else MAX_MONEY
                    what = f"out of range (at most {limit:,.0f})" if value > limit else what
                raise context.reject(f"row {index} column '{column}': {_show(value)} is {what}")
    if context.report_type in _NEEDS_KIND:
        kinds = frame["keywordType"].fill_null(frame["matchType"])
        unknown = ~kinds.is_in(list(_KINDS)) | kinds.is_null()
        index = _first(frame, unknown)
        if index is not None:
            raise context.reject(
                f"row {index} column 'keywordType': {_show(kinds[index])} is not a known "
                "keyword or targeting type"
            )


def _warn_unknown_columns(raw: bytes, context: _Context) -> None:
    """Log columns of the first row that were neither asked for nor read (Amazon adding one)."""
    start = raw.find(b"{")
    if start < 0:
        return
    try:
        first, _ = json.JSONDecoder().raw_decode(raw[start:].decode("utf-8", errors="replace"))
    except ValueError:
        return
    if not isinstance(first, dict):
        return
    known = set(_columns(context.report_type)) | _REQUESTED.get(context.report_type, set())
    unknown = sorted(str(k) for k in first if k not in known)
    if unknown:
        log.warning("report_column_unknown", report_type=context.report_type,
                    profile_id=context.profile_id, columns=unknown[:20])  # fmt: skip


def _facts(frame: pl.DataFrame, context: _Context) -> pl.DataFrame:
    metrics = [
        pl.col("impressions").cast(pl.Int64).alias("impressions"),
        pl.col("clicks").cast(pl.Int64).alias("clicks"),
        pl.col("cost").alias("cost"),
        pl.col("purchases7d").cast(pl.Int64).alias("orders"),
        pl.col("sales7d").alias("sales"),
        pl.col("unitsSoldClicks7d").cast(pl.Int64).alias("units"),
    ]
    day = pl.col("date").str.to_date("%Y-%m-%d").alias("date")
    profile = pl.lit(context.profile_id, dtype=pl.String).alias("profile_id")
    if context.report_type in _NEEDS_KIND:
        kind = (
            pl.col("keywordType")
            .fill_null(pl.col("matchType"))
            .replace_strict(_KINDS, return_dtype=pl.String)
        )
    if context.report_type == "spTargeting":
        keys = [kind.alias("entity_kind"), pl.col("keywordId").alias("entity_id"), day]
        return frame.select(*keys, profile, *metrics)
    if context.report_type == "spSearchTerm":
        keys = [kind.alias("source_kind"), pl.col("keywordId").alias("source_id"),
                pl.col("searchTerm").alias("search_term"), day]  # fmt: skip
        ids = [pl.col("campaignId").alias("campaign_id"), pl.col("adGroupId").alias("ad_group_id")]
        return frame.select(*keys, profile, *ids, *metrics)
    keys = [pl.col("campaignId").alias("campaign_id"), day]
    budget = pl.col("campaignBudgetAmount").alias("budget")
    return frame.select(*keys, profile, budget, *metrics)


def parse_report(
    report_type: str,
    data: bytes | Sequence[Mapping[str, Any]],
    *,
    profile_id: str,
    start: date,
    end: date,
) -> pl.DataFrame:
    """Validate one report (decompressed JSON bytes, or rows already decoded) into fact rows.

    The frame has exactly the columns of the report's store table (``TargetFactRecord``,
    ``SearchTermFactRecord`` or ``CampaignFactRecord``), ids as decimal strings, dates as
    ``pl.Date``. Raises :class:`ReportFailed` (with ``report_type``, ``profile_id``, ``start``,
    ``end``) when anything is malformed; then no row of it may be used.
    """
    if report_type not in _SPECS:
        raise ValueError(f"unknown report type {report_type!r}")
    context = _Context(report_type, profile_id, start, end)
    raw = data if isinstance(data, bytes | bytearray) else json.dumps(list(data)).encode()
    frame = _read(bytes(raw), context)
    _warn_unknown_columns(bytes(raw), context)
    _check(frame, context)
    facts = _facts(frame, context)
    duplicated = ~facts.select(pl.struct(_KEYS[report_type]).is_first_distinct()).to_series()
    index = _first(facts, duplicated)
    if index is not None:
        key = ", ".join(str(facts[c][index]) for c in _KEYS[report_type])
        raise context.reject(f"row {index} repeats the key ({key}) of another row")
    return facts
