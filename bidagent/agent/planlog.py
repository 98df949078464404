"""Write an engine plan into the ledger: change rows, review items, base bids. One transaction.

This is step 7 of the cycle (the intent log): after it commits, every change the cycle will send
exists as a ``planned`` row, and every held change points at the review item that holds it.
Nothing here talks to the Ads API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

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


def _change_row(
    cycle_id: int | None, proposal: Proposal, now: datetime, review_item_id: int | None
) -> dict[str, Any]:
    return {
        "cycle_id": cycle_id,
        "profile_id": proposal.profile_id,
        "entity_kind": proposal.entity_kind,
        "entity_id": proposal.entity_id,
        "entity_name": proposal.entity_name,
        "campaign_id": proposal.campaign_id,
        "ad_group_id": proposal.ad_group_id,
        "field": proposal.field,
        "old_value": value_text(proposal.old_value),
        "new_value": value_text(proposal.new_value),
        "payload": _jsonable(proposal.payload) if proposal.payload is not None else None,
        "rule_name": proposal.rule_name,
        "rule_file": proposal.rule_file,
        "rule_hash": proposal.rule_hash,
        "evidence": _jsonable(proposal.evidence),
        "notes": list(proposal.notes),
        "status": proposal.status,
        "superseded_by": proposal.superseded_by,
        "reason": (
            f"superseded by rule '{proposal.superseded_by}'" if proposal.superseded_by else None
        ),
        "review_item_id": review_item_id,
        "actor": "rule",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def write_plan(
    session: Session,
    cycle: CycleRecord | None,
    plan: Plan,
    *,
    now: datetime,
    hold_expiry: timedelta,
) -> int:
    """Record every proposal and review request of ``plan``; return the number of change rows.

    Review items are raised first so each held row is inserted already linked to its item, and
    every change row goes in with one multi-row insert: a large plan (tens of thousands of rows)
    costs well under a second, where one ORM object per row cost many. Callers that need the
    rows read them back by cycle (:func:`cycle_change_ids`).
    """
    cycle_id = cycle.id if cycle is not None else None
    held_keys = {p.review_key for p in plan.proposals if p.review_key}
    item_ids: dict[str, int] = {}
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
            hold_expiry=hold_expiry if request.dedupe_key in held_keys else None,
        )
        item_ids[request.dedupe_key] = item.id or 0
    holding = [item_ids[key] for key in held_keys if key in item_ids]
    if holding:
        session.flush()
        _supersede_older_holds(session, holding, cycle_id, now)
    rows = [
        _change_row(cycle_id, p, now, item_ids.get(p.review_key) if p.review_key else None)
        for p in plan.proposals
    ]
    if rows:
        session.execute(insert(ChangeRecord.__table__), rows)  # type: ignore[attr-defined]
    _write_base_bids(session, plan, now)
    return len(rows)


def _write_base_bids(session: Session, plan: Plan, now: datetime) -> None:
    for base in plan.base_bid_updates:
        key = (base.entity_kind, base.entity_id, base.rule_name)
        existing = session.get(BaseBidRecord, key)
        if base.action == "clear":
            if existing is not None:
                session.delete(existing)
        elif base.base_bid is not None:
            record = existing or BaseBidRecord(
                entity_kind=base.entity_kind,
                entity_id=base.entity_id,
                rule_name=base.rule_name,
                base_bid=base.base_bid,
            )
            record.base_bid = base.base_bid
            record.set_at = now
            session.add(record)


def _supersede_older_holds(
    session: Session, item_ids: list[int], cycle_id: int | None, now: datetime
) -> None:
    """An open item holds the current proposal only: changes it held from earlier cycles were
    planned on older data, so they end ``superseded`` rather than pile up for approval. Runs
    before this plan's rows are inserted, so every ``held`` row it finds is an older one."""
    session.execute(
        update(ChangeRecord.__table__)  # type: ignore[attr-defined]
        .where(
            col(ChangeRecord.review_item_id).in_(item_ids),
            col(ChangeRecord.status) == "held",
        )
        .values(
            status="superseded",
            reason=f"replaced by a fresher proposal in cycle {cycle_id}",
            updated_at=now,
        )
    )


def cycle_change_ids(session: Session, cycle_id: int, status: str = "planned") -> list[int]:
    """Ids of the changes of one cycle with ``status``, in plan order."""
    query = (
        select(ChangeRecord.id)
        .where(ChangeRecord.cycle_id == cycle_id, ChangeRecord.status == status)
        .order_by(ChangeRecord.id)  # type: ignore[arg-type]
    )
    return [i for i in session.exec(query) if i is not None]
