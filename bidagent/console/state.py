"""What one console app works with: the settings, the database, the agent's clock, the
authenticator, the cookie codec, the sign-in limiter, the templates, and the ways to reach the
agent (the health check, a fresh agent context for reverts, the sellers' margins).

Owns only the gathering of those handles into :class:`ConsoleState`, which the app factory
builds once and every route reads from ``request.app.state.console``. It must not route,
render or query.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from starlette.templating import Jinja2Templates

from bidagent.agent.context import AgentContext
from bidagent.console.auth import Authenticator
from bidagent.console.ratelimit import AttemptLimiter
from bidagent.console.sessions import SessionCodec
from bidagent.settings import Settings
from bidagent.store import Engine

__all__ = ["AgentOpener", "ConsoleState", "MarginSource"]

# Opens an agent context for one action (a revert) and closes it after, as a CLI command does.
AgentOpener = Callable[[], AbstractContextManager[AgentContext]]
# A profile's campaign id -> the mean margin of the products it advertises, where known.
MarginSource = Callable[[str], dict[str, float]]


@dataclass
class ConsoleState:
    """The console app's handles (see the module docstring)."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    auth: Authenticator
    codec: SessionCodec
    limiter: AttemptLimiter
    templates: Jinja2Templates
    health: Callable[[], tuple[bool, str]]
    open_agent: AgentOpener
    margins: MarginSource | None = None

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when people reach the console over https."""
        url = self.settings.console.public_url
        return url is not None and url.startswith("https://")
