"""The console's session cookie: what it holds, how it is signed, and the CSRF token it implies.

Every browser gets one signed cookie (itsdangerous, HMAC-SHA-1 over a timestamped JSON payload
keyed with the session secret): a random session id, and once signed in the user's name and a
fingerprint of their password hash (so re-adding a user or changing their password ends their
old sessions), or the nonce of the process whose one-time login token made a bootstrap admin
session (valid in that process only). The CSRF token is an HMAC of the session id, so it needs
no storage and changes whenever the session id does (at every sign-in and sign-out).

It must not look users up or decide who may do what: :mod:`bidagent.console.auth` does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["COOKIE_NAME", "SessionCodec", "SessionData", "password_fingerprint"]

COOKIE_NAME = "bidagent_session"


@dataclass(frozen=True)
class SessionData:
    """What one session cookie says: ``user`` None while signed out."""

    sid: str
    user: str | None = None
    fingerprint: str | None = None
    boot: str | None = None  # the process nonce of a bootstrap admin session

    @classmethod
    def fresh(cls) -> SessionData:
        """A signed-out session with a new random id."""
        return cls(sid=secrets.token_urlsafe(18))


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of a stored password hash, kept in the cookie to tie a session to it."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class SessionCodec:
    """Signs and reads session cookies with one secret; a cookie older than ``max_age_s``, or
    signed with another secret, reads as no cookie."""

    def __init__(self, secret: str, *, max_age_s: int) -> None:
        self._secret = secret.encode()
        self._serializer = URLSafeTimedSerializer(secret, salt="bidagent.console.session")
        self.max_age_s = max_age_s

    def dumps(self, data: SessionData) -> str:
        """The cookie value for ``data``."""
        payload = {"sid": data.sid, "user": data.user, "fp": data.fingerprint, "boot": data.boot}
        return self._serializer.dumps(payload)

    def loads(self, raw: str | None) -> SessionData | None:
        """The session a cookie value holds; None when absent, forged, expired or malformed."""
        if not raw:
            return None
        try:
            payload = self._serializer.loads(raw, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("sid"), str):
            return None
        fields = {key: payload.get(key) for key in ("user", "fp", "boot")}
        if not all(value is None or isinstance(value, str) for value in fields.values()):
            return None
        return SessionData(
            sid=payload["sid"], user=fields["user"], fingerprint=fields["fp"], boot=fields["boot"]
        )

    def csrf_token(self, data: SessionData) -> str:
        """The CSRF token of a session: what its forms and htmx requests must send back."""
        return hmac.new(self._secret, b"csrf:" + data.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, data: SessionData | None, given: str | None) -> bool:
        """Whether ``given`` is the session's CSRF token (compared in constant time)."""
        if data is None or not given:
            return False
        return hmac.compare_digest(self.csrf_token(data), given)
