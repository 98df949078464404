"""The review queue over JSON: ``GET /api/review-items`` (filtered, sorted, paged; the queue
page's filters), ``GET /api/review-items/{id}`` (with its held and decided changes), and the
decisions: ``POST /api/review-items/{id}/approve`` (all held changes, or ``changes`` only,
rejecting the rest), ``.../reject``, ``.../resolve``, and ``POST /api/review-items/decide`` for
several items at once (all or none).

Reads need the viewer role, decisions the approver role; the ledger records the token's (or the
session's) user as the decider, exactly as ``bidagent review ... --by NAME`` does, through the
same functions (:mod:`bidagent.console.decisions`). A decision that cannot be taken (already
decided, a change the item does not hold, the profile busy with a cycle, the Ads API down) is 409
with the reason, as the CLI exits 1 with it; an approval whose change was refused by the apply
path is 200 with ``refused`` and the outcomes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bidagent.console.api.schemas import (
    ApproveBody,
    BatchBody,
    DecisionOut,
    DecisionsOut,
    ItemDetail,
    ItemPage,
    NoteBody,
)
from bidagent.console.api.shaping import change_out, decision_out, item_out
from bidagent.console.auth import Principal
from bidagent.console.decisions import decide_item_changes, decide_items
from bidagent.console.deps import console_state, require
from bidagent.console.pages.review import queue_params
from bidagent.console.state import ConsoleState
from bidagent.errors import BidAgentError
from bidagent.store import CHANGE_STATUSES, Session
from bidagent.store.change_log import ChangeFilter, page_changes
from bidagent.store.review_items import item_by_id
from bidagent.store.review_queue import (
    ItemFilter,
    Sort,
    change_status_counts_by_item,
    count_items,
    item_campaigns,
    page_items,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/review-items", tags=["review"])
_DETAIL_CHANGES = tuple(s for s in CHANGE_STATUSES if s != "superseded")
_MAX_DETAIL_CHANGES = 5000


@router.get("")
def list_items(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    where: Annotated[ItemFilter, Depends(queue_params)],
    sort: Sort = "oldest",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    """Items matching the filters (open ones unless ``status`` says otherwise; ``all`` for
    every status; ``rule=-`` and ``campaign=-`` for items without one), one page."""
    state = console_state(request)
    with Session(state.engine) as session:
        total = count_items(session, where)
        rows = page_items(session, where, sort=sort, offset=offset, limit=limit)
    url = state.settings.console.public_url
    items = [item_out(r.item, r.campaign_id, r.change_counts, url) for r in rows]
    return ItemPage(total=total, limit=limit, offset=offset, items=items)


def _exists(state: ConsoleState, item_id: int) -> None:
    with Session(state.engine) as session:
        if item_by_id(session, item_id) is None:
            raise HTTPException(404, f"review item {item_id} does not exist")


@router.get("/{item_id}")
def get_item(
    request: Request, item_id: int, principal: Annotated[Principal, Depends(require("viewer"))]
) -> ItemDetail:
    """One item with its held and decided changes (up to 5,000; its superseded re-proposals and
    the rest: ``GET /api/changes?review_item=ID``), oldest first."""
    state = console_state(request)
    with Session(state.engine) as session:
        item = item_by_id(session, item_id)
        if item is None:
            raise HTTPException(404, f"review item {item_id} does not exist")
        counts = change_status_counts_by_item(session, [item_id]).get(item_id, {})
        where = ChangeFilter(review_item_id=item_id, statuses=_DETAIL_CHANGES)
        rows = page_changes(session, where, before_id=None, limit=_MAX_DETAIL_CHANGES)[::-1]
        campaign = item_campaigns(session, [item_id]).get(item_id)
    body = item_out(item, campaign, counts, state.settings.console.public_url)
    return ItemDetail(**body.model_dump(), changes=[change_out(r) for r in rows])


def _refusal(exc: BidAgentError) -> HTTPException:
    return HTTPException(409, str(exc))


@router.post("/{item_id}/approve")
def approve(
    request: Request,
    item_id: int,
    body: ApproveBody,
    principal: Annotated[Principal, Depends(require("approver"))],
) -> DecisionOut:
    """Apply the item's held changes (or only ``changes``, rejecting the rest of the item),
    each only if its entity still has the old value; a change set is decided whole."""
    state = console_state(request)
    _exists(state, item_id)
    if body.changes is None and body.reject is not None:
        raise HTTPException(422, "reject needs changes: the ids to approve")
    try:
        if body.changes is None:
            (made,) = decide_items(state, [item_id], "approve", by=principal.name, note=body.note)
        else:
            made = decide_item_changes(
                state, item_id, body.changes, body.reject, by=principal.name, note=body.note
            )
    except BidAgentError as exc:
        raise _refusal(exc) from None
    return decision_out(made)


def _decide_one(
    request: Request, item_id: int, decision: str, by: str, note: str | None
) -> DecisionOut:
    state = console_state(request)
    _exists(state, item_id)
    try:
        (made,) = decide_items(state, [item_id], decision, by=by, note=note)  # type: ignore[arg-type]
    except BidAgentError as exc:
        raise _refusal(exc) from None
    return decision_out(made)


@router.post("/{item_id}/reject")
def reject(
    request: Request,
    item_id: int,
    body: NoteBody,
    principal: Annotated[Principal, Depends(require("approver"))],
) -> DecisionOut:
    """Reject every held change of the item (kept out for the rule's cooldown)."""
    return _decide_one(request, item_id, "reject", principal.name, body.note)


@router.post("/{item_id}/resolve")
def resolve(
    request: Request,
    item_id: int,
    body: NoteBody,
    principal: Annotated[Principal, Depends(require("approver"))],
) -> DecisionOut:
    """Close an item that holds no changes (an alert, a data or API problem) once dealt with."""
    return _decide_one(request, item_id, "resolve", principal.name, body.note)


@router.post("/decide")
def decide_batch(
    request: Request,
    body: BatchBody,
    principal: Annotated[Principal, Depends(require("approver"))],
) -> DecisionsOut:
    """One decision for several items: all of them, or (409, naming why) none."""
    state = console_state(request)
    try:
        made = decide_items(state, body.item_ids, body.decision, by=principal.name, note=body.note)
    except BidAgentError as exc:
        raise _refusal(exc) from None
    return DecisionsOut(decisions=[decision_out(d) for d in made])
