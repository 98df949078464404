"""Build engine inputs from the compact rows of a rule test (or any fixture).

Owns the defaults that keep test files short: names and budgets looked up from parent entities, entity
kinds inferred from ids (a negative with ``asin`` is a negative product target, one without
``ad_group_id`` is at campaign level), ad groups and search terms of a campaign not given are in a
manual-targeting one, fact totals spread over days, history ``ago: 2d``, and report coverage (every
day up to yesterday unless ``missing_days`` / ``reported_through`` say otherwise). It must not judge
results.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bidagent.business_dates import business_date
from bidagent.durations import parse_duration
from bidagent.engine.config import GuardrailConfig
from bidagent.engine.inputs import (
    AD_GROUPS_SCHEMA,
    BASE_BIDS_SCHEMA,
    CAMPAIGNS_SCHEMA,
    FACTS_SCHEMA,
    HISTORY_SCHEMA,
    NEGATIVES_SCHEMA,
    REPORT_DATES_SCHEMA,
    SEARCH_TERMS_SCHEMA,
    TARGETS_SCHEMA,
    EngineInputs,
    EngineSettings,
    frame,
)
from bidagent.marketplaces import marketplace_for
from bidagent.vocabulary import REPORT_SOURCES

__all__ = ["PROFILE_ID", "build_inputs", "build_settings"]

PROFILE_ID = "test-profile"
COVERAGE_DAYS = 120
_COUNTS = ("impressions", "clicks", "orders", "units")
_MONEY = ("cost", "sales")


def build_settings(values: dict[str, Any]) -> EngineSettings:
    """Engine settings from a test's ``settings`` mapping (mode defaults to ``apply``)."""
    known = {
        "mode",
        "target_acos",
        "campaign_target_acos",
        "country_code",
        "timezone",
        "guardrails",
        "profile_id",
    }
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown settings key(s): {', '.join(sorted(unknown))}")
    return EngineSettings(
        profile_id=values.get("profile_id", PROFILE_ID),
        timezone=values.get("timezone", "UTC"),
        marketplace=marketplace_for(values.get("country_code", "US")),
        mode=values.get("mode", "apply"),
        target_acos=float(values.get("target_acos", 0.30)),
        campaign_target_acos={
            str(k): float(v) for k, v in values.get("campaign_target_acos", {}).items()
        },
        guardrails=GuardrailConfig.from_mapping(values.get("guardrails", {})),
    )


def _str_ids(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in row.items()}


def _entities(case: Any, profile: str) -> dict[str, list[dict[str, Any]]]:
    ents = case.entities
    campaigns = {}
    for raw in ents.campaigns:
        row = _str_ids(raw)
        cid = row["entity_id"]
        campaigns[cid] = {"entity_kind": "campaign", "profile_id": profile, "campaign_id": cid,
                          "campaign_name": cid, "state": "enabled", "budget": 100.0,
                          "targeting_type": "manual", **row}  # fmt: skip
    groups = {}
    for raw in ents.ad_groups:
        row = _str_ids(raw)
        camp = campaigns.get(row.get("campaign_id", ""), {})
        groups[row["entity_id"]] = {"entity_kind": "ad_group", "profile_id": profile,
                                    "campaign_name": camp.get("campaign_name"), "ad_group_name": row["entity_id"],
                                    "state": "enabled", "default_bid": 1.0, "portfolio": camp.get("portfolio"),
                                    "budget": camp.get("budget"), "campaign_state": camp.get("state", "enabled"),
                                    "targeting_type": camp.get("targeting_type", "manual"), **row}  # fmt: skip
    targets = []
    for raw in ents.targets:
        row = _str_ids(raw)
        group = groups.get(row.get("ad_group_id", ""), {})
        campaign_id = row.get("campaign_id", group.get("campaign_id"))
        camp = campaigns.get(campaign_id or "", {})
        kind = row.get("entity_kind", "keyword" if row.get("keyword_text") else "product_target")
        targets.append({"entity_kind": kind, "profile_id": profile, "campaign_id": campaign_id,
                        "campaign_name": camp.get("campaign_name"), "ad_group_name": group.get("ad_group_name"),
                        "state": "enabled", "default_bid": group.get("default_bid", 1.0),
                        "match_type": "exact" if kind == "keyword" else "targeting_expression",
                        "portfolio": camp.get("portfolio"), "budget": camp.get("budget"), **row})  # fmt: skip
    by_target = {t["entity_id"]: t for t in targets}
    terms = []
    for raw in ents.search_terms:
        row = _str_ids(raw)
        source = by_target.get(row.get("source_id", ""), {})
        group = groups.get(row.get("ad_group_id", source.get("ad_group_id", "")), {})
        campaign_id = row.get("campaign_id", source.get("campaign_id", group.get("campaign_id")))
        terms.append({"entity_kind": "search_term", "profile_id": profile, "campaign_id": campaign_id,
                      "campaign_name": campaigns.get(campaign_id or "", {}).get("campaign_name"),
                      "targeting_type": campaigns.get(campaign_id or "", {}).get("targeting_type", "manual"),
                      "ad_group_id": source.get("ad_group_id", group.get("entity_id")),
                      "ad_group_name": group.get("ad_group_name", source.get("ad_group_name")),
                      "source_kind": source.get("entity_kind", "keyword"), "keyword_text": source.get("keyword_text"),
                      "match_type": source.get("match_type"), **row})  # fmt: skip
    negatives = []
    for raw in ents.negatives:
        row = _str_ids(raw)
        level = "" if row.get("ad_group_id") else "campaign_"
        kind = f"{level}negative_target" if row.get("asin") else f"{level}negative_keyword"
        negatives.append({"kind": kind, **row})
    return {"campaigns": list(campaigns.values()), "ad_groups": list(groups.values()),
            "targets": targets, "search_terms": terms, "negatives": negatives}  # fmt: skip


def _spread(row: dict[str, Any], kind: str, end: date) -> list[dict[str, Any]]:
    """A fact row for one ``date``, or totals spread as evenly as possible over ``days`` days."""
    base = {"entity_kind": row.get("entity_kind", kind), "entity_id": str(row["entity_id"])}
    if "date" in row:
        return [{**base, **{k: v for k, v in row.items() if k not in base}}]
    days = int(row["days"])
    last = row.get("ending", end)
    out = []
    for i in range(days):
        day = last - timedelta(days=days - 1 - i)
        fact: dict[str, Any] = {**base, "date": day}
        for name in _COUNTS:
            q, r = divmod(int(row.get(name, 0)), days)
            fact[name] = q + (1 if i >= days - r else 0)
        for name in _MONEY:
            q, r = divmod(round(float(row.get(name, 0)) * 100), days)
            fact[name] = (q + (1 if i >= days - r else 0)) / 100
        out.append(fact)
    return out


def build_inputs(case: Any, settings: EngineSettings, now: datetime) -> EngineInputs:
    """Engine inputs for a test case at ``now``."""
    profile = settings.profile_id
    ents = _entities(case, profile)
    kinds = {
        r["entity_id"]: r["entity_kind"]
        for part, rows in ents.items()
        if part != "negatives"
        for r in rows
    }
    today = business_date(now, settings.timezone)
    settle = settings.guardrails.settle.days
    newest_settled = today - timedelta(days=1 + settle)
    facts = [
        f
        for raw in case.facts
        for f in _spread(raw, kinds.get(str(raw["entity_id"]), "keyword"), newest_settled)
    ]
    history = []
    for raw in case.history:
        row = _str_ids(raw)
        when = now - parse_duration(row.pop("ago")) if "ago" in row else row.get("changed_at")
        history.append({"entity_kind": kinds.get(row["entity_id"], "keyword"), "field": "bid",
                        "actor": "rule" if row.get("rule_name") else "external", "status": "applied",
                        **row, "changed_at": when})  # fmt: skip
    bases = [
        {"entity_kind": kinds.get(str(r["entity_id"]), "keyword"), **_str_ids(r)}
        for r in case.base_bids
    ]
    last = case.reported_through or today - timedelta(days=1)
    missing = set(case.missing_days)
    days = [last - timedelta(days=i) for i in range(COVERAGE_DAYS)]
    coverage = [{"source": s, "date": d} for s in REPORT_SOURCES for d in days if d not in missing]
    return EngineInputs(
        targets=frame(TARGETS_SCHEMA, ents["targets"]),
        ad_groups=frame(AD_GROUPS_SCHEMA, ents["ad_groups"]),
        campaigns=frame(CAMPAIGNS_SCHEMA, ents["campaigns"]),
        search_terms=frame(SEARCH_TERMS_SCHEMA, ents["search_terms"]),
        negatives=frame(NEGATIVES_SCHEMA, ents["negatives"]),
        facts=frame(FACTS_SCHEMA, facts),
        history=frame(HISTORY_SCHEMA, history),
        base_bids=frame(BASE_BIDS_SCHEMA, bases),
        report_dates=frame(REPORT_DATES_SCHEMA, coverage),
    )
