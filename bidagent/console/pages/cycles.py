"""The Cycles pages: ``/cycles`` (each cycle's outcome, reason, durations by phase and counts,
newest first, paged with ``?before=ID``, filtered by ``?profile=`` and ``?outcome=``) and
``/cycles/{id}`` (one cycle: its changes by status, what each rule did, links into the change
log filtered to it: ``/changes?cycle=ID``).

What is shown is gathered by :mod:`bidagent.console.cycle_views`. Viewers may read it. It must
not write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from bidagent.console.auth import Principal
from bidagent.console.cycle_views import PHASES, cycle_detail, cycles_view
from bidagent.console.deps import console_state, require
from bidagent.console.render import error_page, page
from bidagent.store import Session
from bidagent.store.cycle_list import CycleFilter

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/cycles", response_class=HTMLResponse)
def cycles(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Annotated[str | None, Query(max_length=32)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The cycle list."""
    state = console_state(request)
    where = CycleFilter(profile_id=profile or None, outcome=outcome or None)
    with Session(state.engine) as session:
        view = cycles_view(session, where, before)
    return page(request, "cycles.html", {"view": view, "phases": PHASES})


@router.get("/cycles/{cycle_id}", response_class=HTMLResponse)
def cycle(
    request: Request, principal: Annotated[Principal, Depends(require("viewer"))], cycle_id: int
) -> HTMLResponse:
    """One cycle's page."""
    state = console_state(request)
    with Session(state.engine) as session:
        detail = cycle_detail(session, cycle_id)
    if detail is None:
        return error_page(request, 404, f"no cycle {cycle_id}")
    return page(request, "cycle.html", {"detail": detail, "phases": PHASES})
