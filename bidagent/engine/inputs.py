"""What the engine reads: entity, fact and history frames, and the settings of one profile.

Frames (polars; column -> dtype; build empty ones with :meth:`EngineInputs.empty` or ``frame(SCHEMA)``):

* ``targets`` (TARGETS_SCHEMA): one row per keyword or product target. ``entity_kind`` "keyword" |
  "product_target"; ``bid`` null means it inherits the ad group's ``default_bid``; ``budget`` is the
  campaign's daily budget; ``keyword_text`` null for product targets, ``targeting`` null for keywords.
  ``suggested_bid``/``_low``/``_high``: Amazon's suggested bid range as last fetched, null when none.
* ``ad_groups`` (AD_GROUPS_SCHEMA): metrics of an ad group are the sums of its targets' facts;
  ``targeting_type`` and ``campaign_state`` are its campaign's.
* ``campaigns`` (CAMPAIGNS_SCHEMA): ``campaign_id`` equals ``entity_id``; ``targeting_type`` manual|auto.
* ``search_terms`` (SEARCH_TERMS_SCHEMA): ``entity_id`` is an opaque key; ``source_kind``/``source_id``
  name the keyword or target the term matched; ``match_type`` is the source's; ``targeting_type`` the
  campaign's.
* ``negatives`` (NEGATIVES_SCHEMA): existing negative keywords (``keyword_text``, ``match_type``) and
  negative product targets (``asin``, upper case, of their ``ASIN_SAME_AS`` expression); ``kind`` is
  ``negative_keyword`` | ``campaign_negative_keyword`` | ``negative_target`` |
  ``campaign_negative_target``; ``ad_group_id`` null = campaign level.
* ``facts`` (FACTS_SCHEMA): daily totals per entity (targets, search terms, campaigns). A day absent
  for an entity means no activity; a day absent for the whole source means missing data.
* ``history`` (HISTORY_SCHEMA): applied changes and external edits; ``status`` "applied"|"rejected".
* ``base_bids`` (BASE_BIDS_SCHEMA): stored base bids of dayparting rules.
* ``report_dates`` (REPORT_DATES_SCHEMA, optional): the dates each report source covered
  (``source`` "targets"|"search_terms"|"campaigns"). When absent, the dates present in ``facts`` are used.

This module must not compute anything: it only defines the shapes of the inputs and settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import polars as pl

from bidagent.engine.config import GuardrailConfig, Mode
from bidagent.marketplaces import Marketplace

__all__ = [
    "AD_GROUPS_SCHEMA",
    "BASE_BIDS_SCHEMA",
    "CAMPAIGNS_SCHEMA",
    "FACTS_SCHEMA",
    "HISTORY_SCHEMA",
    "NEGATIVES_SCHEMA",
    "REPORT_DATES_SCHEMA",
    "SEARCH_TERMS_SCHEMA",
    "TARGETS_SCHEMA",
    "EngineInputs",
    "EngineSettings",
    "frame",
]

Schema = dict[str, Any]  # column -> polars dtype
S, F, N = pl.Utf8, pl.Float64, pl.Int64
TARGETS_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "profile_id": S, "campaign_id": S, "campaign_name": S,
    "ad_group_id": S, "ad_group_name": S, "state": S, "bid": F, "default_bid": F, "match_type": S,
    "keyword_text": S, "targeting": S, "portfolio": S, "budget": F,
    "suggested_bid": F, "suggested_bid_low": F, "suggested_bid_high": F,
}  # fmt: skip
AD_GROUPS_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "profile_id": S, "campaign_id": S, "campaign_name": S,
    "ad_group_name": S, "state": S, "default_bid": F, "portfolio": S, "budget": F,
    "targeting_type": S, "campaign_state": S,
}  # fmt: skip
CAMPAIGNS_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "profile_id": S, "campaign_id": S, "campaign_name": S,
    "state": S, "budget": F, "portfolio": S, "targeting_type": S,
}  # fmt: skip
SEARCH_TERMS_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "profile_id": S, "campaign_id": S, "campaign_name": S,
    "ad_group_id": S, "ad_group_name": S, "search_term": S, "source_kind": S, "source_id": S,
    "keyword_text": S, "match_type": S, "targeting_type": S,
}  # fmt: skip
NEGATIVES_SCHEMA: Schema = {
    "kind": S, "campaign_id": S, "ad_group_id": S, "keyword_text": S, "match_type": S, "asin": S,
}  # fmt: skip
FACTS_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "date": pl.Date, "impressions": N, "clicks": N, "cost": F,
    "orders": N, "sales": F, "units": N,
}  # fmt: skip
HISTORY_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "field": S, "changed_at": pl.Datetime("us", "UTC"),
    "actor": S, "rule_name": S, "status": S,
}  # fmt: skip
BASE_BIDS_SCHEMA: Schema = {
    "entity_kind": S, "entity_id": S, "rule_name": S, "base_bid": F,
}  # fmt: skip
REPORT_DATES_SCHEMA: Schema = {"source": S, "date": pl.Date}

_SCHEMAS = {
    "targets": TARGETS_SCHEMA,
    "ad_groups": AD_GROUPS_SCHEMA,
    "campaigns": CAMPAIGNS_SCHEMA,
    "search_terms": SEARCH_TERMS_SCHEMA,
    "negatives": NEGATIVES_SCHEMA,
    "facts": FACTS_SCHEMA,
    "history": HISTORY_SCHEMA,
    "base_bids": BASE_BIDS_SCHEMA,
}


def frame(
    schema: dict[str, pl.DataType], rows: list[dict[str, object]] | None = None
) -> pl.DataFrame:
    """A frame with exactly ``schema``'s columns and dtypes (missing columns become null)."""
    rows = rows or []
    data = {name: [row.get(name) for row in rows] for name in schema}
    return pl.DataFrame(data, schema=schema)


@dataclass
class EngineInputs:
    """Everything the engine reads about one profile, as frames (see the module docstring)."""

    targets: pl.DataFrame = field(default_factory=lambda: frame(TARGETS_SCHEMA))
    ad_groups: pl.DataFrame = field(default_factory=lambda: frame(AD_GROUPS_SCHEMA))
    campaigns: pl.DataFrame = field(default_factory=lambda: frame(CAMPAIGNS_SCHEMA))
    search_terms: pl.DataFrame = field(default_factory=lambda: frame(SEARCH_TERMS_SCHEMA))
    negatives: pl.DataFrame = field(default_factory=lambda: frame(NEGATIVES_SCHEMA))
    facts: pl.DataFrame = field(default_factory=lambda: frame(FACTS_SCHEMA))
    history: pl.DataFrame = field(default_factory=lambda: frame(HISTORY_SCHEMA))
    base_bids: pl.DataFrame = field(default_factory=lambda: frame(BASE_BIDS_SCHEMA))
    report_dates: pl.DataFrame | None = None

    @classmethod
    def empty(cls) -> EngineInputs:
        """Inputs with every frame empty but correctly typed."""
        return cls()

    def conformed(self) -> EngineInputs:
        """A copy whose frames have exactly the documented columns and dtypes (extra columns dropped)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            schema = _SCHEMAS.get(f.name, REPORT_DATES_SCHEMA)
            if value is None:
                out[f.name] = None
                continue
            missing = [
                pl.lit(None, dtype=t).alias(n) for n, t in schema.items() if n not in value.columns
            ]
            value = value.with_columns(missing) if missing else value
            out[f.name] = value.select([pl.col(n).cast(t) for n, t in schema.items()])
        return EngineInputs(**out)


@dataclass(frozen=True)
class EngineSettings:
    """The settings one evaluation needs, resolved for one profile (by the agent, from its config)."""

    profile_id: str
    timezone: str
    marketplace: Marketplace
    mode: Mode = "dry_run"
    target_acos: float = 0.30
    campaign_target_acos: dict[str, float] = field(default_factory=dict)
    guardrails: GuardrailConfig = field(default_factory=GuardrailConfig)
