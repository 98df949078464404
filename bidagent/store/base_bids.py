"""Base bids of dayparting rules: the bid a time-of-day rule multiplies, one per (entity, rule).

Owns setting and clearing a stored base bid inside the caller's transaction. It must not decide
when a base is set or cleared (the engine's plan does) nor read them for the engine
(``bidagent.store.engine_inputs`` does).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from bidagent.store.ledger import BaseBidRecord

__all__ = ["clear_base_bid", "set_base_bid"]


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
