"""Rendering pages: the Jinja2 environment (autoescaped, templates and filters from this
package) and :func:`page`, which hands every template what the layout needs (the principal,
the CSRF token, the kill switch banner's state).

Owns the filters' spellings: money with two decimals, ratios as percentages, a change's % step,
moments in UTC. It must not query: routes pass what they read in.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from bidagent.console.auth import Forbidden, NotSignedIn, Principal
from bidagent.console.deps import console_state, current_principal, session_of

__all__ = ["TEMPLATES_DIR", "error_page", "make_templates", "page", "percent_step"]

TEMPLATES_DIR = Path(__file__).with_name("templates")


def _money(value: Any) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.2f}"


def _percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value) * 100:.{digits}f}%"


def _moment(value: datetime | date | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def percent_step(old: str | None, new: str | None) -> float | None:
    """A money change's step as a fraction of the old value (``0.15`` for 1.00 -> 1.15); None
    when either side is not a number or the old one is zero."""
    try:
        before, after = Decimal(old or ""), Decimal(new or "")
    except InvalidOperation:
        return None
    if before == 0:
        return None
    return float((after - before) / before)


def _json_script(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` escaped,
    so no value can close the element."""
    text = json.dumps(value, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the one context it is used in


def make_templates() -> Jinja2Templates:
    """The console's templates, with its filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters.update(
        money=_money, percent=_percent, moment=_moment, json_script=_json_script
    )
    templates.env.globals["percent_step"] = percent_step
    return templates


def page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render template ``name`` with ``context`` and what the layout needs."""
    state = console_state(request)
    session = session_of(request)
    principal: Principal | None = None
    try:
        principal = current_principal(request)
    except (Forbidden, NotSignedIn):  # an error page about exactly that: show it signed out
        principal = None
    full = {
        "principal": principal,
        "csrf_token": state.codec.csrf_token(session),
        "public_url": state.settings.console.public_url,
        **context,
    }
    return state.templates.TemplateResponse(request, name, full, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The error page saying ``message``, answered with ``status_code``."""
    return page(request, "error.html", {"status": status_code, "message": message},
                status_code=status_code)  # fmt: skip
