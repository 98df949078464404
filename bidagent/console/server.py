"""Serving the console: building its state from the settings, and running it under uvicorn,
either beside the daemon (``bidagent run``: a thread, through the daemon's serve hook) or alone
(``bidagent console``: a thread too, the main one waiting for SIGINT/SIGTERM).

Owns the session secret's resolution (``[console] session_secret``, else one generated once and
kept in the ledger so sessions survive restarts), binding the socket before uvicorn starts (so
a port in use is an error naming it, not a thread that dies), and announcing where the console
is: a ``console_started`` log event, and while no user exists the one-time login URL, printed to
stderr as Jupyter does (the logs redact tokens in URLs, rightly, so it does not go through
them). It must not hold routes or pages.
"""

from __future__ import annotations

import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

import structlog
import uvicorn

from bidagent.agent.context import AgentContext
from bidagent.console.app import create_app
from bidagent.console.auth import Authenticator
from bidagent.console.ratelimit import AttemptLimiter
from bidagent.console.render import make_templates
from bidagent.console.sessions import SessionCodec
from bidagent.console.state import ConsoleState, MarginSource
from bidagent.errors import ConsoleError
from bidagent.settings import Settings
from bidagent.store import Engine
from bidagent.store.users import stored_secret

__all__ = ["ConsoleServer", "build_state", "console_url", "start_console"]

log = structlog.get_logger(__name__)

_SECRET_NAME = "session"  # noqa: S105 - the secret row's name
_STOP_WAIT_S = 10.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _session_secret(settings: Settings, engine: Engine) -> str:
    configured = settings.console.session_secret
    if configured is not None:
        return configured.get_secret_value()
    return stored_secret(engine, _SECRET_NAME, secrets.token_urlsafe(48), datetime.now(UTC))


def _margins(ctx: AgentContext) -> MarginSource | None:
    """The sandbox seller's product margins (their own figures, as margin targets read them);
    a real account's margins are unknown to bidagent."""
    if ctx.sandbox is None:
        return None
    from bidagent.agent.backtest.margin_targets import margin_targets

    box = ctx.sandbox

    @cache
    def margins(profile_id: str) -> dict[str, float]:
        return margin_targets(box, profile_id, 1.0)

    return margins


def build_state(
    settings: Settings,
    ctx: AgentContext,
    health: Callable[[], tuple[bool, str]],
) -> ConsoleState:
    """The console's state over an open agent context: its database and clock, a fresh context
    per revert (as a CLI command opens one), the sandbox seller's margins where there are any."""
    engine = ctx.engine
    console = settings.console
    return ConsoleState(
        settings=settings,
        engine=engine,
        clock=ctx.now,
        auth=Authenticator(console, engine),
        codec=SessionCodec(
            _session_secret(settings, engine),
            max_age_s=int(settings.duration(console.session_lifetime).total_seconds()),
        ),
        limiter=AttemptLimiter(
            console.login_attempts, settings.duration(console.login_window).total_seconds()
        ),
        templates=make_templates(),
        health=health,
        open_agent=lambda: AgentContext.open(settings, engine=engine),
        margins=_margins(ctx),
    )


def console_url(settings: Settings, port: int) -> str:
    """Where people open the console: ``public_url``, else the bound address (a wildcard
    address shown as loopback, which is where a published container port answers)."""
    if settings.console.public_url:
        return settings.console.public_url
    host = settings.console.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConsoleError(f"cannot serve the console on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


class ConsoleServer:
    """uvicorn serving one console app on a socket bound up front."""

    def __init__(self, state: ConsoleState, *, host: str, port: int) -> None:
        self.state = state
        self._socket = _bind(host, port)
        self.port = int(self._socket.getsockname()[1])
        self.url = console_url(state.settings, self.port)
        config = uvicorn.Config(
            create_app(state), log_config=None, access_log=False, lifespan="off",
            timeout_graceful_shutdown=5,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def announce(self) -> None:
        """Log where the console is; with no user yet, print the one-time login URL."""
        log.info("console_started", url=self.url, auth=self.state.settings.console.auth)
        token = self.state.auth.issue_login_token()
        if token is not None:
            log.warning("console_login_token_issued", url=self.url + "/login?token=...")
            sys.stderr.write(
                "bidagent console: no user exists yet; sign in once as an admin of this process"
                f" at\n    {self.url}/login?token={token}\n"
                "then add people with `bidagent users add NAME --role admin`.\n"
            )
            sys.stderr.flush()

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self) -> ConsoleServer:
        """Serve on a thread of its own; return once it accepts requests."""
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            self._thread.join(0.02)
        if not self._server.started:
            raise ConsoleError(f"the console did not start on {self.url}")
        self.announce()
        return self

    def stop(self) -> None:
        """Stop serving (requests in flight get a few seconds to finish)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_WAIT_S)
        log.info("console_stopped", url=self.url)

    def serve_until_signalled(self) -> None:
        """``bidagent console``: serve until SIGTERM or SIGINT, then stop and return (the
        command exits 0; uvicorn in the main thread would re-raise the signal instead)."""
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
        try:
            self.start()
            while not stop.wait(0.5) and self._thread is not None and self._thread.is_alive():
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def start_console(ctx: AgentContext, health: Callable[[], tuple[bool, str]]) -> ConsoleServer:
    """The daemon's serve hook: the console on ``[console] host:port`` beside the cycles."""
    settings = ctx.settings
    state = build_state(settings, ctx, health)
    return ConsoleServer(state, host=settings.console.host, port=settings.console.port).start()
