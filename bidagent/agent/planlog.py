"""Write an engine plan into the ledger: change rows, review items, base bids. One transaction.

This is step 7 of the cycle (the intent log): after it commits, every change the cycle will send
exists as a ``planned`` row, and every held change points at the review item that holds it.
Nothing here talks to the Ads API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from bidagent.agent.review import raise_review
from bidagent.engine import Plan, Proposal
from bidagent.store import BaseBidRecord, ChangeRecord, CycleRecord

__all__ = ["value_text", "write_plan"]


def value_text(value: Decimal | str | None) -> str | None:
    """Canonical text of a change value (see ``bidagent.store.ledger``)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _change_row(cycle_id: int | None, proposal: Proposal, now: datetime) -> ChangeRecord:
    return ChangeRecord(
        cycle_id=cycle_id,
        profile_id=proposal.profile_id,
        entity_kind=proposal.entity_kind,
        entity_id=proposal.entity_id,
        entity_name=proposal.entity_name,
        campaign_id=proposal.campaign_id,
        ad_group_id=proposal.ad_group_id,
        field=proposal.field,
        old_value=value_text(proposal.old_value),
        new_value=value_text(proposal.new_value),
        payload=_jsonable(proposal.payload) if proposal.payload is not None else None,
        rule_name=proposal.rule_name,
        rule_file=proposal.rule_file,
        rule_hash=proposal.rule_hash,
        evidence=_jsonable(proposal.evidence),
        notes=list(proposal.notes),
        status=proposal.status,
        superseded_by=proposal.superseded_by,
        reason=f"superseded by rule '{proposal.superseded_by}'" if proposal.superseded_by else None,
        actor="rule",
        created_at=now,
        updated_at=now,
    )


def write_plan(
    session: Session,
    cycle: CycleRecord | None,
    plan: Plan,
    *,
    now: datetime,
    hold_expiry: timedelta,
) -> list[ChangeRecord]:
    """Record every proposal and review request of ``plan``; return the change rows (flushed)."""
    cycle_id = cycle.id if cycle is not None else None
    rows: list[ChangeRecord] = []
    by_key: dict[str, list[ChangeRecord]] = {}
    for proposal in plan.proposals:
        row = _change_row(cycle_id, proposal, now)
        session.add(row)
        rows.append(row)
        if proposal.review_key:
            by_key.setdefault(proposal.review_key, []).append(row)
    session.flush()
    for request in plan.reviews:
        item = raise_review(
            session,
            kind=request.kind,
            severity=request.severity,
            summary=request.summary,
            dedupe_key=request.dedupe_key,
            profile_id=cycle.profile_id if cycle is not None else None,
            entity_kind=request.entity_kind,
            entity_id=request.entity_id,
            entity_name=request.entity_name,
            rule_name=request.rule_name,
            evidence=_jsonable(request.evidence),
            now=now,
            hold_expiry=hold_expiry if by_key.get(request.dedupe_key) else None,
        )
        fresh = by_key.get(request.dedupe_key, [])
        for row in fresh:
            row.review_item_id = item.id
            session.add(row)
        if fresh:
            _supersede_older_holds(session, item.id or 0, fresh, cycle_id, now)
    for update in plan.base_bid_updates:
        key = (update.entity_kind, update.entity_id, update.rule_name)
        existing = session.get(BaseBidRecord, key)
        if update.action == "clear":
            if existing is not None:
                session.delete(existing)
        elif update.base_bid is not None:
            record = existing or BaseBidRecord(
                entity_kind=update.entity_kind,
                entity_id=update.entity_id,
                rule_name=update.rule_name,
                base_bid=update.base_bid,
            )
            record.base_bid = update.base_bid
            record.set_at = now
            session.add(record)
    return rows


def _supersede_older_holds(
    session: Session, item_id: int, fresh: list[ChangeRecord], cycle_id: int | None, now: datetime
) -> None:
    """An open item holds the current proposal only: changes it held from earlier cycles were
    planned on older data, so they end ``superseded`` rather than pile up for approval."""
    keep = {row.id for row in fresh}
    older = session.exec(
        select(ChangeRecord).where(
            ChangeRecord.review_item_id == item_id, ChangeRecord.status == "held"
        )
    ).all()
    for row in older:
        if row.id in keep:
            continue
        row.status = "superseded"
        row.reason = f"replaced by a fresher proposal in cycle {cycle_id}"
        row.updated_at = now
        session.add(row)


def cycle_change_ids(session: Session, cycle_id: int, status: str = "planned") -> list[int]:
    """Ids of the changes of one cycle with ``status``, in plan order."""
    query = (
        select(ChangeRecord.id)
        .where(ChangeRecord.cycle_id == cycle_id, ChangeRecord.status == status)
        .order_by(ChangeRecord.id)  # type: ignore[arg-type]
    )
    return [i for i in session.exec(query) if i is not None]
