"""One review item (``/review/{id}``): its facts and evidence, and a held batch as its list of
changes with checkboxes, so an approver can approve part of it and reject the rest
(``POST /review/{id}/decide``); its decided changes below, and its superseded re-proposals
folded behind an "N superseded" toggle that loads them on demand (``/review/{id}/superseded``).

Each change row shows its campaign, ad group, keyword text or targeting, match type, old → new
and the % step. Changes of one change set are marked alike; approving or rejecting one takes the
others along (``static/review.js`` ticks them together, and the decision itself closes over
sets, :mod:`bidagent.agent.review.change_choice`). The form names every held change it showed,
so a change the person never saw is never rejected with "the rest": the decision is refused
instead. Deciding goes through :mod:`bidagent.console.decisions`. It must not hold SQL.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bidagent.agent.review.change_choice import change_set_of, close_over_sets
from bidagent.console.auth import Principal
from bidagent.console.decisions import decide_item_changes, decide_items
from bidagent.console.deps import console_state, require
from bidagent.console.render import error_page, page
from bidagent.errors import BidAgentError, ReviewError
from bidagent.store import CHANGE_STATUSES, ReviewItemRecord, Session
from bidagent.store.change_log import ChangeFilter, ChangeLogRow, page_changes
from bidagent.store.review_items import changes_of, item_by_id
from bidagent.store.review_queue import change_status_counts_by_item

__all__ = ["SETTLED_SHOWN", "SUPERSEDED_PAGE", "router"]

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
SETTLED_SHOWN = 500  # decided changes listed on the page; the API pages through the rest
SUPERSEDED_PAGE = 200
_SETTLED = tuple(s for s in CHANGE_STATUSES if s not in ("held", "superseded"))


def _rows(
    session: Session, item_id: int, statuses: tuple[str, ...], *, limit: int,
    before_id: int | None = None, oldest_first: bool = True,
) -> list[ChangeLogRow]:  # fmt: skip
    if limit <= 0:
        return []
    where = ChangeFilter(review_item_id=item_id, statuses=statuses)
    rows = page_changes(session, where, before_id=before_id, limit=limit)
    return rows[::-1] if oldest_first else rows


def _set_labels(rows: list[ChangeLogRow]) -> dict[str, str]:
    """A short label per change set among ``rows`` (``set 1``, ``set 2``...), in row order."""
    labels: dict[str, str] = {}
    for row in rows:
        key = change_set_of(row.change)
        if key is not None and key not in labels:
            labels[key] = f"set {len(labels) + 1}"
    return labels


def item_context(session: Session, item: ReviewItemRecord) -> dict[str, Any]:
    """What the item's page shows."""
    item_id = item.id or 0
    counts = change_status_counts_by_item(session, [item_id]).get(item_id, {})
    held = _rows(session, item_id, ("held",), limit=counts.get("held", 0))
    settled_total = sum(n for s, n in counts.items() if s in _SETTLED)
    settled = _rows(session, item_id, _SETTLED, limit=min(settled_total, SETTLED_SHOWN))
    labels = _set_labels(held + settled)
    return {
        "item": item,
        "counts": dict(sorted(counts.items())),
        "held": held,
        "settled": settled,
        "settled_total": settled_total,
        "superseded_total": counts.get("superseded", 0),
        "set_labels": labels,
        "evidence": sorted((item.evidence or {}).items()),
    }


@router.get("/review/{item_id}", response_class=HTMLResponse)
def review_item(
    request: Request, item_id: int, principal: Annotated[Principal, Depends(require("viewer"))]
) -> HTMLResponse:
    """The item's page."""
    state = console_state(request)
    with Session(state.engine) as session:
        item = item_by_id(session, item_id)
        if item is None:
            return error_page(request, 404, f"review item {item_id} does not exist")
        context = item_context(session, item)
    return page(request, "review_item.html", context)


@router.get("/review/{item_id}/superseded", response_class=HTMLResponse)
def review_item_superseded(
    request: Request,
    item_id: int,
    principal: Annotated[Principal, Depends(require("viewer"))],
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """A page of the item's superseded changes, newest first (the toggle's htmx partial)."""
    state = console_state(request)
    with Session(state.engine) as session:
        rows = _rows(session, item_id, ("superseded",), limit=SUPERSEDED_PAGE + 1,
                     before_id=before, oldest_first=False)  # fmt: skip
    shown = rows[:SUPERSEDED_PAGE]
    more_before = shown[-1].change.id if len(rows) > SUPERSEDED_PAGE else None
    context = {"rows": shown, "item_id": item_id, "more_before": more_before}
    return page(request, "review_superseded.html", context)


@router.post("/review/{item_id}/decide", response_model=None)
def review_item_decide(
    request: Request,
    item_id: int,
    principal: Annotated[Principal, Depends(require("approver"))],
    action: Annotated[Literal["approve", "reject", "resolve"], Form()],
    change_ids: Annotated[list[int], Form(max_length=100_000)] = [],  # noqa: B006
    shown_ids: Annotated[list[int], Form(max_length=100_000)] = [],  # noqa: B006
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Approve the checked changes and reject the other shown ones, reject every shown one, or
    resolve an item that holds none; back to the item's page, which shows the outcome."""
    state = console_state(request)
    by, text = principal.name, note or None
    back = f"/review/{item_id}"
    try:
        if action == "resolve":
            decide_items(state, [item_id], "resolve", by=by, note=text)
        elif action == "reject":
            decide_item_changes(state, item_id, [], shown_ids, by=by, note=text)
        else:
            if not change_ids:
                raise ReviewError("check at least one change to approve, or reject them all")
            with Session(state.engine) as session:
                held = [c for c in changes_of(session, item_id) if c.status == "held"]
            # Unchecked partners of a checked change come along (a change set is decided whole).
            rest = sorted(set(shown_ids) - close_over_sets(held, change_ids))
            decide_item_changes(state, item_id, change_ids, rest, by=by, note=text)
    except BidAgentError as exc:
        return page(request, "review_refused.html", {"message": str(exc), "back": back},
                    status_code=409)  # fmt: skip
    log.info("console_review_item_decided", review_id=item_id, action=action, by=by,
             checked=len(change_ids), shown=len(shown_ids))  # fmt: skip
    return RedirectResponse(back, status_code=303)
