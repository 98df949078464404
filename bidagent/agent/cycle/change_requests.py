"""Translate between change rows and the Ads client: which API call a change needs (an
:class:`~bidagent.vocabulary.Update` or a :class:`~bidagent.vocabulary.Create`), the request it
becomes, and how a live value read back compares with the change's old and new values.

Change rows keep values as canonical text (see ``bidagent.store.ledger``); money compares as
``Decimal`` so ``"1.5"`` and ``"1.50"`` are the same bid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bidagent.ads import AdsClient, EntityUpdate
from bidagent.store import ChangeRecord
from bidagent.vocabulary import (
    ARCHIVE_KINDS,
    MONEY_FIELDS,
    UPDATE_KINDS,
    ApiCall,
    Archive,
    ArchiveKind,
    Create,
    CreateKind,
    Update,
    UpdateKind,
)

__all__ = [
    "ARCHIVED",
    "CREATION_FIELDS",
    "MONEY_FIELDS",
    "LiveValue",
    "api_call",
    "change_request",
    "creation_item",
    "live_value",
    "same_value",
]

_UPDATES: dict[str, Update] = {kind: Update(kind) for kind in UPDATE_KINDS}
_ARCHIVES: dict[str, Archive] = {kind: Archive(kind) for kind in ARCHIVE_KINDS}
ARCHIVED = "archived"  # the new value of a change that archives an entity


# Change fields that create an entity (the rest change a field of an existing one). A negative
# keyword or negative target goes to the ad group, or the campaign with payload level "campaign".
CREATION_FIELDS = frozenset({"keyword", "negative_keyword", "product_target", "negative_target"})


def api_call(row: ChangeRecord) -> ApiCall:
    """The client call a change needs: an update of an existing entity, or a creation."""
    campaign_level = (row.payload or {}).get("level", "ad_group") == "campaign"
    if row.field == "negative_keyword":
        return Create("campaign_negative_keyword" if campaign_level else "negative_keyword")
    if row.field == "negative_target":
        return Create("campaign_negative_target" if campaign_level else "negative_target")
    if row.field in ("keyword", "product_target"):
        return Create("keyword" if row.field == "keyword" else "product_target")
    if row.field == "state" and row.new_value == ARCHIVED:
        archive = _ARCHIVES.get(row.entity_kind)
        if archive is None:
            raise ValueError(f"change {row.id}: cannot archive a {row.entity_kind}")
        return archive
    update = _UPDATES.get(row.entity_kind)
    if update is None:
        raise ValueError(f"change {row.id}: cannot update a {row.entity_kind}")
    return update


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def change_request(row: ChangeRecord) -> Any:
    """The client request item for one change row (absolute values only)."""
    call = api_call(row)
    if isinstance(call, Create):
        return creation_item(row)
    if isinstance(call, Archive):
        return row.entity_id
    value = row.new_value
    if row.field == "bid":
        return EntityUpdate(entity_id=row.entity_id, bid=_money(value))
    if row.field == "budget":
        return EntityUpdate(entity_id=row.entity_id, budget=_money(value))
    if row.field == "default_bid":
        return EntityUpdate(entity_id=row.entity_id, default_bid=_money(value))
    if row.field == "state":
        return EntityUpdate(entity_id=row.entity_id, state=value)
    raise ValueError(f"change {row.id}: unsupported field {row.field!r}")


def creation_item(row: ChangeRecord) -> dict[str, Any]:
    """The create item (the client's spelling) for a creation change, from its payload.

    ``keyword``/``negative_keyword``: ``campaign_id``, ``ad_group_id``, ``keyword_text``,
    ``match_type`` (and ``bid`` for a keyword). ``product_target``/``negative_target``:
    ``campaign_id``, ``ad_group_id``, ``asin`` (and ``bid`` for a product target), made an
    ``asinSameAs`` expression with the ASIN in capitals, as Amazon spells it. A campaign-level
    negative has no ad group."""
    payload = row.payload or {}
    call = api_call(row)
    item: dict[str, Any] = {
        "campaign_id": str(payload["campaign_id"]),
        "ad_group_id": None if payload.get("ad_group_id") is None else str(payload["ad_group_id"]),
    }
    if row.field in ("product_target", "negative_target"):
        item["expression"] = [{"type": "asinSameAs", "value": str(payload["asin"]).upper()}]
    else:
        item["keyword_text"] = str(payload["keyword_text"])
        item["match_type"] = str(payload["match_type"]).lower()
    if row.field in ("keyword", "product_target"):
        item["bid"] = _money(str(payload["bid"]))
    item["state"] = "enabled"
    if isinstance(call, Create) and call.kind.startswith("campaign_"):
        item.pop("ad_group_id")
    return item


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


def live_value(
    client: AdsClient, profile_id: str, call: ApiCall, rows: Sequence[ChangeRecord]
) -> list[LiveValue | None]:
    """Read the live values behind ``rows`` (all of one API call) in as few calls as possible."""
    match call:
        case Update(kind):
            return _live_by_id(client, profile_id, kind, rows, _judged)
        case Create(kind):
            return _live_creations(client, profile_id, kind, rows)
        case Archive(kind):
            return _live_by_id(client, profile_id, kind, rows, _archive_judged)


def _archive_judged(row: ChangeRecord, entity: dict[str, Any]) -> LiveValue:
    """An archive is applied when the entity's state is ``archived``; any other state is the
    state before it (an archive changes nothing else)."""
    state = str(entity.get("state"))
    done = state == ARCHIVED
    return LiveValue(text=state, matches_new=done, matches_old=not done)


def _live_by_id(
    client: AdsClient,
    profile_id: str,
    kind: UpdateKind | ArchiveKind,
    rows: Sequence[ChangeRecord],
    judge: Callable[[ChangeRecord, dict[str, Any]], LiveValue],
) -> list[LiveValue | None]:
    """Each row's entity read back by id and judged; None where the entity is gone."""
    current = client.get_current(profile_id, kind, [r.entity_id for r in rows])
    return [
        None if (entity := current.get(row.entity_id)) is None else judge(row, entity)
        for row in rows
    ]


def _judged(row: ChangeRecord, entity: dict[str, Any]) -> LiveValue:
    """One live entity against one change. A target's bid of ``None`` inherits its ad group's
    default bid: it matches a change value of ``None`` (inherit) and the effective bid a change
    row stores for an inheriting target (the engine's ``bid`` is its own, else the default)."""
    live = entity.get(row.field)
    if row.field == "bid" and live is None and "default_bid" in entity:
        effective = entity["default_bid"]

        def matches(value: str | None) -> bool:
            return value is None or same_value("bid", effective, value)

        return LiveValue(
            text=f"inherits the ad group's default bid {effective}",
            matches_new=matches(row.new_value),
            matches_old=matches(row.old_value),
        )
    return LiveValue(
        text=None if live is None else str(live),
        matches_new=same_value(row.field, live, row.new_value),
        matches_old=same_value(row.field, live, row.old_value),
    )


def _live_creations(
    client: AdsClient, profile_id: str, kind: CreateKind, rows: Sequence[ChangeRecord]
) -> list[LiveValue | None]:
    """A creation is applied when an entity with its parent and its text and match type (or
    expression) exists, not archived."""
    found = client.find_existing(profile_id, kind, [creation_item(r) for r in rows])
    values: list[LiveValue | None] = []
    for entity in found:
        remote = None if entity is None else str(entity.get("entity_id") or "") or None
        values.append(
            LiveValue(
                text="exists" if entity is not None else "absent",
                matches_new=entity is not None,
                matches_old=entity is None,
                remote_id=remote,
            )
        )
    return values
