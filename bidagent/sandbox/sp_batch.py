"""The SP v3 batch envelope shared by creates, updates and archives: request array and 207 answer.

Owns the shape every batch write has in common: the non-empty array under the entity's plural key
and its 1,000-item limit, :class:`ItemError` (one refused item, as an entry of the 207 ``error``
array), the 207 multi-status body with items in shuffled order, ``Prefer: return=representation``,
and looking up the stored entity an item names. Split from :mod:`bidagent.sandbox.sp_write` so
:mod:`bidagent.sandbox.sp_create` shares it without depending on updates. It must not validate
field values (:mod:`bidagent.sandbox.sp_checks`) or write storage.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import httpx

from bidagent.sandbox.entity_specs import EntitySpec, render_entity
from bidagent.sandbox.responses import ApiRequest, RequestRejected, json_response

__all__ = [
    "MAX_ITEMS",
    "ItemError",
    "batch_items",
    "fetch",
    "multi_status",
    "success_item",
]

MAX_ITEMS = 1000


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
