"""Managing the console's users: add, list, remove, issue an API token (``bidagent users``).

Owns the roles (:data:`ROLES`, weakest first) and the checks on a new user (a known role, a
usable name, a password of some length). It must not build SQL (the rows are
:mod:`bidagent.store.users`') nor print: the CLI renders what it returns.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, get_args

from bidagent.console.passwords import hash_password, new_api_token
from bidagent.errors import ConsoleError
from bidagent.store import Engine, Session, UserRecord, session_scope
from bidagent.store import users as user_rows

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "Role",
    "add_user",
    "issue_token",
    "list_users",
    "remove_user",
]

Role = Literal["viewer", "approver", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)  # each may do what the ones before it may
MIN_PASSWORD_LENGTH = 8
# What a name may be: it is recorded as the decider and reverter in the ledger and shown in pages.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConsoleError(
            f"user name {name!r}: letters, digits and . _ @ + - only, at most 128, "
            "starting with a letter or digit"
        )


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise ConsoleError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def add_user(
    engine: Engine, name: str, role: str, password: str | None, *, now: datetime
) -> UserRecord:
    """Add a user; ``password`` None makes one who signs in only through the proxy."""
    _check_name(name)
    checked = _check_role(role)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ConsoleError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    record = UserRecord(
        name=name,
        role=checked,
        password_hash=hash_password(password) if password is not None else None,
        created_at=now,
    )
    with session_scope(engine) as session:
        if not user_rows.insert_user(session, record):
            raise ConsoleError(f"user {name!r} exists already")
    return record


def list_users(engine: Engine) -> list[UserRecord]:
    """Every user, by name."""
    with Session(engine) as session:
        return user_rows.list_users(session)


def remove_user(engine: Engine, name: str) -> None:
    """Remove a user: their sessions and API token stop working at the next request."""
    with session_scope(engine) as session:
        if not user_rows.delete_user(session, name):
            raise ConsoleError(f"no user {name!r}")


def issue_token(engine: Engine, name: str, *, now: datetime) -> str:
    """A new API token for ``name`` (shown once; it replaces the user's previous token)."""
    token, digest = new_api_token()
    with session_scope(engine) as session:
        if not user_rows.set_api_token(session, name, digest, now):
            raise ConsoleError(f"no user {name!r}")
    return token
