"""Detect edits made outside bidagent (a person in the console, another tool) after a sync.

For every entity field we changed, compare the freshly synced value with the value we last
recorded for it. A difference is somebody else's edit: record it as an ``external`` change, so the
change log shows it and the engine's cooldown leaves that field alone for a while.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from bidagent.agent.cycle.change_requests import same_value
from bidagent.store import AdGroupRecord, CampaignRecord, ChangeRecord, TargetRecord
from bidagent.store.transitions import new_change

__all__ = ["record_external_edits"]

log = structlog.get_logger(__name__)


def _live(session: Session, kind: str, entity_id: str, field: str) -> tuple[bool, Any]:
    """(found, value) of one entity field in the freshly synced tables."""
    record: Any
    if kind in ("keyword", "product_target"):
        record = session.get(TargetRecord, (kind, entity_id))
    elif kind == "campaign":
        record = session.get(CampaignRecord, entity_id)
    elif kind == "ad_group":
        record = session.get(AdGroupRecord, entity_id)
    else:
        return False, None
    if record is None:
        return False, None
    value = getattr(record, field, None)
    if isinstance(value, Decimal):
        return True, format(value, "f")
    return True, value


def record_external_edits(session: Session, profile_id: str, *, now: datetime) -> int:
    """Record an ``external`` change for each field whose synced value differs from ours."""
    latest = (
        select(func.max(ChangeRecord.id))
        .where(
            ChangeRecord.profile_id == profile_id,
            col(ChangeRecord.status).in_(("applied",)),
            col(ChangeRecord.field).in_(("bid", "budget", "state", "default_bid")),
        )
        .group_by(ChangeRecord.entity_kind, ChangeRecord.entity_id, ChangeRecord.field)
    )
    ids = [i for i in session.exec(latest) if i is not None]
    if not ids:
        return 0
    count = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for change in session.exec(select(ChangeRecord).where(col(ChangeRecord.id).in_(chunk))):
            found, value = _live(session, change.entity_kind, change.entity_id, change.field)
            if not found or same_value(change.field, value, change.new_value):
                continue
            if value is None and change.field == "bid":
                continue  # bid cleared to inherit the default: not a value we can compare
            session.add(
                new_change(
                    cycle_id=None,
                    profile_id=profile_id,
                    entity_kind=change.entity_kind,
                    entity_id=change.entity_id,
                    entity_name=change.entity_name,
                    campaign_id=change.campaign_id,
                    ad_group_id=change.ad_group_id,
                    field=change.field,
                    old_value=change.new_value,
                    new_value=None if value is None else str(value),
                    status="applied",
                    actor="external",
                    reason="changed outside bidagent (found by sync)",
                    created_at=now,
                    updated_at=now,
                    finished_at=now,
                )
            )
            count += 1
            log.warning(
                "external_edit_recorded",
                entity_kind=change.entity_kind,
                entity_id=change.entity_id,
                field=change.field,
                ours=change.new_value,
                live=value,
            )
    return count
