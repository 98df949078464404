"""Translate between change rows and the Ads client: which API a change goes to, the request it
becomes, and how a live value read back compares with the change's old and new values.

Change rows keep values as canonical text (see ``bidagent.store.ledger``); money compares as
``Decimal`` so ``"1.5"`` and ``"1.50"`` are the same bid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bidagent.ads import AdsClient, EntityUpdate
from bidagent.store import ChangeRecord

__all__ = ["MONEY_FIELDS", "LiveValue", "api_kind", "change_request", "live_value", "same_value"]

MONEY_FIELDS = frozenset({"bid", "budget", "default_bid"})
_UPDATE_KINDS = {"keyword", "product_target", "campaign", "ad_group"}


def api_kind(row: ChangeRecord) -> str:
    """The client call a change needs: an update kind, or ``create:<kind>`` for new entities."""
    if row.field == "negative_keyword":
        level = (row.payload or {}).get("level", "ad_group")
        return (
            "create:campaign_negative_keyword" if level == "campaign" else "create:negative_keyword"
        )
    if row.field == "keyword":
        return "create:keyword"
    if row.entity_kind not in _UPDATE_KINDS:
        raise ValueError(f"change {row.id}: cannot update a {row.entity_kind}")
    return row.entity_kind


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def change_request(row: ChangeRecord) -> Any:
    """The client request item for one change row (absolute values only)."""
    kind = api_kind(row)
    payload = row.payload or {}
    if kind == "create:keyword":
        return {
            "campaignId": payload["campaign_id"],
            "adGroupId": payload["ad_group_id"],
            "keywordText": payload["keyword_text"],
            "matchType": str(payload["match_type"]).upper(),
            "state": "ENABLED",
            "bid": float(payload["bid"]),
        }
    if kind.startswith("create:"):
        item = {
            "campaignId": payload["campaign_id"],
            "keywordText": payload["keyword_text"],
            "matchType": str(payload["match_type"]).upper(),
            "state": "ENABLED",
        }
        if kind == "create:negative_keyword":
            item["adGroupId"] = payload["ad_group_id"]
        return item
    value = row.new_value
    if row.field in MONEY_FIELDS:
        return EntityUpdate(entity_id=row.entity_id, **{row.field: _money(value)})
    if row.field == "state":
        return EntityUpdate(entity_id=row.entity_id, state=value)
    raise ValueError(f"change {row.id}: unsupported field {row.field!r}")


def same_value(field: str, left: Any, right: str | None) -> bool:
    """Whether a live value equals a change's canonical text value."""
    if left is None or right is None:
        return left is None and right is None
    if field in MONEY_FIELDS:
        try:
            return Decimal(str(left)) == Decimal(right)
        except InvalidOperation:
            return False
    return str(left).lower() == right.lower()


@dataclass(frozen=True)
class LiveValue:
    """A value read back from the API, judged against one change."""

    text: str | None
    matches_new: bool
    matches_old: bool
    remote_id: str | None = None


def _norm_text(value: Any) -> str:
    return " ".join(str(value).lower().split())


def live_value(
    client: AdsClient, profile_id: str, kind: str, rows: Sequence[ChangeRecord]
) -> list[LiveValue | None]:
    """Read the live values behind ``rows`` (all of one API kind) in as few calls as possible."""
    if kind.startswith("create:"):
        return _live_creations(client, profile_id, kind.removeprefix("create:"), rows)
    current = client.get_current(profile_id, kind, [r.entity_id for r in rows])  # type: ignore[arg-type]
    values: list[LiveValue | None] = []
    for row in rows:
        entity = current.get(row.entity_id)
        if entity is None:
            values.append(None)
            continue
        live = entity.get(row.field)
        values.append(
            LiveValue(
                text=None if live is None else str(live),
                matches_new=same_value(row.field, live, row.new_value),
                matches_old=same_value(row.field, live, row.old_value),
            )
        )
    return values


def _live_creations(
    client: AdsClient, profile_id: str, kind: str, rows: Sequence[ChangeRecord]
) -> list[LiveValue | None]:
    """A creation is applied when an entity with its parent, text and match type exists."""
    campaign_ids = sorted({(r.payload or {})["campaign_id"] for r in rows})
    if kind == "keyword":
        existing = client.list_keywords(profile_id, campaign_ids=campaign_ids)
    elif kind == "negative_keyword":
        existing = client.list_negative_keywords(profile_id, campaign_ids=campaign_ids)
    else:
        existing = client.list_campaign_negative_keywords(profile_id, campaign_ids=campaign_ids)
    index: dict[tuple[str, str | None, str, str], str] = {}
    for entity in existing:
        record = entity.to_record() if hasattr(entity, "to_record") else dict(entity)
        key = (
            str(record["campaign_id"]),
            None if kind == "campaign_negative_keyword" else str(record.get("ad_group_id")),
            _norm_text(record["keyword_text"]),
            str(record["match_type"]).lower(),
        )
        index[key] = str(record.get("negative_id") or record.get("target_id") or "")
    values: list[LiveValue | None] = []
    for row in rows:
        payload = row.payload or {}
        key = (
            str(payload["campaign_id"]),
            None if kind == "campaign_negative_keyword" else str(payload.get("ad_group_id")),
            _norm_text(payload["keyword_text"]),
            str(payload["match_type"]).lower(),
        )
        remote = index.get(key)
        values.append(
            LiveValue(
                text="exists" if remote is not None else "absent",
                matches_new=remote is not None,
                matches_old=remote is None,
                remote_id=remote or None,
            )
        )
    return values
