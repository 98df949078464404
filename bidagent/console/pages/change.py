"""One change (``/changes/{id}``): what it did and why, and its revert (approvers).

Shows the change's values, the synced names, rule file and content hash, cycle, evidence,
notes and payload, the changes that reverted it (and the change it reverts), and the entity's
daily spend, sales and clicks for 14 days either side of the change's day (its cycle's business
date, else the day it finished) as a chart with the day marked. ``POST /changes/{id}/revert``
puts it back through :func:`bidagent.console.decisions.revert`, the CLI's revert path (live
values are read first, a field changed since is skipped and says so) under the profile's lock,
recording the approver's name as who asked. It must not build SQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bidagent.agent.cycle.revert import revert_summary
from bidagent.console.auth import Principal
from bidagent.console.change_rows import change_view
from bidagent.console.decisions import revert
from bidagent.console.deps import console_state, current_principal, require
from bidagent.console.render import error_page, page
from bidagent.errors import BidAgentError
from bidagent.store import ChangeRecord, CycleRecord, Session
from bidagent.store.change_log import change_by_id, change_log_row, reverts_of
from bidagent.store.cycles import cycle_by_id
from bidagent.store.performance import entity_days
from bidagent.store.profile_status import profile_statuses

__all__ = ["WINDOW_DAYS", "router"]

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
WINDOW_DAYS = 14
_REVERTIBLE_FIELDS = {"bid", "budget", "default_bid", "state", "keyword", "negative_keyword"}


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def _change_day(change: ChangeRecord, cycle: CycleRecord | None) -> date | None:
    if cycle is not None:
        return cycle.business_date
    moment = change.finished_at or change.created_at
    return moment.date() if moment is not None else None


def _newest_report_day(session: Session, change: ChangeRecord) -> date | None:
    """The newest day the reports behind this entity's facts covered for its profile."""
    source = "campaigns" if change.entity_kind == "campaign" else "targets"
    for status in profile_statuses(session):
        if status.profile_id == change.profile_id:
            return status.newest_days.get(source)
    return None


def _calendar(day: date | None, covered: date | None) -> list[date]:
    """The window's days: from 14 days before the change to 14 after, stopping at the newest
    reported day, or at the change's day when the reports have not reached it yet."""
    if day is None or covered is None:
        return []
    start = day - timedelta(days=WINDOW_DAYS)
    end = min(day + timedelta(days=WINDOW_DAYS), max(covered, day))
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def revertible(change: ChangeRecord) -> bool:
    """Whether a revert may be asked for (the revert path still checks live values)."""
    return (
        change.status == "applied"
        and change.actor != "external"
        and change.field in _REVERTIBLE_FIELDS
    )


def _context(request: Request, change_id: int) -> dict[str, Any] | None:
    state = console_state(request)
    with Session(state.engine) as session:
        row = change_log_row(session, change_id)
        if row is None:
            return None
        change = row.change
        cycle = cycle_by_id(session, change.cycle_id) if change.cycle_id else None
        reverted_by = reverts_of(session, change_id)
        reverts = (
            change_by_id(session, change.reverts_change_id) if change.reverts_change_id else None
        )
        day = _change_day(change, cycle)
        days = (
            entity_days(session, change.entity_kind, change.entity_id,
                        day - timedelta(days=WINDOW_DAYS), day + timedelta(days=WINDOW_DAYS))
            if day is not None
            else []
        )  # fmt: skip
        covered = _newest_report_day(session, change)
    calendar = _calendar(day, covered)
    by_day = {d.date: d for d in days}

    def column(value: Any) -> list[Any]:
        # No row on a reported day: no traffic (Amazon leaves zero rows out); after the newest
        # reported day: not known yet, a gap.
        return [
            None if covered is None or d > covered else value(by_day[d]) if d in by_day else 0
            for d in calendar
        ]

    series = {
        "days": [_epoch(d) for d in calendar],
        "spend": column(lambda t: round(t.cost, 2)),
        "sales": column(lambda t: round(t.sales, 2)),
        "clicks": column(lambda t: t.clicks),
        "markers": [{"day": _epoch(day), "changes": 1}] if day is not None else [],
    }
    principal = current_principal(request)
    return {
        "change": change,
        "view": change_view(row),
        "cycle": cycle,
        "day": day,
        "series": series,
        "has_days": bool(days),
        "window": (calendar[0], calendar[-1]) if calendar else None,
        "covered": covered,
        "reverted_by": reverted_by,
        "reverts": reverts,
        "can_revert": revertible(change) and principal is not None and principal.may("approver"),
        "revertible": revertible(change),
        "result": None,
    }


def _not_found(request: Request, change_id: int) -> HTMLResponse:
    return error_page(request, 404, f"There is no change {change_id}.")


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def change_page(
    request: Request,
    change_id: int,
    principal: Annotated[Principal, Depends(require("viewer"))],
) -> HTMLResponse:
    """The change's page."""
    context = _context(request, change_id)
    if context is None:
        return _not_found(request, change_id)
    return page(request, "change.html", context)


@router.post("/changes/{change_id}/revert", response_class=HTMLResponse)
def revert_change(
    request: Request,
    change_id: int,
    principal: Annotated[Principal, Depends(require("approver"))],
) -> HTMLResponse:
    """Revert the change now (as ``bidagent revert ID --yes`` does), then show the outcome."""
    state = console_state(request)
    if _context(request, change_id) is None:
        return _not_found(request, change_id)
    try:
        owner = f"bidagent console ({principal.name})"
        items, outcomes = revert(state, [change_id], by=principal.name, owner=owner)
        applied = any(o.status == "applied" for o in outcomes)
        result = {"ok": applied, "message": revert_summary(items, outcomes)}
    except BidAgentError as exc:  # busy profile, paused, API refused: say so on the page
        result = {"ok": False, "message": str(exc)}
    log.info("console_revert", change_id=change_id, by=principal.name, result=result["message"])
    context = _context(request, change_id)
    assert context is not None
    context["result"] = result
    return page(request, "change.html", context, status_code=200 if result["ok"] else 409)
