"""Where Amazon takes a keyword, a product target or a negative target, and which expressions.

Owns the create rules that depend on the campaign's targeting type and on what the ad group
already holds, as Amazon applies them (SP v3 ``targetingClauseSetupError`` reasons):

- an AUTO campaign's ad groups take no keyword and no manual product target
  (``TARGETING_TYPE_NOT_ALLOWED_FOR_AUTO_TARGETING_CAMPAIGN``);
- a manual ad group holds keywords or product targets, never both: the first one created decides,
  archived ones included (``TYPE_CONFLICT_IN_AD_GROUP``);
- campaign negative targets exist in AUTO campaigns only (the spec's field description; it names
  no error for it, so the refusal is the ``entityStateError`` ``PARENT_ENTITY_FORBIDS_CREATION``
  the spec has for a parent that forbids a creation);
- an expression has predicates of the kind's allowed types, an ``ASIN_SAME_AS`` value is an ASIN
  (``TARGETING_EXPRESSION_INVALID_VALUE``), and one parent holds one enabled or paused clause per
  expression (``duplicateValueError``, ASINs compared case-insensitively).

Split from :mod:`bidagent.sandbox.sp_create_checks` (fields, parents, keyword text, bids). It must
not write storage.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bidagent.sandbox.sp_batch import ItemError
from bidagent.vocabulary import is_asin

__all__ = ["check_expression", "check_targeting"]

_MANUAL_TYPES = {
    "ASIN_SAME_AS",
    "ASIN_EXPANDED_FROM",
    "ASIN_CATEGORY_SAME_AS",
    "ASIN_BRAND_SAME_AS",
    "ASIN_PRICE_LESS_THAN",
    "ASIN_PRICE_BETWEEN",
    "ASIN_PRICE_GREATER_THAN",
    "ASIN_REVIEW_RATING_LESS_THAN",
    "ASIN_REVIEW_RATING_BETWEEN",
    "ASIN_REVIEW_RATING_GREATER_THAN",
    "ASIN_IS_PRIME_SHIPPING_ELIGIBLE",
    "ASIN_AGE_RANGE_SAME_AS",
    "ASIN_GENRE_SAME_AS",
    "KEYWORD_GROUP_SAME_AS",
}  # SponsoredProductsCreateTargetingExpressionPredicateType
_NEGATIVE_TYPES = {"ASIN_SAME_AS", "ASIN_BRAND_SAME_AS"}
# The kinds a manual ad group holds one of (the store's kind names).
_POSITIVE = {"keyword": "target", "target": "keyword"}


def _is_auto(campaign: Any) -> bool:
    return bool(json.loads(campaign["data"] or "{}").get("targetingType") == "AUTO")


def check_targeting(
    conn: sqlite3.Connection, kind: str, campaign: Any, ad_group_id: str | None, prefix: str
) -> None:
    """Refuse a keyword or product target where Amazon refuses it, and a campaign negative
    target outside an AUTO campaign (``campaign`` is its stored row)."""
    auto = _is_auto(campaign)
    if kind in _POSITIVE and auto:
        what = "keywords" if kind == "keyword" else "manual targeting clauses"
        raise ItemError(
            "targetingClauseSetupError",
            "TARGETING_TYPE_NOT_ALLOWED_FOR_AUTO_TARGETING_CAMPAIGN",
            f"An auto-targeting campaign's ad groups cannot have {what}",
            cause={"location": f"{prefix}.adGroupId", "trigger": str(ad_group_id)},
        )
    if kind == "campaign_negative_target" and not auto:
        raise ItemError(
            "entityStateError",
            "PARENT_ENTITY_FORBIDS_CREATION",
            "Campaign negative targeting clauses are only available for AUTO campaigns",
            entityType="CAMPAIGN",
            cause={"location": f"{prefix}.campaignId", "trigger": campaign["entity_id"]},
        )
    if kind in _POSITIVE:
        other = conn.execute(
            "SELECT 1 FROM entities WHERE profile_id = ? AND kind = ? AND ad_group_id = ? LIMIT 1",
            (campaign["profile_id"], _POSITIVE[kind], ad_group_id),
        ).fetchone()
        if other:
            held = "product targets" if kind == "keyword" else "keywords"
            raise ItemError(
                "targetingClauseSetupError",
                "TYPE_CONFLICT_IN_AD_GROUP",
                f"The ad group already has {held}; an ad group holds keywords or product "
                "targets, not both",
                cause={"location": f"{prefix}.adGroupId", "trigger": str(ad_group_id)},
            )


def _canonical(expression: list[Any]) -> list[tuple[str, str]]:
    return sorted(
        (str(p.get("type")), str(p.get("value", "")).lower())
        for p in expression
        if isinstance(p, dict)
    )


def check_expression(
    conn: sqlite3.Connection, kind: str, row: dict[str, Any], expression: Any, prefix: str
) -> list[dict[str, Any]]:
    """A create item's expression for a product target (``target``) or negative target, checked;
    ``row`` is the entity row being built (its profile and parent are set)."""
    where = f"{prefix}.expression"
    allowed = _MANUAL_TYPES if kind == "target" else _NEGATIVE_TYPES
    if (
        not isinstance(expression, list)
        or not expression
        or any(not isinstance(e, dict) or e.get("type") not in allowed for e in expression)
    ):
        raise ItemError(
            "malformedValueError",
            "PATTERN_NOT_MATCHED",
            "Invalid expression",
            cause={"location": where},
        )
    for index, predicate in enumerate(expression):
        value = predicate.get("value")
        if predicate["type"] == "ASIN_SAME_AS" and not (isinstance(value, str) and is_asin(value)):
            raise ItemError(
                "targetingClauseSetupError",
                "TARGETING_EXPRESSION_INVALID_VALUE",
                f"{value!r} is not an ASIN",
                cause={"location": f"{where}[{index}].value", "trigger": str(value)},
            )
    parent_col, parent = (
        ("campaign_id", row["campaign_id"])
        if row["ad_group_id"] is None
        else ("ad_group_id", row["ad_group_id"])
    )
    wanted = _canonical(expression)
    siblings = conn.execute(
        f"SELECT expression FROM entities WHERE profile_id = ? AND kind = ? AND {parent_col} = ? "
        "AND state != 'ARCHIVED'",
        (row["profile_id"], kind, parent),
    ).fetchall()
    if any(_canonical(json.loads(s[0] or "[]")) == wanted for s in siblings):
        raise ItemError(
            "duplicateValueError",
            "DUPLICATE_VALUE",
            "Duplicate targeting clause",
            cause={"location": where, "trigger": json.dumps(expression)},
        )
    return expression
