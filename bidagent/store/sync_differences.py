"""What changed between two syncs: the editable fields a sync is about to overwrite, compared
with the values it lists now.

:func:`stored_differences` reads, in one query per table, the bid, budget, state and default bid
the previous sync stored for one profile, and returns every listed entity whose value differs.
It runs inside the sync's transaction before the upsert, so the stored values are the previous
sync's and nothing can slip between the read and the write. It must not decide whether a
difference is somebody else's edit (``bidagent.agent.cycle.external_edits`` does, against our
applied changes) nor write anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bidagent.store.entities import AdGroupRecord, CampaignRecord, NegativeRecord, TargetRecord

__all__ = ["EDITABLE_FIELDS", "FieldDifference", "stored_differences"]

# The fields a person or another tool can edit, per synced table.
EDITABLE_FIELDS: dict[type[SQLModel], tuple[str, ...]] = {
    CampaignRecord: ("budget", "state"),
    AdGroupRecord: ("default_bid", "state"),
    TargetRecord: ("bid", "state"),
    NegativeRecord: ("state",),
}


_CENT = Decimal("0.01")


@dataclass(frozen=True)
class FieldDifference:
    """One entity field whose listed value is not the one the previous sync stored.

    Values are canonical text (money as ``format(Decimal, "f")``, states lower case); ``None``
    is a bid that inherits its ad group's default bid.
    """

    entity_kind: str
    entity_id: str
    field: str
    stored: str | None
    live: str | None
    entity_name: str | None
    campaign_id: str | None
    ad_group_id: str | None
    stored_at: datetime | None  # when the previous sync stored ``stored``


def canonical(value: Any) -> str | None:
    """A synced value as a change row spells it: money without exponent, text as is."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.quantize(_CENT), "f")  # as the NUMERIC(14, 2) columns store it
    return str(value)


def _same(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, Decimal | float | int) or isinstance(right, Decimal | float | int):
        return Decimal(str(left)) == Decimal(str(right))
    return str(left).lower() == str(right).lower()


def _identity(model: type[SQLModel], row: Mapping[str, Any]) -> tuple[str, str]:
    """(entity kind as change rows spell it, entity id) of one listed or stored row."""
    if model is CampaignRecord:
        return "campaign", str(row["campaign_id"])
    if model is AdGroupRecord:
        return "ad_group", str(row["ad_group_id"])
    if model is TargetRecord:
        return str(row["kind"]), str(row["target_id"])
    return str(row["kind"]), str(row["negative_id"])


def _name(model: type[SQLModel], row: Mapping[str, Any]) -> str | None:
    if model in (CampaignRecord, AdGroupRecord):
        return row.get("name")
    return row.get("keyword_text") or row.get("targeting")


def stored_differences(
    conn: Connection,
    profile_id: str,
    listed: Sequence[tuple[type[SQLModel], Sequence[Mapping[str, Any]]]],
) -> list[FieldDifference]:
    """Every editable field of a listed entity whose value differs from the stored one.

    An entity not stored yet (the profile's first sync, a new entity) has no difference, and
    neither has one the store holds as archived (archiving is final on Amazon: a stored archive
    that is listed again was a gap in an earlier listing, not an edit).
    """
    found: list[FieldDifference] = []
    for model, rows in listed:
        fields = EDITABLE_FIELDS.get(model)
        if not fields or not rows:
            continue
        table: Table = model.__table__  # type: ignore[attr-defined]
        keys = [c.name for c in table.primary_key.columns]
        query = select(*(table.c[k] for k in keys), *(table.c[f] for f in fields),
                       table.c.synced_at).where(table.c.profile_id == profile_id)  # fmt: skip
        stored = {tuple(row[: len(keys)]): row[len(keys) :] for row in conn.execute(query).all()}
        for row in rows:
            before = stored.get(tuple(row[k] for k in keys))
            if before is None:
                continue
            synced_at = before[-1]
            values = dict(zip(fields, before[:-1], strict=True))
            if str(values["state"]).lower() == "archived":
                continue
            for name in fields:
                if _same(values[name], row.get(name)):
                    continue
                kind, entity_id = _identity(model, row)
                found.append(
                    FieldDifference(
                        entity_kind=kind, entity_id=entity_id, field=name,
                        stored=canonical(values[name]), live=canonical(row.get(name)),
                        entity_name=_name(model, row), campaign_id=row.get("campaign_id"),
                        ad_group_id=row.get("ad_group_id"), stored_at=synced_at,
                    )
                )  # fmt: skip
    return found
