"""The Rules pages: ``/rules`` (every rule of the rules folder with its file, hash and last
cycle's counts, the daemon's last rejected reload, the files' problems and conflict
warnings; ``?profile=ID`` for one profile's last cycles), ``/rules/{name}`` (one rule: its
newest cycles and its file's YAML) and ``/rules/files/{path}`` (a rule file's YAML, read-only).

What is shown is gathered by :mod:`bidagent.console.rule_views`; the YAML is read through
:mod:`bidagent.console.rule_files`, which serves nothing outside the rules folder (404), and
autoescaped by the template. Viewers may read all of it. It must not write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from bidagent.console.auth import Principal
from bidagent.console.deps import console_state, require
from bidagent.console.render import error_page, page
from bidagent.console.rule_files import read_rule_file
from bidagent.console.rule_views import rule_detail, rules_view
from bidagent.store import Session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Profile = Annotated[str | None, Query(max_length=32)]


@router.get("/rules", response_class=HTMLResponse)
def rules(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Profile = None,
) -> HTMLResponse:
    """The rules page."""
    state = console_state(request)
    with Session(state.engine) as session:
        view = rules_view(session, state.settings.rules_dir, profile or None)
    return page(request, "rules.html", {"view": view})


@router.get("/rules/files/{name:path}", response_class=HTMLResponse)
def rule_file(
    request: Request, principal: Annotated[Principal, Depends(require("viewer"))], name: str
) -> HTMLResponse:
    """One rule file's YAML, read-only."""
    state = console_state(request)
    source = read_rule_file(state.settings.rules_dir, name)
    if source is None:
        return error_page(request, 404, "there is no such rule file in the rules folder")
    return page(request, "rule_file.html", {"source": source})


@router.get("/rules/{name}", response_class=HTMLResponse)
def rule(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    name: str,
    profile: Profile = None,
) -> HTMLResponse:
    """One rule's page."""
    state = console_state(request)
    with Session(state.engine) as session:
        detail = rule_detail(session, state.settings.rules_dir, name, profile or None)
    if detail is None:
        return error_page(request, 404, f"no rule named {name!r} in the rule files or the cycles")
    return page(request, "rule.html", {"detail": detail, "view": detail.view})
