"""The review queue (``/review``): open items, filtered, sorted, paged 50 at a time, flat or
grouped by kind, rule, campaign or severity; multi-select with approve, reject or resolve and a
note (``POST /review/decide``); keyboard shortcuts (``static/review.js``, listed on the page).

Grouped, the page lists the groups with their counts, and each group's items load when it is
opened (``/review/list``, an htmx partial, also the pager's target); changing a filter or the
grouping swaps the queue in place (``HX-Target: queue``) and keeps the address. Each row counts
the item's held changes and folds its superseded re-proposals into a count (the item's page
lists them behind a toggle). Deciding goes through :mod:`bidagent.console.decisions`, the CLI's
functions, as the signed-in approver; a batch is all or nothing, and afterwards the queue shows
what became of each item. It must not hold SQL (:mod:`bidagent.store.review_queue`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bidagent.console.auth import Principal
from bidagent.console.decisions import decide_items
from bidagent.console.deps import console_state, require
from bidagent.console.render import page
from bidagent.errors import BidAgentError
from bidagent.store import REVIEW_KINDS, REVIEW_STATUSES, Session
from bidagent.store.review_items import item_by_id
from bidagent.store.review_queue import (
    GROUPINGS,
    SEVERAL_CAMPAIGNS,
    SORTS,
    Grouping,
    ItemFilter,
    QueueRow,
    Sort,
    campaign_names,
    count_items,
    group_items,
    page_items,
)

__all__ = ["NONE_KEY", "PAGE_SIZE", "queue_params", "router"]

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
NONE_KEY = "-"  # in a query string: "items without one" (no rule, no campaign)
_MAX_NOTICE = 200
Layout = Literal["none", "kind", "rule", "campaign", "severity"]
PageNo = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]  # the queue's ``?page=N``


def _key(value: str | None) -> str | None:
    """A filter from the query string: absent or empty is any, ``-`` is none."""
    if not value:
        return None
    return "" if value == NONE_KEY else value


def queue_params(
    status: Annotated[str, Query(max_length=16)] = "open",
    kind: Annotated[str | None, Query(max_length=24)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    rule: Annotated[str | None, Query(max_length=128)] = None,
    profile: Annotated[str | None, Query(max_length=32)] = None,
    campaign: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> ItemFilter:
    """The queue's filters from the query string (``status=all`` for every status)."""
    return ItemFilter(
        status=None if status == "all" else status, kind=kind or None,
        severity=severity or None, rule=_key(rule), profile_id=profile or None,
        campaign_id=_key(campaign), text=q or None,
    )  # fmt: skip


def _query(where: ItemFilter, **extra: Any) -> dict[str, str]:
    """The query string of ``where`` (and ``extra``), the inverse of :func:`queue_params`."""

    def back(value: str | None) -> str | None:
        return NONE_KEY if value == "" else value

    pairs = {
        "status": where.status or "all", "kind": where.kind, "severity": where.severity,
        "rule": back(where.rule), "profile": where.profile_id,
        "campaign": back(where.campaign_id), "q": where.text, **extra,
    }  # fmt: skip
    return {k: str(v) for k, v in pairs.items() if v is not None and v != ""}


def _group_filter(where: ItemFilter, by: str, key: str | None) -> ItemFilter:
    field = {"kind": "kind", "severity": "severity", "rule": "rule", "campaign": "campaign_id"}
    return replace(where, **{field[by]: "" if key is None else key})


def _campaign_label(campaign_id: str | None, names: dict[str, str]) -> str:
    if campaign_id is None:
        return "no campaign"
    if campaign_id == SEVERAL_CAMPAIGNS:
        return "several campaigns"
    return names.get(campaign_id, campaign_id)


def _rows(found: list[QueueRow], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "item": r.item,
            "campaign_id": r.campaign_id,
            "campaign": _campaign_label(r.campaign_id, names),
            "held": r.change_counts.get("held", 0),
            "superseded": r.change_counts.get("superseded", 0),
            "settled": r.change_count
            - r.change_counts.get("held", 0)
            - r.change_counts.get("superseded", 0),
        }
        for r in found
    ]


def _items_context(
    session: Session, where: ItemFilter, sort: Sort, page_no: int, slot: str
) -> dict[str, Any]:
    """One page of items matching ``where``: the rows, the pager and where it points."""
    total = count_items(session, where)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page_no = min(max(page_no, 1), pages)
    found = page_items(session, where, sort=sort, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    names = campaign_names(session, [r.campaign_id for r in found if r.campaign_id])

    def link(path: str, to: int, **extra: Any) -> str | None:
        if not 1 <= to <= pages or to == page_no:
            return None
        return f"{path}?{urlencode({**_query(where, sort=sort, **extra), 'page': to})}"

    return {
        "rows": _rows(found, names),
        "total": total,
        "page_no": page_no,
        "pages": pages,
        "first": (page_no - 1) * PAGE_SIZE + 1,
        "slot": slot,
        # htmx swaps the partial in place; without scripts the link opens the full page.
        "prev": (link("/review/list", page_no - 1, slot=slot), link("/review", page_no - 1)),
        "next": (link("/review/list", page_no + 1, slot=slot), link("/review", page_no + 1)),
    }


def _groups_context(
    session: Session, where: ItemFilter, by: Grouping, sort: Sort
) -> list[dict[str, Any]]:
    groups = group_items(session, where, by)
    names = campaign_names(session, [g.key for g in groups if g.key]) if by == "campaign" else {}
    shown = []
    for n, group in enumerate(groups):
        chosen = _group_filter(where, by, group.key)
        label = (
            _campaign_label(group.key, names)
            if by == "campaign"
            else (group.key if group.key is not None else f"no {by}")
        )
        query = urlencode(_query(chosen, sort=sort, slot=f"g{n}"))
        full = urlencode(_query(chosen, sort=sort))
        shown.append({"key": group.key, "label": label, "count": group.count, "slot": f"g{n}",
                      "url": f"/review/list?{query}", "page_url": f"/review?{full}"})  # fmt: skip
    return shown


def _just_decided(session: Session, decided: str | None) -> list[Any]:
    ids = [int(p) for p in (decided or "").split(",") if p.isdigit()][:_MAX_NOTICE]
    return [item for item in (item_by_id(session, i) for i in ids) if item is not None]


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    where: Annotated[ItemFilter, Depends(queue_params)],
    by: Layout = "none",
    sort: Sort = "oldest",
    page_no: PageNo = 1,
    decided: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    """The queue page, or (``HX-Target: queue``) just the queue for an htmx swap."""
    state = console_state(request)
    with Session(state.engine) as session:
        context: dict[str, Any] = {
            "where": where,
            "by": by,
            "sort": sort,
            "groups": None if by == "none" else _groups_context(session, where, by, sort),
            "items": _items_context(session, where, sort, page_no, "flat")
            if by == "none"
            else None,
            "decided": _just_decided(session, decided),
        }
    context.update(
        groupings=("none", *GROUPINGS), sorts=SORTS, kinds=REVIEW_KINDS,
        statuses=(*REVIEW_STATUSES, "all"), severities=("critical", "warning", "info"),
        back=f"/review?{urlencode(_query(where, by=by, sort=sort))}",
        rule_value=_query(where).get("rule", ""), campaign_value=_query(where).get("campaign", ""),
    )  # fmt: skip
    if request.headers.get("HX-Target") == "queue":
        return page(request, "review_queue.html", context)
    return page(request, "review.html", context)


@router.get("/review/list", response_class=HTMLResponse)
def review_list(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    where: Annotated[ItemFilter, Depends(queue_params)],
    sort: Sort = "oldest",
    page_no: PageNo = 1,
    slot: Annotated[str, Query(pattern=r"^[a-z0-9]{1,12}$")] = "flat",
) -> HTMLResponse:
    """One page of items (a group's, or the flat queue's): the htmx partial behind groups and
    the pager."""
    state = console_state(request)
    with Session(state.engine) as session:
        items = _items_context(session, where, sort, page_no, slot)
    return page(request, "review_items.html", {"items": items})


def _back(target: str, decided: str | None = None) -> str:
    """``target`` when it is the queue on this console (else the queue), with ``decided`` in
    place of any ``decided`` it had."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path != "/review":
        return "/review" + (f"?{urlencode({'decided': decided})}" if decided else "")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "decided"]
    query += [("decided", decided)] if decided else []
    return "/review" + (f"?{urlencode(query)}" if query else "")


@router.post("/review/decide", response_model=None)
def review_decide(
    request: Request,
    principal: Annotated[Principal, Depends(require("approver"))],
    decision: Annotated[Literal["approve", "reject", "resolve"], Form()],
    item_ids: Annotated[list[int], Form(max_length=5000)] = [],  # noqa: B006 - FastAPI copies it
    note: Annotated[str | None, Form(max_length=2000)] = None,
    back: Annotated[str, Form(max_length=4000)] = "/review",
) -> Response:
    """Decide the selected items, all or none; back to the queue showing what became of them."""
    state = console_state(request)
    try:
        made = decide_items(state, item_ids, decision, by=principal.name, note=note or None)
    except BidAgentError as exc:
        context = {"message": str(exc), "back": _back(back)}
        return page(request, "review_refused.html", context, status_code=409)
    log.info("console_review_decided", by=principal.name, decision=decision, items=len(made))
    ids = ",".join(str(d.item_id) for d in made)
    return RedirectResponse(_back(back, ids), status_code=303)
