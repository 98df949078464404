"""Decide which differences a sync found are edits made outside bidagent, and record them.

The sync (``bidagent.store.sync_differences``) hands over every entity field whose listed value
is not the one the previous sync stored. A difference is ours when one of our changes to that
field applied since the previous sync set exactly the listed value; any other difference is
somebody else's edit (a person in the console, another tool): it becomes an ``external`` change
row, applied as found, so the change log shows it and the engine's cooldown leaves that field
alone for ``[guardrails] external_edit_cooldown`` (else ``cooldown``). A person's new bid on a
dayparted target becomes the base that rule restores at the end of its period. The API names no
user, so the row says "outside bidagent". Runs inside the sync's transaction; it must not call
the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import structlog

from bidagent.agent.cycle.change_requests import same_value
from bidagent.engine.guardrails.history import EXTERNAL_ACTOR
from bidagent.store import ChangeRecord, Session
from bidagent.store.base_bids import rebase_entity
from bidagent.store.changes import applied_since
from bidagent.store.sync_differences import FieldDifference
from bidagent.store.transitions import new_change

__all__ = ["record_external_edits"]

log = structlog.get_logger(__name__)

_WHO = "outside bidagent"  # the Ads API does not say which user or tool made an edit


def record_external_edits(
    session: Session, profile_id: str, differences: Sequence[FieldDifference], *, now: datetime
) -> int:
    """Record an ``external`` change for each difference no applied change of ours explains;
    return how many were recorded."""
    if not differences:
        return 0
    fields = sorted({d.field for d in differences})
    since = min((d.stored_at for d in differences if d.stored_at is not None), default=None)
    ours: dict[tuple[str, str, str], list[ChangeRecord]] = {}
    if since is not None:
        for change in applied_since(session, profile_id, fields, since):
            key = (change.entity_kind, change.entity_id, change.field)
            ours.setdefault(key, []).append(change)
    count = 0
    for difference in differences:
        mine = [
            c
            for c in ours.get((difference.entity_kind, difference.entity_id, difference.field), [])
            if difference.stored_at is None
            or (c.finished_at is not None and c.finished_at >= difference.stored_at)
        ]
        if any(same_value(difference.field, difference.live, c.new_value) for c in mine):
            continue
        # The value before the edit: ours when we changed the field since, else as synced.
        before = mine[-1].new_value if mine else difference.stored
        _record(session, profile_id, difference, before, now)
        count += 1
    return count


def _record(
    session: Session, profile_id: str, d: FieldDifference, before: str | None, now: datetime
) -> None:
    session.add(
        new_change(
            cycle_id=None,
            profile_id=profile_id,
            entity_kind=d.entity_kind,
            entity_id=d.entity_id,
            entity_name=d.entity_name,
            campaign_id=d.campaign_id,
            ad_group_id=d.ad_group_id,
            field=d.field,
            old_value=before,
            new_value=d.live,
            evidence={
                "by": _WHO,
                "previous_sync": None if d.stored_at is None else d.stored_at.isoformat(),
                "found_at": now.isoformat(),
            },
            status="applied",
            actor=EXTERNAL_ACTOR,
            reason=f"changed {_WHO} (found by sync)",
            created_at=now,
            updated_at=now,
            finished_at=now,
        )
    )
    rebased = 0
    if d.field == "bid":
        live = None if d.live is None else Decimal(d.live)
        rebased = rebase_entity(session, d.entity_kind, d.entity_id, live, now=now)
    log.warning(
        "external_edit_recorded", entity_kind=d.entity_kind, entity_id=d.entity_id,
        field=d.field, old=before, new=d.live, dayparting_bases=rebased,
    )  # fmt: skip
