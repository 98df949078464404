"""Who is asking: the console's principals, and the three ways to be one.

* **password** (``[console] auth = "password"``): a signed session cookie naming a user of the
  ``console_users`` table, set by the login form after an argon2 check. The user is read again
  on every request, so removing a user (or changing their password) ends their sessions.
* **bootstrap**: while no user exists, the process makes one random login token at start; the
  URL carrying it (``/login?token=...``) signs in once as an admin for this process only (the
  cookie names the process's nonce), then the token is spent. Never open without it.
* **proxy** (``auth = "proxy"``): single sign-on in front of the console. The ``proxy_header``
  (``X-Forwarded-User``) is believed only from a ``trusted_proxies`` address; a request from
  anywhere else is refused outright, and the user it names must exist (the role is the table's).
* **API token** (either mode): ``Authorization: Bearer <token>``, looked up by its SHA-256.

Roles are ordered (:data:`bidagent.console.users.ROLES`): viewer reads; approver also decides
review items and reverts; admin also pauses and resumes and manages users. It must not render
or route: :mod:`bidagent.console.deps` turns these answers into FastAPI dependencies.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from typing import Literal

from bidagent.console.passwords import hash_token, verify_password
from bidagent.console.sessions import SessionData, password_fingerprint
from bidagent.console.users import ROLES, Role
from bidagent.settings import ConsoleSettings
from bidagent.store import Engine, Session, UserRecord
from bidagent.store import users as user_rows

__all__ = [
    "BOOTSTRAP_USER",
    "Authenticator",
    "Forbidden",
    "NotSignedIn",
    "Principal",
]

BOOTSTRAP_USER = "bootstrap-admin"  # recorded as the decider of what a login-token session does


@dataclass(frozen=True)
class Principal:
    """A signed-in person (or script): the name the ledger records, and their role."""

    name: str
    role: Role
    via: Literal["password", "bootstrap", "proxy", "token"]

    def may(self, role: Role) -> bool:
        """Whether this principal's role includes ``role``'s rights."""
        return ROLES.index(self.role) >= ROLES.index(role)


class NotSignedIn(Exception):  # noqa: N818 - a state, like the HTTP status it becomes (401)
    """No principal: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):  # noqa: N818 - a refusal, like the HTTP status it becomes (403)
    """A principal (or a request from an untrusted address) that may not do this."""


class Authenticator:
    """Resolves requests to principals for one console process."""

    def __init__(self, settings: ConsoleSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.process_nonce = secrets.token_urlsafe(18)
        self._networks = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
        self._login_token: str | None = None
        self._lock = threading.Lock()

    # ----- the one-time login token -------------------------------------------------------

    def issue_login_token(self) -> str | None:
        """A new one-time login token when no user exists (None otherwise, or in proxy mode)."""
        if self.settings.auth != "password" or self._user_count() > 0:
            return None
        with self._lock:
            self._login_token = secrets.token_urlsafe(32)
            return self._login_token

    def redeem_login_token(self, token: str) -> SessionData | None:
        """A bootstrap admin session for the right token, once; None for a wrong or spent one,
        or once a user exists (from then on people sign in as themselves)."""
        with self._lock:
            expected = self._login_token
            if expected is None or not hmac.compare_digest(expected.encode(), token.encode()):
                return None
            self._login_token = None
        if self._user_count() > 0:
            return None
        return SessionData(sid=SessionData.fresh().sid, boot=self.process_nonce)

    # ----- passwords ----------------------------------------------------------------------

    def check_password(self, name: str, password: str) -> SessionData | None:
        """A signed-in session when ``password`` is ``name``'s; None otherwise (unknown names
        cost the same argon2 work as wrong passwords)."""
        user = self._user(name)
        stored = user.password_hash if user is not None else None
        if not verify_password(stored, password) or user is None:
            return None
        return SessionData(
            sid=SessionData.fresh().sid, user=user.name, fingerprint=password_fingerprint(stored)
        )

    # ----- requests -----------------------------------------------------------------------

    def trusted(self, host: str | None) -> bool:
        """Whether ``host`` is one of the trusted proxies."""
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def principal(
        self, session: SessionData, *, authorization: str | None, host: str | None,
        proxy_user: str | None,
    ) -> Principal | None:  # fmt: skip
        """Who sent a request with this session cookie, ``Authorization`` header, peer address
        and proxy header. None: nobody (sign in). Raises :class:`NotSignedIn` for an unknown
        API token and :class:`Forbidden` for a proxy-mode request from an untrusted address
        or naming a user who does not exist."""
        if authorization is not None and authorization[:7].lower() == "bearer ":
            user = self._token_user(authorization[7:].strip())
            if user is None:
                raise NotSignedIn("unknown API token")
            return Principal(user.name, _role(user), "token")
        if self.settings.auth == "proxy":
            if not self.trusted(host):
                raise Forbidden(f"requests must come through the trusted proxy; {host} is not one")
            if not proxy_user:
                return None
            user = self._user(proxy_user)
            if user is None:
                raise Forbidden(f"{proxy_user!r} is not a console user: bidagent users add")
            return Principal(user.name, _role(user), "proxy")
        if session.boot is not None:
            if hmac.compare_digest(session.boot, self.process_nonce):
                return Principal(BOOTSTRAP_USER, "admin", "bootstrap")
            return None
        if session.user is None:
            return None
        user = self._user(session.user)
        if user is None or session.fingerprint != password_fingerprint(user.password_hash):
            return None
        return Principal(user.name, _role(user), "password")

    def _user(self, name: str) -> UserRecord | None:
        with Session(self.engine) as session:
            return user_rows.user_by_name(session, name)

    def _token_user(self, token: str) -> UserRecord | None:
        if not token:
            return None
        with Session(self.engine) as session:
            return user_rows.user_by_token_hash(session, hash_token(token))

    def _user_count(self) -> int:
        with Session(self.engine) as session:
            return user_rows.user_count(session)


def _role(user: UserRecord) -> Role:
    # A role the table holds that this version does not know gets the least rights.
    for role in ROLES:
        if user.role == role:
            return role
    return "viewer"
