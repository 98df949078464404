"""``GET /api/overview``: the overview's standing figures as JSON (viewers): each profile's last
cycle, last success and data age on the agent's clock, open review items by kind, the changes of
the last 24 hours by status, and the kill switches. ``?profile=ID`` narrows the counts to one
profile. The performance series stay on the page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bidagent.agent.service.kill_switch import GLOBAL_SCOPE
from bidagent.console.api.schemas import Overview, ProfileOut, SwitchOut
from bidagent.console.api.shaping import iso
from bidagent.console.auth import Principal
from bidagent.console.deps import console_state, require
from bidagent.console.metrics import data_age_days
from bidagent.store import Session
from bidagent.store.ledger_summary import change_status_counts, open_items_by_kind
from bidagent.store.profile_status import profile_statuses, switch_rows

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["overview"])


@router.get("/overview")
def overview(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Annotated[str | None, Query(max_length=32)] = None,
) -> Overview:
    """Where every profile (or ``profile``) stands, and what waits for people."""
    state = console_state(request)
    now = state.clock()
    with Session(state.engine) as session:
        statuses = profile_statuses(session)
        if profile is not None and profile not in {s.profile_id for s in statuses}:
            raise HTTPException(404, f"no profile {profile!r}")
        kinds = open_items_by_kind(session, profile_id=profile)
        recent = change_status_counts(session, since=now - timedelta(hours=24), profile_id=profile)
        switches = switch_rows(session)
    paused = {s.scope for s in switches if s.paused}
    profiles = [
        ProfileOut(
            profile_id=s.profile_id,
            name=s.name,
            timezone=s.timezone,
            currency_code=s.currency_code,
            last_cycle_id=s.last_cycle.id if s.last_cycle else None,
            last_cycle_outcome=s.last_cycle.outcome if s.last_cycle else None,
            last_cycle_finished_at=iso(s.last_cycle.finished_at) if s.last_cycle else None,
            last_success_finished_at=iso(s.last_success.finished_at) if s.last_success else None,
            data_age_days=data_age_days(s, now),
            paused=GLOBAL_SCOPE in paused or s.profile_id in paused,
        )
        for s in statuses
        if profile is None or s.profile_id == profile
    ]
    return Overview(
        now=now.isoformat(),
        profiles=profiles,
        open_items=sum(kinds.values()),
        open_items_by_kind=dict(sorted(kinds.items())),
        changes_last_24h=dict(recent),
        switches=[
            SwitchOut(
                scope=s.scope,
                paused=s.paused,
                reason=s.reason,
                changed_by=s.changed_by,
                changed_at=iso(s.changed_at),
            )
            for s in switches
        ],
    )
