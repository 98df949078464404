"""The console's FastAPI dependencies: the state, the session, the principal, role checks and
the CSRF check that every state-changing request passes.

A page or API route declares what it needs (``Depends(require("approver"))``); a request that
is not signed in raises :class:`~bidagent.console.auth.NotSignedIn` (pages: a redirect to the
login form; ``/api/``: 401) and one whose role is too weak :class:`~.auth.Forbidden` (403). The
CSRF check runs on every route (the app adds it globally): a POST, PUT, PATCH or DELETE must
carry the session's token in the ``csrf_token`` form field or the ``X-CSRF-Token`` header
(htmx sends the header, see ``static/console.js``); a request signed with an API token carries
no cookie to forge and is exempt, and so is an ``/api/`` request from nobody signed in (it gets
its 401). It must not render pages.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from bidagent.console.auth import Forbidden, NotSignedIn, Principal
from bidagent.console.sessions import SessionData
from bidagent.console.state import ConsoleState
from bidagent.console.users import Role

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "check_csrf",
    "console_state",
    "current_principal",
    "require",
    "session_of",
    "start_session",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSET = object()


def console_state(request: Request) -> ConsoleState:
    """The app's :class:`ConsoleState`."""
    state: ConsoleState = request.app.state.console
    return state


def session_of(request: Request) -> SessionData:
    """The request's session (the session middleware reads or makes one for every request)."""
    session: SessionData = request.state.session
    return session


def start_session(request: Request, data: SessionData) -> None:
    """Replace the request's session: the response sets the new cookie."""
    request.state.session = data
    request.state.session_changed = True


def current_principal(request: Request) -> Principal | None:
    """Who sent the request, or None (resolved once per request)."""
    found = getattr(request.state, "principal", _UNSET)
    if found is _UNSET:
        state = console_state(request)
        found = state.auth.principal(
            session_of(request),
            authorization=request.headers.get("authorization"),
            host=request.client.host if request.client else None,
            proxy_user=request.headers.get(state.settings.console.proxy_header),
        )
        request.state.principal = found
    assert found is None or isinstance(found, Principal)
    return found


def require(role: Role) -> Callable[[Request], Principal]:
    """A dependency that returns the principal when it has ``role``'s rights."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise NotSignedIn("sign in first")
        if not principal.may(role):
            raise Forbidden(f"this needs the {role} role; {principal.name} is a {principal.role}")
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request without the session's CSRF token (403)."""
    if request.method in _SAFE_METHODS:
        return
    if (request.headers.get("authorization") or "")[:7].lower() == "bearer ":
        return
    if request.url.path.startswith("/api/") and current_principal(request) is None:
        return  # nobody is signed in, so there is no session to ride: the route answers 401
    given = request.headers.get(CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not console_state(request).codec.csrf_matches(session_of(request), given):
        raise Forbidden("the CSRF token is missing or wrong: reload the page and try again")
