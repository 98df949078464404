"""The change log over JSON: ``GET /api/changes`` (the change log's filters, newest first, keyset
paged with ``before_id``), ``GET /api/changes/{id}`` (one change in full) and
``POST /api/changes/{id}/revert`` (approvers: what ``bidagent revert ID --yes --by NAME`` does,
through the same function, recording the user).

A revert the plan skips (the entity changed since, an external edit, already reverted) is 200
with ``reverted: false`` and the reason; a change that was never applied is 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bidagent.agent.cycle.revert import revert_summary
from bidagent.console.api.schemas import ChangeDetail, ChangePage, RevertOut
from bidagent.console.api.shaping import change_detail, change_out, outcome_out
from bidagent.console.auth import Principal
from bidagent.console.decisions import revert
from bidagent.console.deps import console_state, require
from bidagent.console.state import ConsoleState
from bidagent.errors import BidAgentError
from bidagent.store import Session
from bidagent.store.change_log import (
    ChangeFilter,
    ChangeLogRow,
    change_log_row,
    count_changes,
    page_changes,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/changes", tags=["changes"])


def change_filter(
    profile: Annotated[str | None, Query(max_length=32)] = None,
    campaign: Annotated[str | None, Query(max_length=32)] = None,
    ad_group: Annotated[str | None, Query(max_length=32)] = None,
    entity: Annotated[str | None, Query(max_length=256)] = None,
    rule: Annotated[str | None, Query(max_length=128)] = None,
    field: Annotated[str | None, Query(max_length=24)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    actor: Annotated[str | None, Query(max_length=16)] = None,
    cycle: Annotated[int | None, Query(ge=1)] = None,
    review_item: Annotated[int | None, Query(ge=1)] = None,
    since: Annotated[datetime | None, Query(description="created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="created before (ISO 8601)")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> ChangeFilter:
    """The change log's filters from the query string."""
    return ChangeFilter(
        profile_id=profile, campaign_id=campaign, ad_group_id=ad_group, entity_id=entity,
        rule=rule, field=field, status=status, actor=actor, cycle_id=cycle,
        review_item_id=review_item, created_from=since, created_until=until, text=q or None,
    )  # fmt: skip


@router.get("")
def list_changes(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    where: Annotated[ChangeFilter, Depends(change_filter)],
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ChangePage:
    """Changes matching every filter, newest first; pass ``next_before_id`` back as
    ``before_id`` for the next page (``total`` counts every match)."""
    state = console_state(request)
    with Session(state.engine) as session:
        total = count_changes(session, where)
        rows = page_changes(session, where, before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    shown = rows[:limit]
    next_id = shown[-1].change.id if more and shown else None
    return ChangePage(total=total, next_before_id=next_id, changes=[change_out(r) for r in shown])


def _row(state: ConsoleState, change_id: int) -> ChangeLogRow:
    """The change's row with its names, or 404."""
    with Session(state.engine) as session:
        row = change_log_row(session, change_id)
    if row is None:
        raise HTTPException(404, f"change {change_id} does not exist")
    return row


@router.get("/{change_id}")
def get_change(
    request: Request, change_id: int, principal: Annotated[Principal, Depends(require("viewer"))]
) -> ChangeDetail:
    """One change in full: evidence, rule file and hash, payload, times."""
    return change_detail(_row(console_state(request), change_id))


@router.post("/{change_id}/revert")
def revert_change(
    request: Request, change_id: int, principal: Annotated[Principal, Depends(require("approver"))]
) -> RevertOut:
    """Put an applied change back (archive what it created), unless its entity changed since."""
    state = console_state(request)
    row = _row(state, change_id)
    try:
        items, outcomes = revert(state, [change_id], by=principal.name)
    except BidAgentError as exc:  # the profile busy with a cycle, the Ads API down
        raise HTTPException(409, str(exc)) from None
    if not items:
        raise HTTPException(409, f"change {change_id} is {row.change.status}: nothing to revert")
    skipped = items[0].skip_reason
    reverted = any(o.status == "applied" for o in outcomes)
    return RevertOut(
        change_id=change_id, reverted=reverted, skipped=skipped,
        outcomes=[outcome_out(o) for o in outcomes], summary=revert_summary(items, outcomes),
    )  # fmt: skip
