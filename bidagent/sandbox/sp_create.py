"""SP v3 batch creates (``POST /sp/<entity>``): harvested keywords, negatives, targets, and more.

Owns create validation (required fields, parents that exist and are not archived, match-type and
keyword-text rules, duplicates, bid limits) and gives each new keyword or target hidden truths so
it takes part in the simulation: a harvested keyword inherits the traffic and conversion rate of
the search term it was harvested from. It must not update existing entities.
"""

from __future__ import annotations

import json
import random
import sqlite3
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.marketplaces import marketplace_for
from bidagent.sandbox.catalog import AUTO_PREDICATES
from bidagent.sandbox.entity_specs import EntitySpec
from bidagent.sandbox.responses import ApiRequest
from bidagent.sandbox.sp_batch import ItemError, batch_items, fetch, multi_status, success_item
from bidagent.sandbox.sp_checks import campaign_budget, check_bid, check_state
from bidagent.sandbox.store import ENTITY_COLUMNS

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["create_entities"]

_MATCH = {
    "keyword": ("EXACT", "PHRASE", "BROAD"),
    "negative_keyword": ("NEGATIVE_EXACT", "NEGATIVE_PHRASE"),
    "campaign_negative_keyword": ("NEGATIVE_EXACT", "NEGATIVE_PHRASE"),
}
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
            cause={"location": where, "trigger": str(entity_id)},
        )
    return row


def _new_row(
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
                marketplace=market.country_code,
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
                "PARENT_ENTITY_MISMATCH",
                "The ad group does not belong to the campaign",
                cause={"location": f"{prefix}.adGroupId"},
            )
        row["ad_group_id"] = group["entity_id"]
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
        expression = item["expression"]
        if spec.kind == "target" and item.get("expressionType") != "MANUAL":
            raise ItemError(
                "expressionTypeError",
                "INVALID_EXPRESSION_TYPE",
                "Only MANUAL targeting clauses can be created",
                cause={"location": f"{prefix}.expressionType"},
            )
        allowed = _MANUAL_TYPES if spec.kind == "target" else {"ASIN_SAME_AS", "ASIN_BRAND_SAME_AS"}
        if (
            not isinstance(expression, list)
            or not expression
            or any(not isinstance(e, dict) or e.get("type") not in allowed for e in expression)
        ):
            raise ItemError(
                "malformedValueError",
                "PATTERN_NOT_MATCHED",
                "Invalid expression",
                cause={"location": f"{prefix}.expression"},
            )
        row.update(
            expression=json.dumps(expression),
            expression_type="MANUAL" if spec.kind == "target" else None,
        )
    if spec.kind in ("keyword", "target") and item.get("bid") is not None:
        row["bid"] = check_bid(item["bid"], market, f"{prefix}.bid", budget)
    return row


def _new_id(sandbox: Sandbox, conn: sqlite3.Connection, profile: str, kind: str) -> str:
    count = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entities").fetchone()[0]
    draw = random.Random(f"{sandbox.seed}:{kind}:{count}")
    while True:
        candidate = str(draw.randrange(10**13, 10**15))
        if fetch(conn, profile, kind, candidate) is None:
            return candidate


def _add_truth(
    sandbox: Sandbox, conn: sqlite3.Connection, row: dict[str, Any], auto_type: str | None = None
) -> None:
    """Give a new keyword or target its hidden truths (harvested terms keep theirs)."""
    sim_key = conn.execute("SELECT COALESCE(MAX(sim_key), -1) + 1 FROM truths").fetchone()[0]
    row["sim_key"] = sim_key
    draw = random.Random(f"{sandbox.seed}:{row['profile_id']}:{row['entity_id']}")
    product = conn.execute(
        "SELECT data FROM entities WHERE profile_id = ? AND kind = 'product_ad' AND "
        "ad_group_id = ? ORDER BY seq LIMIT 1",
        (row["profile_id"], row["ad_group_id"]),
    ).fetchone()
    facts = json.loads(product[0]) if product else {}
    price, margin = float(facts.get("price", 25.0)), float(facts.get("margin", 0.3))
    term = (row["text"] or "").lower()
    if row["expression"] and not term:
        term = str(json.loads(row["expression"])[0].get("value", auto_type or "")).lower()
    source = conn.execute(
        "SELECT SUM(t.volume * s.weight), AVG(t.ctr), SUM(t.cvr * s.cvr_mult * s.weight) / "
        "SUM(s.weight), AVG(t.comp_bid) FROM terms s JOIN truths t ON t.sim_key = s.sim_key "
        "WHERE t.profile_id = ? AND lower(s.term) = ?",
        (row["profile_id"], term),
    ).fetchone()
    if source and source[0]:
        volume, ctr, cvr, comp_bid = source
    else:
        comp_bid = draw.uniform(0.4, 1.6)
        volume, ctr = draw.uniform(50, 400), draw.uniform(0.002, 0.008)
        cvr = min(0.4, comp_bid * draw.uniform(0.6, 1.8) / (price * margin))
    conn.execute(
        "INSERT INTO truths VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sim_key,
            row["profile_id"],
            row["kind"],
            row["entity_id"],
            volume,
            ctr,
            cvr,
            comp_bid,
            price,
            margin,
            draw.uniform(0, 0.3),
            draw.uniform(0, 7),
        ),
    )
    conn.execute("INSERT INTO terms VALUES (?, ?, 1.0, 1.0)", (sim_key, term or "*"))


def create_entities(sandbox: Sandbox, api: ApiRequest, spec: EntitySpec) -> httpx.Response:
    """``POST /sp/<entity>``: create each item or refuse it on its own (207)."""
    items = batch_items(api, spec)
    profile = api.profile_id or ""
    success: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    store = sandbox.store
    with store.transaction() as conn:
        now = store.get_meta("now") or ""
        for index, item in enumerate(items):
            prefix = f"$.{spec.key}[{index}]"
            try:
                if not isinstance(item, dict):
                    raise ItemError(
                        "malformedValueError",
                        "PATTERN_NOT_MATCHED",
                        "item must be an object",
                        cause={"location": prefix},
                    )
                row = _new_row(sandbox, conn, spec, profile, item, prefix)
            except ItemError as exc:
                errors.append(exc.item(index))
                continue
            created = [row]
            row["entity_id"] = _new_id(sandbox, conn, profile, spec.kind)
            row["data"] = json.dumps({**json.loads(row["data"]), "created": now})
            if spec.kind == "campaign":
                row["campaign_id"] = row["entity_id"]
            if spec.kind == "ad_group":
                row["ad_group_id"] = row["entity_id"]
            if spec.kind in ("keyword", "target"):
                _add_truth(sandbox, conn, row)
            store.insert_entities(conn, [row])
            if spec.kind == "ad_group" and _is_auto(conn, profile, row["campaign_id"]):
                created += _auto_targets(sandbox, conn, row, now)
            for made in created:
                store.log_write(
                    conn,
                    at=now,
                    request_id=api.request_id,
                    profile_id=profile,
                    kind=made["kind"],
                    entity_id=made["entity_id"],
                    field="created",
                    old=None,
                    new=made["state"],
                )
            success.append(
                success_item(api, spec, index, fetch(conn, profile, spec.kind, row["entity_id"]))
            )
    return multi_status(api, spec, success, errors)


def _is_auto(conn: sqlite3.Connection, profile: str, campaign_id: str) -> bool:
    row = fetch(conn, profile, "campaign", campaign_id)
    return row is not None and json.loads(row["data"]).get("targetingType") == "AUTO"


def _auto_targets(
    sandbox: Sandbox, conn: sqlite3.Connection, group: dict[str, Any], now: str
) -> list[dict[str, Any]]:
    """Amazon creates the four auto targets of a new ad group in an AUTO campaign, bid-less."""
    rows = []
    for predicate in AUTO_PREDICATES:
        row = dict.fromkeys(ENTITY_COLUMNS)
        row.update(
            profile_id=group["profile_id"],
            kind="target",
            state="ENABLED",
            campaign_id=group["campaign_id"],
            ad_group_id=group["ad_group_id"],
            expression=json.dumps([{"type": predicate}]),
            expression_type="AUTO",
            data=json.dumps({"created": now}),
        )
        row["entity_id"] = _new_id(sandbox, conn, group["profile_id"], "target")
        _add_truth(sandbox, conn, row, auto_type=predicate)
        sandbox.store.insert_entities(conn, [row])
        rows.append(row)
    return rows
