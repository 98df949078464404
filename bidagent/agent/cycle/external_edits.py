"""Detect edits made outside bidagent (a person in the console, another tool) after a sync.

For every entity field we changed, compare the freshly synced value with the value we last
recorded for it. A difference is somebody else's edit: record it as an ``external`` change, so the
change log shows it and the engine's cooldown leaves that field alone for a while.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from bidagent.agent.cycle.change_requests import same_value
from bidagent.store import Session
from bidagent.store.changes import latest_applied_change_ids, load_changes, synced_value
from bidagent.store.transitions import new_change

__all__ = ["record_external_edits"]

log = structlog.get_logger(__name__)


# The fields a person or another tool can edit that our changes also set.
_EDITABLE_FIELDS = ("bid", "budget", "state", "default_bid")


def record_external_edits(session: Session, profile_id: str, *, now: datetime) -> int:
    """Record an ``external`` change for each field whose synced value differs from ours."""
    ids = latest_applied_change_ids(session, profile_id, _EDITABLE_FIELDS)
    if not ids:
        return 0
    count = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for change in load_changes(session, chunk):
            found, value = synced_value(session, change.entity_kind, change.entity_id, change.field)
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
