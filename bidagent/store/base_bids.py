"""Base bids of dayparting rules: the bid a time-of-day rule multiplies, one per (entity, rule).

Owns setting and clearing a stored base bid inside the caller's transaction. It must not decide
when a base is set or cleared (the engine's plan does) nor read them for the engine
(``bidagent.store.engine_inputs`` does).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from bidagent.store.entities import TargetRecord
from bidagent.store.ledger import BaseBidRecord

__all__ = ["based_targets", "clear_base_bid", "rebase_entity", "set_base_bid"]


def set_base_bid(
    session: Session,
    entity_kind: str,
    entity_id: str,
    rule_name: str,
    base_bid: Decimal,
    *,
    now: datetime,
) -> None:
    """Store ``base_bid`` as the base of (entity, rule), replacing any earlier one."""
    existing = session.get(BaseBidRecord, (entity_kind, entity_id, rule_name))
    record = existing or BaseBidRecord(
        entity_kind=entity_kind, entity_id=entity_id, rule_name=rule_name, base_bid=base_bid
    )
    record.base_bid = base_bid
    record.set_at = now
    session.add(record)


def clear_base_bid(session: Session, entity_kind: str, entity_id: str, rule_name: str) -> None:
    """Drop the base of (entity, rule), if there is one."""
    existing = session.get(BaseBidRecord, (entity_kind, entity_id, rule_name))
    if existing is not None:
        session.delete(existing)


def rebase_entity(
    session: Session, entity_kind: str, entity_id: str, base_bid: Decimal | None, *, now: datetime
) -> int:
    """Every stored base of the entity (one per dayparting rule) becomes ``base_bid``; ``None``
    (the bid now inherits the ad group's default) drops them, so no restore overwrites it.
    Returns how many bases there were."""
    query = select(BaseBidRecord).where(
        BaseBidRecord.entity_kind == entity_kind, BaseBidRecord.entity_id == entity_id
    )
    records = list(session.exec(query))
    for record in records:
        if base_bid is None:
            session.delete(record)
            continue
        record.base_bid = base_bid
        record.set_at = now
        session.add(record)
    return len(records)


def based_targets(session: Session, profile_id: str) -> list[tuple[str, str]]:
    """(kind, id) of the targets of ``profile_id`` a dayparting rule holds a base bid for."""
    query = (
        select(BaseBidRecord.entity_kind, BaseBidRecord.entity_id)
        .join(
            TargetRecord,
            (TargetRecord.kind == BaseBidRecord.entity_kind)  # type: ignore[arg-type]
            & (TargetRecord.target_id == BaseBidRecord.entity_id),
        )
        .where(TargetRecord.profile_id == profile_id)
        .distinct()
    )
    return [(kind, entity_id) for kind, entity_id in session.exec(query)]
