"""SP v3 batch updates (``PUT /sp/<entity>``) and archives (``POST /sp/<entity>/delete``).

Owns per-item validation as Amazon applies it (entity not found, archived entities immutable,
state enum, marketplace bid and budget limits, bid above budget), the 207 multi-status body with
items in shuffled order, ``Prefer: return=representation``, and the audit log of every applied
field. One request is one SQLite transaction, committed before the answer leaves. It must not
create entities (:mod:`bidagent.sandbox.sp_create`) or simulate traffic.
"""

from __future__ import annotations

import json
import random
import sqlite3
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.marketplaces import Marketplace, marketplace_for
from bidagent.sandbox.entity_specs import EntitySpec, render_entity
from bidagent.sandbox.responses import ApiRequest, RequestRejected, json_response

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = [
    "MAX_ITEMS",
    "ItemError",
    "archive_entities",
    "batch_items",
    "multi_status",
    "update_entities",
]

MAX_ITEMS = 1000
WRITABLE_STATES = ("ENABLED", "PAUSED", "PROPOSED")


class ItemError(Exception):
    """One item of a batch failed; becomes an entry of the 207 ``error`` array."""

    def __init__(self, selector: str, reason: str, message: str, **fields: Any) -> None:
        self.value = {"reason": reason, "message": message, **fields}
        self.selector = selector
        super().__init__(message)

    def item(self, index: int) -> dict[str, Any]:
        """The 207 error entry for request position ``index``."""
        return {
            "index": index,
            "errors": [{"errorType": self.selector, "errorValue": {self.selector: self.value}}],
        }


def batch_items(api: ApiRequest, spec: EntitySpec) -> list[Any]:
    """The request's array under the entity's plural key; 400 if missing or over 1,000."""
    body = api.json()
    items = body.get(spec.key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise RequestRejected(400, f"Request body must contain a non-empty '{spec.key}' array")
    if len(items) > MAX_ITEMS:
        raise RequestRejected(
            400,
            f"'{spec.key}' has {len(items)} items; at most {MAX_ITEMS} are allowed",
            errors=[
                {
                    "errorType": "rangeError",
                    "errorValue": {
                        "rangeError": {
                            "reason": "TOO_HIGH",
                            "message": "Too many items",
                            "upperLimit": str(MAX_ITEMS),
                            "cause": {"location": f"$.{spec.key}", "trigger": str(len(items))},
                        }
                    },
                }
            ],
        )
    return items


def multi_status(
    api: ApiRequest, spec: EntitySpec, success: list[dict[str, Any]], errors: list[dict[str, Any]]
) -> httpx.Response:
    """The 207 answer; items come back in no particular order, as Amazon's may."""
    shuffler = random.Random(api.request_id)
    shuffler.shuffle(success)
    shuffler.shuffle(errors)
    headers = {}
    if _wants_representation(api):
        headers["Preference-Applied"] = "return=representation"
    body = {spec.key: {"success": success, "error": errors}}
    return json_response(207, body, api.request_id, media_type=spec.media_type, headers=headers)


def _wants_representation(api: ApiRequest) -> bool:
    return "return=representation" in (api.header("Prefer") or "").replace(" ", "")


def success_item(api: ApiRequest, spec: EntitySpec, index: int, row: Any) -> dict[str, Any]:
    """One 207 success entry (the full entity only when the client asked for it)."""
    item: dict[str, Any] = {"index": index, spec.success_id: row["entity_id"]}
    if _wants_representation(api):
        item[spec.item_key] = render_entity(spec, row)
    return item


def fetch(conn: sqlite3.Connection, profile_id: str, kind: str, entity_id: str) -> Any:
    """One stored entity row, or ``None``."""
    cursor = conn.execute(
        "SELECT * FROM entities WHERE profile_id = ? AND kind = ? AND entity_id = ?",
        (profile_id, kind, entity_id),
    )
    cursor.row_factory = sqlite3.Row
    return cursor.fetchone()


def check_bid(value: Any, market: Marketplace, location: str, budget: float | None) -> float:
    """A bid as Amazon checks it: a number inside the marketplace range, not above the budget."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemError(
            "malformedValueError",
            "PATTERN_NOT_MATCHED",
            "bid must be a number",
            cause={"location": location, "trigger": json.dumps(value)},
        )
    if not market.min_bid <= Decimal(repr(float(value))) <= market.max_bid:
        raise ItemError(
            "biddingError",
            "BID_OUT_OF_MARKET_PLACE_RANGE",
            f"Bid must be between {market.min_bid} and {market.max_bid}",
            lowerLimit=str(market.min_bid),
            upperLimit=str(market.max_bid),
            marketplace=market.country_code,
            cause={"location": location, "trigger": str(value)},
        )
    if budget is not None and float(value) > budget:
        raise ItemError(
            "biddingError",
            "BID_GT_BUDGET",
            "Bid cannot be greater than the budget",
            upperLimit=str(budget),
            cause={"location": location, "trigger": str(value)},
        )
    return float(value)


def check_state(value: Any, location: str) -> str:
    """A writable state (ENABLED, PAUSED, PROPOSED); ARCHIVED only through ``/delete``."""
    if value not in WRITABLE_STATES:
        raise ItemError(
            "rangeError",
            "INVALID_ENUM_VALUE",
            f"Invalid state {value!r}",
            allowed=list(WRITABLE_STATES),
            cause={"location": location, "trigger": str(value)},
        )
    return str(value)


def campaign_budget(
    conn: sqlite3.Connection, profile_id: str, campaign_id: str | None
) -> float | None:
    """The daily budget of a campaign (``None`` if unknown)."""
    row = fetch(conn, profile_id, "campaign", campaign_id or "")
    return None if row is None else float(row["budget"])


def _check_budget(
    conn: sqlite3.Connection, row: Any, value: Any, market: Marketplace, location: str
) -> float:
    if not isinstance(value, dict) or "budget" not in value or "budgetType" not in value:
        raise ItemError(
            "missingValueError",
            "MISSING_VALUE",
            "budget needs budget and budgetType",
            cause={"location": location},
        )
    if value["budgetType"] != "DAILY":
        raise ItemError(
            "rangeError",
            "INVALID_ENUM_VALUE",
            "budgetType must be DAILY",
            allowed=["DAILY"],
            cause={"location": location + ".budgetType"},
        )
    amount = value["budget"]
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise ItemError(
            "malformedValueError",
            "PATTERN_NOT_MATCHED",
            "budget must be a number",
            cause={"location": location + ".budget"},
        )
    if not market.min_budget <= Decimal(repr(float(amount))) <= market.max_budget:
        raise ItemError(
            "budgetError",
            "BUDGET_OUT_OF_MARKET_PLACE_RANGE",
            f"Budget must be between {market.min_budget} and {market.max_budget}",
            lowerLimit=str(market.min_budget),
            upperLimit=str(market.max_budget),
            marketplace=market.country_code,
            cause={"location": location + ".budget", "trigger": str(amount)},
        )
    top = conn.execute(
        "SELECT MAX(bid) FROM entities WHERE profile_id = ? AND campaign_id = ? "
        "AND kind IN ('keyword', 'target', 'ad_group') AND state != 'ARCHIVED'",
        (row["profile_id"], row["entity_id"]),
    ).fetchone()[0]
    if top is not None and float(amount) < top:
        raise ItemError(
            "budgetError",
            "BUDGET_LT_KEYWORD_BIDS",
            "Budget cannot be lower than existing bids",
            lowerLimit=str(top),
            cause={"location": location + ".budget", "trigger": str(amount)},
        )
    return float(amount)


def _changes(
    conn: sqlite3.Connection,
    spec: EntitySpec,
    row: Any,
    item: dict[str, Any],
    market: Marketplace,
    prefix: str,
) -> dict[str, tuple[str, Any]]:
    """Validate one update item; map field name -> (column or data key, new value)."""
    if row is None:
        entity_id = item[spec.id_field]
        raise ItemError(
            "entityNotFoundError",
            "ENTITY_NOT_FOUND",
            f"Could not find {spec.entity_type.lower()} with id {entity_id}",
            entityId=entity_id,
            entityType=spec.entity_type,
            cause={"location": f"{prefix}.{spec.id_field}", "trigger": entity_id},
        )
    if row["state"] == "ARCHIVED":
        raise ItemError(
            "entityStateError",
            "ARCHIVED_ENTITY_CANNOT_BE_MODIFIED",
            "Archived entities cannot be modified",
            cause={"location": prefix, "trigger": row["entity_id"]},
        )
    out: dict[str, tuple[str, Any]] = {}
    for name, value in item.items():
        where = f"{prefix}.{name}"
        if name == spec.id_field:
            continue
        if name == "state":
            out[name] = ("state", check_state(value, where))
        elif name in ("bid", "defaultBid"):
            if value is None and name == "bid":
                out[name] = ("bid", None)
                continue
            budget = campaign_budget(conn, row["profile_id"], row["campaign_id"])
            out[name] = ("bid", check_bid(value, market, where, budget))
        elif name == "budget":
            out[name] = ("budget", _check_budget(conn, row, value, market, where))
        elif name == "name":
            if not isinstance(value, str) or not value.strip():
                raise ItemError(
                    "malformedValueError",
                    "BLANK",
                    "name must not be blank",
                    cause={"location": where},
                )
            out[name] = ("name", value)
        elif name in ("expression", "expressionType"):
            column = "expression" if name == "expression" else "expression_type"
            out[name] = (column, json.dumps(value) if name == "expression" else value)
        else:
            out[name] = ("data", value)
    return out


def update_entities(sandbox: Sandbox, api: ApiRequest, spec: EntitySpec) -> httpx.Response:
    """``PUT /sp/<entity>``: partial updates, each item applied or refused on its own."""
    items = batch_items(api, spec)
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(spec.id_field), str):
            raise RequestRejected(400, f"{spec.key}[{index}].{spec.id_field} must be a string id")
        unknown = sorted(set(item) - spec.update_fields)
        if unknown:
            raise RequestRejected(400, f"{spec.key}[{index}]: fields {unknown} cannot be updated")
    market = _market(sandbox, api)
    success: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    store = sandbox.store
    with store.transaction() as conn:
        now = sandbox.store.get_meta("now") or ""
        for index, item in enumerate(items):
            row = fetch(conn, api.profile_id or "", spec.kind, item[spec.id_field])
            try:
                changes = _changes(conn, spec, row, item, market, f"$.{spec.key}[{index}]")
            except ItemError as exc:
                errors.append(exc.item(index))
                continue
            _apply(store, conn, api, spec, row, changes, now)
            success.append(
                success_item(
                    api, spec, index, fetch(conn, row["profile_id"], spec.kind, row["entity_id"])
                )
            )
    return multi_status(api, spec, success, errors)


def _apply(
    store: Any,
    conn: sqlite3.Connection,
    api: ApiRequest,
    spec: EntitySpec,
    row: Any,
    changes: dict[str, tuple[str, Any]],
    now: str,
) -> None:
    data = json.loads(row["data"] or "{}")
    for name, (column, value) in changes.items():
        if column == "data":
            old = data.get(name)
            data[name] = value
        else:
            old = json.loads(row[column]) if column == "expression" and row[column] else row[column]
            conn.execute(
                f"UPDATE entities SET {column} = ? WHERE profile_id = ? AND kind = ? "
                "AND entity_id = ?",
                (value, row["profile_id"], spec.kind, row["entity_id"]),
            )
            value = json.loads(value) if column == "expression" else value
        store.log_write(
            conn,
            at=now,
            request_id=api.request_id,
            profile_id=row["profile_id"],
            kind=spec.kind,
            entity_id=row["entity_id"],
            field=name,
            old=old,
            new=value,
        )
    data["updated"] = now
    conn.execute(
        "UPDATE entities SET data = ? WHERE profile_id = ? AND kind = ? AND entity_id = ?",
        (json.dumps(data), row["profile_id"], spec.kind, row["entity_id"]),
    )


def archive_entities(sandbox: Sandbox, api: ApiRequest, spec: EntitySpec) -> httpx.Response:
    """``POST /sp/<entity>/delete``: archive by id filter (archiving is final)."""
    body = api.json()
    ids = (body or {}).get(spec.id_filter, {}).get("include") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        raise RequestRejected(400, f"Request body must contain {spec.id_filter}.include")
    if len(ids) > MAX_ITEMS:
        raise RequestRejected(400, f"{spec.id_filter} has {len(ids)} ids; at most {MAX_ITEMS}")
    success: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    store = sandbox.store
    with store.transaction() as conn:
        now = store.get_meta("now") or ""
        for index, entity_id in enumerate(ids):
            row = fetch(conn, api.profile_id or "", spec.kind, str(entity_id))
            location = f"$.{spec.id_filter}.include[{index}]"
            if row is None:
                errors.append(
                    ItemError(
                        "entityNotFoundError",
                        "ENTITY_NOT_FOUND",
                        f"Could not find {entity_id}",
                        entityId=str(entity_id),
                        entityType=spec.entity_type,
                        cause={"location": location, "trigger": str(entity_id)},
                    ).item(index)
                )
                continue
            if row["expression_type"] == "AUTO":
                errors.append(
                    ItemError(
                        "entityStateError",
                        "AUTO_TARGETING_CLAUSE_CANNOT_BE_ARCHIVED_MANUALLY",
                        "Auto targeting clauses cannot be archived",
                        cause={"location": location, "trigger": str(entity_id)},
                    ).item(index)
                )
                continue
            if row["state"] != "ARCHIVED":
                _apply(store, conn, api, spec, row, {"state": ("state", "ARCHIVED")}, now)
            success.append(
                success_item(
                    api, spec, index, fetch(conn, row["profile_id"], spec.kind, row["entity_id"])
                )
            )
    return multi_status(api, spec, success, errors)


def _market(sandbox: Sandbox, api: ApiRequest) -> Marketplace:
    country = next(
        p["country"] for p in sandbox.profile_rows() if p["profile_id"] == api.profile_id
    )
    return marketplace_for(country)
