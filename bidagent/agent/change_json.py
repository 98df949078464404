"""The one JSON shape of a change row: ``bidagent changes``, ``review show`` and the webhooks use it.

Owns the keys, their order and their JSON-native values (times as ISO 8601 strings, money as the
ledger's canonical text). The review keys come first and keep their place, because docs/review.md
promises that existing keys keep their name and new ones are added at the end; the change log's
listing keys follow. A listing picks its columns from this shape (``changes`` prints
``cli.changes.LIST_COLUMNS``), it never builds its own. It must not read the ledger: callers pass
rows in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bidagent.store import ChangeRecord

__all__ = ["CHANGE_KEYS", "change_json"]

# fmt: off
CHANGE_KEYS = (
    "id", "profile_id", "entity_kind", "entity_id", "entity_name", "field", "old_value",
    "new_value", "rule_name", "status", "reason",
    # the change log's listing keys (``new`` also reads for a creation, see _created)
    "when", "old", "new", "rule", "actor", "cycle_id",
)
# fmt: on


def _created(payload: dict[str, Any] | None) -> str | None:
    """What a creation (negative keyword, harvested keyword) adds, as the listing's new value."""
    if not payload or not payload.get("keyword_text"):
        return None
    return f"{payload.get('match_type', '')} {payload['keyword_text']!r}".strip()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def change_json(row: ChangeRecord) -> dict[str, Any]:
    """A change in the stable JSON shape (:data:`CHANGE_KEYS`, in that order).

    A creation has no single new value in the ledger (it is the payload): ``new`` then shows the
    match type and text it adds, so every row reads as "old → new"; ``new_value`` stays the
    ledger's value. ``when`` is when the change finished, else when it was last updated.
    """
    return {
        "id": row.id,
        "profile_id": row.profile_id,
        "entity_kind": row.entity_kind,
        "entity_id": row.entity_id,
        "entity_name": row.entity_name,
        "field": row.field,
        "old_value": row.old_value,
        "new_value": row.new_value,
        "rule_name": row.rule_name,
        "status": row.status,
        "reason": row.reason,
        "when": _iso(row.finished_at or row.updated_at),
        "old": row.old_value,
        "new": row.new_value if row.new_value is not None else _created(row.payload),
        "rule": row.rule_name,
        "actor": row.actor,
        "cycle_id": row.cycle_id,
    }
