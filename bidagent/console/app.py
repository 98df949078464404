"""The console's ASGI app: FastAPI (chosen over bare Starlette for the OpenAPI document its
JSON API serves at ``/api/openapi.json`` for free, from the same typed routes), server-rendered
Jinja2 pages, htmx for partial updates, static files vendored in the package.

Owns the app's assembly: the session middleware (every browser gets a signed session cookie;
security headers on every answer), the global CSRF check, the answers to "not signed in"
(pages: a redirect to ``/login``; ``/api/``: 401) and "forbidden" (403), the static files and the
routers of :mod:`bidagent.console.pages`. It must not hold a page's logic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from bidagent import __version__
from bidagent.console.api import ROUTERS as API_ROUTERS
from bidagent.console.auth import Forbidden, NotSignedIn
from bidagent.console.deps import check_csrf, console_state
from bidagent.console.pages import ROUTERS
from bidagent.console.render import error_page
from bidagent.console.sessions import COOKIE_NAME, SessionData
from bidagent.console.state import ConsoleState

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).with_name("static")
# Probes and assets need no session: Prometheus and the browser's cache should not get cookies.
_SESSIONLESS = ("/healthz", "/metrics", "/static/")
# Scripts only from the console itself (htmx, uPlot and console.js are vendored); uPlot styles
# its elements from script, so inline styles stay allowed.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _sessions(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    state = console_state(request)
    sessionless = request.url.path.startswith(_SESSIONLESS)
    found = None if sessionless else state.codec.loads(request.cookies.get(COOKIE_NAME))
    request.state.session = found or SessionData.fresh()
    request.state.session_changed = found is None and not sessionless
    response = await call_next(request)
    if request.state.session_changed:
        response.set_cookie(
            COOKIE_NAME,
            state.codec.dumps(request.state.session),
            max_age=state.codec.max_age_s,
            httponly=True,
            samesite="lax",
            secure=state.secure_cookies,
            path="/",
        )
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse(
            {"detail": str(exc) or "sign in first"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if console_state(request).settings.console.auth == "proxy":
        message = "the proxy sent no user: sign in through it"
        return error_page(request, 401, message)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = "/login?next=" + quote(target, safe="")
    if request.headers.get("HX-Request"):  # htmx swaps answers in place: send the page away
        return Response(status_code=401, headers={"HX-Redirect": login})
    return RedirectResponse(login, status_code=302)


async def _forbidden(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    return error_page(request, 403, str(exc))


def create_app(state: ConsoleState) -> FastAPI:
    """The console app over ``state`` (see :func:`bidagent.console.server.build_state`)."""
    app = FastAPI(
        title="bidagent console",
        version=__version__,
        # Swagger UI loads its assets from a CDN; the console never needs the network.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(check_csrf)],
    )
    app.state.console = state
    app.middleware("http")(_sessions)
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (*ROUTERS, *API_ROUTERS):
        app.include_router(router)
    return app
