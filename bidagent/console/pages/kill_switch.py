"""Pausing and resuming from the console (admins): ``POST /kill-switch``.

Goes through the same functions as ``bidagent pause`` and ``bidagent resume``
(:mod:`bidagent.agent.service.kill_switch`), recording the admin's name as who changed it and,
like the CLI, the wall-clock time. ``scope`` is ``global`` or a profile id the ledger knows.
"""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from bidagent.agent.service.kill_switch import GLOBAL_SCOPE, pause, resume
from bidagent.console.auth import Forbidden, Principal
from bidagent.console.deps import console_state, require
from bidagent.store import Session
from bidagent.store.profile_status import profile_statuses
from bidagent.store.types import utcnow

__all__ = ["router"]

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)


@router.post("/kill-switch")
def kill_switch(
    request: Request,
    principal: Annotated[Principal, Depends(require("admin"))],
    action: Annotated[Literal["pause", "resume"], Form()],
    scope: Annotated[str, Form(max_length=32)] = GLOBAL_SCOPE,
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> RedirectResponse:
    """Engage or release the kill switch of ``scope``, then back to the overview."""
    state = console_state(request)
    if scope != GLOBAL_SCOPE:
        with Session(state.engine) as session:
            if scope not in {s.profile_id for s in profile_statuses(session)}:
                raise Forbidden(f"no profile {scope!r} to pause or resume")
    if action == "pause":
        pause(state.engine, scope=scope, reason=reason or None, by=principal.name, now=utcnow())
    else:
        resume(state.engine, scope=scope, by=principal.name, now=utcnow())
    log.info("kill_switch_changed", action=action, scope=scope, by=principal.name)
    return RedirectResponse("/" if scope == GLOBAL_SCOPE else f"/?profile={scope}", status_code=303)
