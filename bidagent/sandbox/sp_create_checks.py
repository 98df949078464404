"""Validate one SP v3 create item (``POST /sp/<entity>``) and build the entity row it would add.

Owns create validation as Amazon applies it, per entity type: required fields; parents that exist,
are not archived and belong together; campaign targeting type, budget range and unique name;
match types and keyword-text rules (blank, whitespace, length and word limits, stricter for
negatives); duplicate keywords under one parent; and bid limits. Where a keyword or target may go
and which expressions it may have is :mod:`bidagent.sandbox.sp_targeting_checks`. Split from
:mod:`bidagent.sandbox.sp_create`, which assigns ids, seeds the simulation and stores the rows.
It must not write storage or allocate ids.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from bidagent.marketplaces import marketplace_for
from bidagent.sandbox.entity_specs import EntitySpec
from bidagent.sandbox.sp_batch import ItemError, fetch
from bidagent.sandbox.sp_checks import campaign_budget, check_bid, check_state
from bidagent.sandbox.sp_targeting_checks import check_expression, check_targeting
from bidagent.sandbox.store import ENTITY_COLUMNS

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["check_create_item"]

_MATCH = {
    "keyword": ("EXACT", "PHRASE", "BROAD"),
    "negative_keyword": ("NEGATIVE_EXACT", "NEGATIVE_PHRASE"),
    "campaign_negative_keyword": ("NEGATIVE_EXACT", "NEGATIVE_PHRASE"),
}


def _text_ok(text: Any, negative: bool, match: str, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ItemError(
            "malformedValueError", "BLANK", "keywordText is blank", cause={"location": where}
        )
    if text != text.strip():
        raise ItemError(
            "malformedValueError",
            "LEADING_OR_TRAILING_WHITESPACE",
            "keywordText has leading or trailing whitespace",
            cause={"location": where, "trigger": text},
        )
    words = 4 if negative and match != "NEGATIVE_EXACT" else 10
    if len(text) > 80 or len(text.split()) > words:
        raise ItemError(
            "malformedValueError",
            "TOO_LONG",
            f"keywordText allows at most 80 characters and {words} words",
            cause={"location": where, "trigger": text},
        )
    return text


def _parent(conn: sqlite3.Connection, profile: str, kind: str, entity_id: Any, where: str) -> Any:
    row = fetch(conn, profile, kind, str(entity_id))
    label = "CAMPAIGN" if kind == "campaign" else "AD_GROUP"
    if row is None:
        raise ItemError(
            "entityNotFoundError",
            "ENTITY_NOT_FOUND",
            f"Could not find {label.lower()} with id {entity_id}",
            entityId=str(entity_id),
            entityType=label,
            cause={"location": where, "trigger": str(entity_id)},
        )
    if row["state"] == "ARCHIVED":
        raise ItemError(
            "entityStateError",
            "PARENT_STATUS_FORBIDS_UPDATES_AND_CREATES",
            f"The parent {label.lower()} is archived",
            entityType=label,
            cause={"location": where, "trigger": str(entity_id)},
        )
    return row


def check_create_item(
    sandbox: Sandbox,
    conn: sqlite3.Connection,
    spec: EntitySpec,
    profile: str,
    item: dict[str, Any],
    prefix: str,
) -> dict[str, Any]:
    """Validate one create item and return the entity row to insert."""
    for name in spec.create_required:
        if name not in item:
            raise ItemError(
                "missingValueError",
                "MISSING_VALUE",
                f"{name} is required",
                cause={"location": f"{prefix}.{name}"},
            )
    market = marketplace_for(
        next(p["country"] for p in sandbox.profile_rows() if p["profile_id"] == profile)
    )
    row = dict.fromkeys(ENTITY_COLUMNS)
    row.update(
        profile_id=profile,
        kind=spec.kind,
        data="{}",
        state=check_state(item["state"], f"{prefix}.state"),
    )
    if spec.kind == "campaign":
        targeting = item.get("targetingType")
        if targeting not in ("AUTO", "MANUAL"):
            raise ItemError(
                "rangeError",
                "INVALID_ENUM_VALUE",
                "targetingType must be AUTO or MANUAL",
                cause={"location": f"{prefix}.targetingType"},
            )
        budget = item["budget"]
        amount = budget.get("budget") if isinstance(budget, dict) else None
        if not isinstance(amount, int | float) or not (
            market.min_budget <= amount <= market.max_budget
        ):
            raise ItemError(
                "budgetError",
                "BUDGET_OUT_OF_MARKET_PLACE_RANGE",
                "Budget out of range",
                lowerLimit=str(market.min_budget),
                upperLimit=str(market.max_budget),
                cause={"location": f"{prefix}.budget.budget"},
            )
        clash = conn.execute(
            "SELECT 1 FROM entities WHERE profile_id = ? AND kind = 'campaign' AND name = ?",
            (profile, item["name"]),
        ).fetchone()
        if clash:
            raise ItemError(
                "duplicateValueError",
                "NAME_NOT_UNIQUE",
                "Campaign name not unique",
                cause={"location": f"{prefix}.name", "trigger": item["name"]},
            )
        row.update(
            name=item["name"],
            budget=float(amount),
            data=json.dumps(
                {
                    "targetingType": targeting,
                    "startDate": item.get("startDate", sandbox.now.date().isoformat()),
                }
            ),
        )
        return row
    campaign = _parent(conn, profile, "campaign", item["campaignId"], f"{prefix}.campaignId")
    row["campaign_id"] = campaign["entity_id"]
    if "adGroupId" in spec.create_required:
        group = _parent(conn, profile, "ad_group", item["adGroupId"], f"{prefix}.adGroupId")
        if group["campaign_id"] != campaign["entity_id"]:
            raise ItemError(
                "parentEntityError",
                "PARENT_ENTITY_NOT_FOUND",
                "The ad group does not belong to the campaign",
                cause={"location": f"{prefix}.adGroupId"},
            )
        row["ad_group_id"] = group["entity_id"]
    check_targeting(conn, spec.kind, campaign, row["ad_group_id"], prefix)
    budget = campaign_budget(conn, profile, campaign["entity_id"])
    if spec.kind == "ad_group":
        row.update(
            name=item["name"],
            bid=check_bid(item["defaultBid"], market, f"{prefix}.defaultBid", budget),
        )
    elif spec.kind in _MATCH:
        match = item["matchType"]
        if match not in _MATCH[spec.kind]:
            raise ItemError(
                "rangeError",
                "INVALID_ENUM_VALUE",
                f"Invalid matchType {match!r}",
                allowed=list(_MATCH[spec.kind]),
                cause={"location": f"{prefix}.matchType"},
            )
        text = _text_ok(item["keywordText"], spec.kind != "keyword", match, f"{prefix}.keywordText")
        parent_col, parent = (
            ("ad_group_id", row["ad_group_id"])
            if row["ad_group_id"]
            else ("campaign_id", row["campaign_id"])
        )
        dup = conn.execute(
            f"SELECT 1 FROM entities WHERE profile_id = ? AND kind = ? AND {parent_col} = ? "
            "AND lower(text) = lower(?) AND match_type = ? AND state != 'ARCHIVED'",
            (profile, spec.kind, parent, text, match),
        ).fetchone()
        if dup:
            raise ItemError(
                "duplicateValueError",
                "DUPLICATE_VALUE",
                "Duplicate keyword",
                cause={"location": f"{prefix}.keywordText", "trigger": text},
            )
        row.update(text=text, match_type=match)
    elif spec.kind == "product_ad":
        row["data"] = json.dumps({"sku": item.get("sku"), "asin": item.get("asin")})
    else:
        if spec.kind == "target" and item.get("expressionType") != "MANUAL":
            raise ItemError(
                "expressionTypeError",
                "UNSUPPORTED_EXPRESSION_TYPE",
                "Only MANUAL targeting clauses can be created",
                cause={"location": f"{prefix}.expressionType"},
            )
        expression = check_expression(conn, spec.kind, row, item["expression"], prefix)
        row.update(
            expression=json.dumps(expression),
            expression_type="MANUAL" if spec.kind == "target" else None,
        )
    if spec.kind in ("keyword", "target") and item.get("bid") is not None:
        row["bid"] = check_bid(item["bid"], market, f"{prefix}.bid", budget)
    return row
