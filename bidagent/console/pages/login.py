"""Signing in and out: the login form, the one-time login URL, and logout.

``GET /login`` shows the form (``?token=`` redeems the one-time bootstrap token instead);
``POST /login`` checks the password under the attempt limiter (per user name and per address:
429 with ``Retry-After`` once either has too many failures) and starts a new session (a new
session id, so a session fixed before sign-in is worth nothing); ``POST /logout`` ends it. After
sign-in the browser goes back to ``next``, a path on this console only. Proxy mode has no form:
the proxy signs people in.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bidagent.console.deps import console_state, start_session
from bidagent.console.render import page
from bidagent.console.sessions import SessionData

__all__ = ["router"]

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_model=None)
def login_form(
    request: Request, next: str | None = None, token: str | None = None
) -> HTMLResponse | RedirectResponse:
    """The login form, or the one-time token's admin session."""
    state = console_state(request)
    if state.settings.console.auth == "proxy":
        return RedirectResponse(_safe_next(next), status_code=302)
    if token is not None:
        session = state.auth.redeem_login_token(token)
        if session is None:
            log.warning("console_login_refused", via="token", address=_client(request))
            message = "This login link is wrong or was used already. Sign in with your name."
            return page(request, "login.html", {"error": message, "next": "/"}, status_code=403)
        start_session(request, session)
        log.info("console_signed_in", user="bootstrap-admin", via="token", address=_client(request))
        return RedirectResponse(_safe_next(next), status_code=303)
    return page(request, "login.html", {"error": None, "next": _safe_next(next)})


@router.post("/login", response_model=None)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; start a session or say why not."""
    state = console_state(request)
    keys = [f"user:{name.lower()}", f"address:{_client(request)}"]
    wait_s = state.limiter.retry_after_s(keys)
    if wait_s is not None:
        log.warning("console_login_limited", user=name, address=_client(request), wait_s=wait_s)
        message = f"Too many failed attempts. Try again in {wait_s} s."
        response = page(request, "login.html", {"error": message, "next": _safe_next(next)},
                        status_code=429)  # fmt: skip
        response.headers["Retry-After"] = str(wait_s)
        return response
    session = state.auth.check_password(name, password)
    if session is None:
        state.limiter.failed(keys)
        log.warning("console_login_refused", user=name, via="password", address=_client(request))
        context = {"error": "Wrong name or password.", "next": _safe_next(next), "name": name}
        return page(request, "login.html", context, status_code=401)
    state.limiter.clear(keys[0])
    start_session(request, session)
    log.info("console_signed_in", user=session.user, via="password", address=_client(request))
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session (the browser keeps a fresh, signed-out one)."""
    start_session(request, SessionData.fresh())
    return RedirectResponse("/login", status_code=303)
