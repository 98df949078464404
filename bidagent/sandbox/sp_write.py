"""SP v3 batch updates (``PUT /sp/<entity>``) and archives (``POST /sp/<entity>/delete``).

Owns what an update item may change and in what order it is checked (entity not found, archived
entities immutable, then each field), how an accepted change is applied, and the audit log of
every applied field. One request is one SQLite transaction, committed before the answer leaves.
The batch envelope (array limits, the 207 body) is :mod:`bidagent.sandbox.sp_batch` and the field
checks (bid, state, budget limits) :mod:`bidagent.sandbox.sp_checks`; both are shared with
creates. It must not create entities (:mod:`bidagent.sandbox.sp_create`) or simulate traffic.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.marketplaces import Marketplace, marketplace_for
from bidagent.sandbox.entity_specs import EntitySpec
from bidagent.sandbox.responses import ApiRequest, RequestRejected
from bidagent.sandbox.sp_batch import (
    MAX_ITEMS,
    ItemError,
    batch_items,
    fetch,
    multi_status,
    success_item,
)
from bidagent.sandbox.sp_checks import campaign_budget, check_bid, check_budget, check_state

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
            entityType=spec.entity_type,
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
            out[name] = ("budget", check_budget(conn, row, value, market, where))
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
                        entityType=spec.entity_type,
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
