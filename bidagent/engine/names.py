"""The vocabulary of rule expressions: which names exist, their types, and which entity has them.

Owns resolving a name as written (``acos``, ``clicks_30d``, ``prev_cost_7d``, ``bid``) into what the
engine must compute for it. It must not build frames: :mod:`bidagent.engine.frames` does that.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["ATTRIBUTES", "COUNT_METRICS", "RATIO_METRICS", "NameSpec", "resolve_name", "suggest"]

Kind = Literal["num", "text", "bool"]

COUNT_METRICS = ("impressions", "clicks", "cost", "orders", "sales", "units")
# ratio -> (numerator, denominator); a zero denominator gives null.
RATIO_METRICS: dict[str, tuple[str, str]] = {
    "ctr": ("clicks", "impressions"),
    "cpc": ("cost", "clicks"),
    "cvr": ("orders", "clicks"),
    "acos": ("cost", "sales"),
    "roas": ("sales", "cost"),
    "rpc": ("sales", "clicks"),
    "cpa": ("cost", "orders"),
}
# Campaign only: average daily cost over the window divided by today's daily budget.
DERIVED_METRICS = ("budget_utilization",)

_TARGET_ATTRS = (
    "bid",
    "default_bid",
    "state",
    "match_type",
    "keyword_text",
    "targeting",
    "campaign_name",
    "campaign_id",
    "ad_group_name",
    "ad_group_id",
    "portfolio",
    "budget",
    "days_since_change",
    # Amazon's suggested bid range (median, low, high); null until the agent has fetched one.
    "suggested_bid",
    "suggested_bid_low",
    "suggested_bid_high",
)
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "keyword": _TARGET_ATTRS,
    "product_target": _TARGET_ATTRS,
    "target": _TARGET_ATTRS,
    "ad_group": (
        "default_bid",
        "state",
        "campaign_name",
        "campaign_id",
        "ad_group_name",
        "ad_group_id",
        "portfolio",
        "budget",
        "targeting_type",
        "days_since_change",
    ),
    "campaign": (
        "state",
        "campaign_name",
        "campaign_id",
        "portfolio",
        "budget",
        "targeting_type",
        "days_since_change",
    ),
    "search_term": (
        "search_term",
        # "asin" when the term is an ASIN (bidagent.vocabulary.is_asin), else "keyword"
        "term_kind",
        # the term's campaign's: "manual" or "auto"
        "targeting_type",
        "keyword_text",
        "match_type",
        "campaign_name",
        "campaign_id",
        "ad_group_name",
        "ad_group_id",
    ),
}
_NUMERIC_ATTRS = {
    "bid",
    "default_bid",
    "budget",
    "days_since_change",
    "suggested_bid",
    "suggested_bid_low",
    "suggested_bid_high",
}
SETTINGS = ("target_acos",)

_METRIC_RE = re.compile(r"^(prev_)?([a-z_]+?)(?:_([0-9]{1,3})d)?$")


@dataclass(frozen=True)
class NameSpec:
    """What one name means for one rule."""

    name: str
    source: Literal["metric", "attribute", "setting", "base"]
    kind: Kind
    metric: str | None = None  # base metric, e.g. "acos"
    window_days: int | None = None
    prev: bool = False


def resolve_name(name: str, entity: str, window_days: int, *, scheduled: bool = False) -> NameSpec:
    """Resolve ``name`` for a rule on ``entity``; raise ``KeyError`` with a message if unknown."""
    if name in ATTRIBUTES[entity]:
        kind: Kind = "num" if name in _NUMERIC_ATTRS else "text"
        return NameSpec(name, "attribute", kind)
    if name in SETTINGS:
        return NameSpec(name, "setting", "num")
    if name == "base":
        if not scheduled:
            raise KeyError("'base' is only known in rules with a schedule (dayparting)")
        return NameSpec(name, "base", "num")
    match = _METRIC_RE.match(name)
    if match:
        prev, metric, days = match.group(1), match.group(2), match.group(3)
        if metric in COUNT_METRICS or metric in RATIO_METRICS or metric in DERIVED_METRICS:
            if metric in DERIVED_METRICS and entity != "campaign":
                raise KeyError(f"'{name}' is only known for campaign rules")
            n_days = int(days) if days else window_days
            if not 1 <= n_days <= 365:
                raise KeyError(f"'{name}': a window is 1 to 365 days")
            return NameSpec(name, "metric", "num", metric, n_days, bool(prev))
    for other, attrs in ATTRIBUTES.items():
        if name in attrs:
            raise KeyError(f"'{name}' is not known for {entity} rules (it is a {other} attribute)")
    raise KeyError(f"unknown name '{name}'")


def known_names(entity: str, *, scheduled: bool = False) -> list[str]:
    """Every bare name a rule on ``entity`` may use (suffixed forms are derived from these)."""
    names = [*COUNT_METRICS, *RATIO_METRICS, *ATTRIBUTES[entity], *SETTINGS]
    if entity == "campaign":
        names.extend(DERIVED_METRICS)
    if scheduled:
        names.append("base")
    return names


def suggest(name: str, entity: str, *, scheduled: bool = False) -> str | None:
    """The closest known name to a misspelt one, keeping its ``prev_`` prefix and window suffix."""
    match = _METRIC_RE.match(name)
    prefix, stem, suffix = "", name, ""
    if match and match.group(3):
        prefix = match.group(1) or ""
        stem = match.group(2)
        suffix = f"_{match.group(3)}d"
    elif name.startswith("prev_"):
        prefix, stem = "prev_", name[5:]
    close = difflib.get_close_matches(
        stem, known_names(entity, scheduled=scheduled), n=1, cutoff=0.6
    )
    return f"{prefix}{close[0]}{suffix}" if close else None
