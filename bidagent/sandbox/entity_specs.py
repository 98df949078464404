"""What each SP v3 entity endpoint looks like: paths, media types, keys, filters, JSON shape.

Owns the table from the digest (§2.2, §2.5) and the rendering of a stored entity row into the
JSON object Amazon returns (ids as strings). It must not read or write storage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SPECS_BY_PATH", "EntitySpec", "render_entity"]


@dataclass(frozen=True)
class EntitySpec:
    """One SP v3 entity type."""

    kind: str  # the store's kind
    path: str
    media_type: str
    key: str  # plural body/response key
    id_field: str  # the id field inside the entity object
    success_id: str  # the id key of a 207 success item
    item_key: str  # the entity key of a 207 success item (with Prefer: return=representation)
    id_filter: str
    entity_type: str  # entityNotFoundError.entityType
    update_fields: frozenset[str]
    create_required: tuple[str, ...]
    filters: Mapping[str, str] = field(default_factory=dict)  # list filter key -> store column


def _spec(
    kind: str,
    path: str,
    media: str,
    key: str,
    id_field: str,
    success_id: str,
    item_key: str,
    id_filter: str,
    entity_type: str,
    update: set[str],
    required: tuple[str, ...],
    filters: dict[str, str],
) -> EntitySpec:
    return EntitySpec(
        kind,
        path,
        f"application/vnd.{media}.v3+json",
        key,
        id_field,
        success_id,
        item_key,
        id_filter,
        entity_type,
        frozenset(update | {id_field}),
        required,
        {id_filter: "entity_id", "stateFilter": "state", **filters},
    )


SPECS: tuple[EntitySpec, ...] = (
    _spec(
        "campaign",
        "/sp/campaigns",
        "spCampaign",
        "campaigns",
        "campaignId",
        "campaignId",
        "campaign",
        "campaignIdFilter",
        "CAMPAIGN",
        {
            "name",
            "state",
            "budget",
            "endDate",
            "startDate",
            "dynamicBidding",
            "portfolioId",
            "tags",
        },
        ("name", "state", "targetingType", "budget"),
        {
            "nameFilter": "name",
            "portfolioIdFilter": "portfolio_id",
            "marketplaceBudgetAllocationFilter": "budget_allocation",
        },
    ),
    _spec(
        "ad_group",
        "/sp/adGroups",
        "spAdGroup",
        "adGroups",
        "adGroupId",
        "adGroupId",
        "adGroup",
        "adGroupIdFilter",
        "AD_GROUP",
        {"name", "state", "defaultBid"},
        ("campaignId", "name", "state", "defaultBid"),
        {
            "campaignIdFilter": "campaign_id",
            "nameFilter": "name",
            "campaignTargetingTypeFilter": "campaign_targeting_type",
        },
    ),
    _spec(
        "keyword",
        "/sp/keywords",
        "spKeyword",
        "keywords",
        "keywordId",
        "keywordId",
        "keyword",
        "keywordIdFilter",
        "KEYWORD",
        {"bid", "state"},
        ("campaignId", "adGroupId", "keywordText", "matchType", "state"),
        {
            "campaignIdFilter": "campaign_id",
            "adGroupIdFilter": "ad_group_id",
            "keywordTextFilter": "text",
            "matchTypeFilter": "match_type",
        },
    ),
    _spec(
        "negative_keyword",
        "/sp/negativeKeywords",
        "spNegativeKeyword",
        "negativeKeywords",
        "keywordId",
        "negativeKeywordId",
        "negativeKeyword",
        "negativeKeywordIdFilter",
        "NEGATIVE_KEYWORD",
        {"state"},
        ("campaignId", "adGroupId", "keywordText", "matchType", "state"),
        {
            "campaignIdFilter": "campaign_id",
            "adGroupIdFilter": "ad_group_id",
            "negativeKeywordTextFilter": "text",
            "matchTypeFilter": "match_type",
        },
    ),
    _spec(
        "campaign_negative_keyword",
        "/sp/campaignNegativeKeywords",
        "spCampaignNegativeKeyword",
        "campaignNegativeKeywords",
        "keywordId",
        "campaignNegativeKeywordId",
        "campaignNegativeKeyword",
        "campaignNegativeKeywordIdFilter",
        "CAMPAIGN_NEGATIVE_KEYWORD",
        {"state"},
        ("campaignId", "keywordText", "matchType", "state"),
        {
            "campaignIdFilter": "campaign_id",
            "campaignNegativeKeywordTextFilter": "text",
            "matchTypeFilter": "match_type",
        },
    ),
    _spec(
        "target",
        "/sp/targets",
        "spTargetingClause",
        "targetingClauses",
        "targetId",
        "targetId",
        "targetingClause",
        "targetIdFilter",
        "TARGETING_CLAUSE",
        {"bid", "state", "expression", "expressionType"},
        ("campaignId", "adGroupId", "expression", "expressionType", "state"),
        {
            "campaignIdFilter": "campaign_id",
            "adGroupIdFilter": "ad_group_id",
            "expressionTypeFilter": "expression_type",
            "asinFilter": "expression",
        },
    ),
    _spec(
        "negative_target",
        "/sp/negativeTargets",
        "spNegativeTargetingClause",
        "negativeTargetingClauses",
        "targetId",
        "targetId",
        "negativeTargetingClause",
        "negativeTargetIdFilter",
        "NEGATIVE_TARGETING_CLAUSE",
        {"state", "expression"},
        ("campaignId", "adGroupId", "expression", "state"),
        {
            "campaignIdFilter": "campaign_id",
            "adGroupIdFilter": "ad_group_id",
            "asinFilter": "expression",
        },
    ),
    _spec(
        "campaign_negative_target",
        "/sp/campaignNegativeTargets",
        "spCampaignNegativeTargetingClause",
        "campaignNegativeTargetingClauses",
        "targetId",
        "campaignNegativeTargetingClauseId",
        "campaignNegativeTargetingClauses",
        "campaignNegativeTargetIdFilter",
        "CAMPAIGN_NEGATIVE_TARGETING_CLAUSE",
        {"state"},
        ("campaignId", "expression", "state"),
        {"campaignIdFilter": "campaign_id", "asinFilter": "expression"},
    ),
    _spec(
        "product_ad",
        "/sp/productAds",
        "spProductAd",
        "productAds",
        "adId",
        "adId",
        "productAd",
        "adIdFilter",
        "PRODUCT_AD",
        {"state"},
        ("campaignId", "adGroupId", "state"),
        {"campaignIdFilter": "campaign_id", "adGroupIdFilter": "ad_group_id"},
    ),
)
SPECS_BY_PATH = {spec.path: spec for spec in SPECS}


# servingStatus by the stored state, from the spec's enums (SponsoredProducts*ServingStatus):
# campaigns and ad groups have their own values, product ads theirs, and every keyword, target
# and negative shares the keyword enum's TARGETING_CLAUSE_* values.
_SERVING_STATUS = {
    "campaign": ("CAMPAIGN_STATUS_ENABLED", "CAMPAIGN_PAUSED", "CAMPAIGN_ARCHIVED"),
    "ad_group": ("AD_GROUP_STATUS_ENABLED", "AD_GROUP_PAUSED", "AD_GROUP_ARCHIVED"),
    "product_ad": ("AD_STATUS_LIVE", "AD_PAUSED", "AD_ARCHIVED"),
}
_CLAUSE_STATUS = (
    "TARGETING_CLAUSE_STATUS_LIVE",
    "TARGETING_CLAUSE_PAUSED",
    "TARGETING_CLAUSE_ARCHIVED",
)
_STATE_INDEX = {"ENABLED": 0, "PAUSED": 1, "ARCHIVED": 2}


def serving_status(kind: str, state: str) -> str:
    """The spec's ``servingStatus`` for an entity of ``kind`` in ``state``."""
    return _SERVING_STATUS.get(kind, _CLAUSE_STATUS)[_STATE_INDEX[state]]


def render_entity(spec: EntitySpec, row: Any, *, extended: bool = False) -> dict[str, Any]:
    """The JSON object Amazon returns for one stored entity (ids as strings)."""
    data = json.loads(row["data"] or "{}")
    body: dict[str, Any] = {spec.id_field: row["entity_id"]}
    kind = spec.kind
    if kind != "campaign":
        body["campaignId"] = row["campaign_id"]
    if row["ad_group_id"] is not None and kind not in ("ad_group", "campaign"):
        body["adGroupId"] = row["ad_group_id"]
    if kind == "campaign":
        body.update(
            name=row["name"],
            targetingType=data.get("targetingType", "MANUAL"),
            startDate=data.get("startDate"),
            budget={
                "budget": row["budget"],
                "budgetType": "DAILY",
                "effectiveBudget": row["budget"],
            },
            dynamicBidding=data.get("dynamicBidding")
            or {"strategy": "LEGACY_FOR_SALES", "placementBidding": []},
        )
        if data.get("endDate"):
            body["endDate"] = data["endDate"]
    elif kind == "ad_group":
        body.update(name=row["name"], defaultBid=row["bid"])
    elif kind in ("keyword", "negative_keyword", "campaign_negative_keyword"):
        body.update(keywordText=row["text"], matchType=row["match_type"])
    elif kind == "product_ad":
        body.update(sku=data.get("sku"), asin=data.get("asin"))
    else:
        expression = json.loads(row["expression"] or "[]")
        body.update(expression=expression, resolvedExpression=expression)
        if kind == "target":
            body["expressionType"] = row["expression_type"]
    if kind in ("keyword", "target") and row["bid"] is not None:
        body["bid"] = row["bid"]
    body["state"] = row["state"]
    if extended:
        body["extendedData"] = {
            "creationDateTime": data.get("created", "2025-01-01T00:00:00Z"),
            "lastUpdateDateTime": data.get("updated", data.get("created", "2025-01-01T00:00:00Z")),
            "servingStatus": serving_status(kind, row["state"]),
        }
    return body
