"""The change log (``/changes``): every change, filtered and paged, newest first.

Filters (query parameters, all optional, all combined): ``profile``, ``campaign`` and
``ad_group`` (ids: changes under or to them), ``rule``, ``field``, ``status``, ``actor`` (``rule``,
``approval``, ``revert``, ``external`` for edits made outside bidagent), ``from`` and ``until``
(UTC dates, inclusive, on when the change was written) and ``q`` (text in the entity's name or
id, the rule or the reason). Paging is by id (``before``: the page holds changes older than that
id), so the last page of a million rows costs what the first does; the page says "rows A-B of
M". An htmx request (the filter form, the pager) gets the table alone. It must not write.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from bidagent.console.auth import Principal
from bidagent.console.change_rows import change_view
from bidagent.console.deps import console_state, require
from bidagent.console.render import page
from bidagent.store import CHANGE_STATUSES, Session
from bidagent.store.change_log import ChangeFilter, change_facets, count_changes, page_changes
from bidagent.store.profile_status import profile_statuses

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
_MAX_PAGE = 500


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day is not None else None


def _date(value: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` filter (empty: none); anything else is a 422 naming the parameter."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: expected a date as YYYY-MM-DD, not {value!r}") from None


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/changes", response_class=HTMLResponse)
def change_log(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Annotated[str | None, Query(max_length=32)] = None,
    campaign: Annotated[str | None, Query(max_length=32)] = None,
    ad_group: Annotated[str | None, Query(max_length=32)] = None,
    rule: Annotated[str | None, Query(max_length=128)] = None,
    field: Annotated[str | None, Query(max_length=24)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    actor: Annotated[str | None, Query(max_length=16)] = None,
    from_text: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until_text: Annotated[str | None, Query(alias="until", max_length=10)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=_MAX_PAGE)] = PAGE_SIZE,
) -> HTMLResponse:
    """One page of the change log (the table alone for htmx)."""
    state = console_state(request)
    from_, until = _date(from_text, "from"), _date(until_text, "until")
    where = ChangeFilter(
        profile_id=_text(profile), campaign_id=_text(campaign), ad_group_id=_text(ad_group),
        rule=_text(rule), field=_text(field), status=_text(status), actor=_text(actor),
        created_from=_day_start(from_),
        created_until=_day_start(until + timedelta(days=1)) if until else None,
        text=_text(q),
    )  # fmt: skip
    with Session(state.engine) as session:
        rows = page_changes(session, where, before_id=before, limit=limit + 1)
        total = count_changes(session, where)
        shown = rows[:limit]
        first = count_changes(session, where, from_id=shown[0].change.id) if shown else 0
        rules, fields, actors = change_facets(session)
        profiles = profile_statuses(session)
    chosen = {
        "profile": profile, "campaign": campaign, "ad_group": ad_group, "rule": rule,
        "field": field, "status": status, "actor": actor,
        "from": from_.isoformat() if from_ else None,
        "until": until.isoformat() if until else None, "q": q,
    }  # fmt: skip
    query = {key: value for key, value in chosen.items() if value}
    if limit != PAGE_SIZE:
        query["limit"] = str(limit)
    older = (
        "/changes?" + urlencode({**query, "before": shown[-1].change.id})
        if len(rows) > limit
        else None
    )
    context: dict[str, Any] = {
        "rows": [change_view(row) for row in shown],
        "total": total,
        "first_row": first,
        "last_row": first + len(shown) - 1 if shown else 0,
        "older": older,
        "newest": "/changes?" + urlencode(query) if before is not None else None,
        "chosen": chosen,
        "filter": asdict(where),
        "profiles": profiles,
        "rules": rules,
        "fields": fields,
        "actors": sorted({*actors, "rule", "approval", "revert", "external"}),
        "statuses": CHANGE_STATUSES,
    }
    name = "_change_table.html" if request.headers.get("HX-Request") else "changes.html"
    return page(request, name, context)
