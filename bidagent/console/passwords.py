"""Password and API-token hashing for the console's users.

Passwords are hashed with argon2id (argon2-cffi's defaults: memory-hard, salted, the parameters
stored in the hash, so they can be raised later). API tokens are 256 random bits: a plain
SHA-256 of one is safe to store and lets a request's token be looked up by its hash. It must not
touch the database: :mod:`bidagent.console.users` stores what it returns.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["TOKEN_PREFIX", "hash_password", "hash_token", "new_api_token", "verify_password"]

_HASHER = PasswordHasher()
TOKEN_PREFIX = "bda_"  # noqa: S105 - a prefix, not a secret; tells an API token apart from a password in a paste or a leak scan
# A hash to check against when the user does not exist, so a wrong name costs what a wrong
# password costs and timing does not tell which names exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (None: no password; always False, after the
    same work as a real check)."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str]:
    """``(token, its hash)``: the token is shown once, only the hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of an API token: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
