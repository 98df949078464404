"""The console's people and its own secrets: the ``console_users`` table (name, role, password
hash, API token hash) and the ``console_secrets`` table (the generated session-signing key).

Owns those two tables and every statement over them. It stores hashes as it is given them and
never sees a password or a token: hashing and checking are :mod:`bidagent.console.passwords`'s,
and what a role may do is :mod:`bidagent.console.auth`'s. It must not commit: it writes in the
caller's transaction (except :func:`stored_secret`, which owns its one short transaction so two
processes starting at once agree on one key).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select

from bidagent.store.db import session_scope
from bidagent.store.types import UTCDateTime

__all__ = [
    "ConsoleSecretRecord",
    "UserRecord",
    "delete_user",
    "insert_user",
    "list_users",
    "set_api_token",
    "stored_secret",
    "user_by_name",
    "user_by_token_hash",
    "user_count",
]


class UserRecord(SQLModel, table=True):
    """A person who may use the console. ``password_hash`` is argon2 (None: the user signs in
    only through the proxy); ``token_hash`` is the SHA-256 of the user's one API token."""

    __tablename__ = "console_users"

    name: str = Field(primary_key=True, max_length=128)
    role: str = Field(max_length=16)  # viewer | approver | admin
    password_hash: str | None = Field(default=None, max_length=512)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=False)
    )
    token_created_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ConsoleSecretRecord(SQLModel, table=True):
    """A secret the console generated for itself (``session``: the cookie-signing key), kept so
    sessions survive restarts and every replica on the database signs alike."""

    __tablename__ = "console_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=512)
    created_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=False)
    )


def insert_user(session: Session, record: UserRecord) -> bool:
    """Add ``record``; False (and nothing added) when a user of that name exists."""
    return _insert_new(session, record)


def user_by_name(session: Session, name: str) -> UserRecord | None:
    """The user called ``name``, or None."""
    return session.get(UserRecord, name)


def user_by_token_hash(session: Session, token_hash: str) -> UserRecord | None:
    """The user whose API token hashes to ``token_hash``, or None."""
    return session.exec(select(UserRecord).where(UserRecord.token_hash == token_hash)).first()


def list_users(session: Session) -> list[UserRecord]:
    """Every user, by name."""
    return list(session.exec(select(UserRecord).order_by(col(UserRecord.name))))


def user_count(session: Session) -> int:
    """How many users exist."""
    return session.exec(select(func.count()).select_from(UserRecord)).one()


def delete_user(session: Session, name: str) -> bool:
    """Remove the user called ``name``; False when there is none."""
    record = session.get(UserRecord, name)
    if record is None:
        return False
    session.delete(record)
    session.flush()
    return True


def set_api_token(session: Session, name: str, token_hash: str, now: dt.datetime) -> bool:
    """Give ``name`` a new API token (its hash), replacing the old one; False when no such user."""
    record = session.get(UserRecord, name)
    if record is None:
        return False
    record.token_hash = token_hash
    record.token_created_at = now
    session.add(record)
    return True


def stored_secret(engine: Engine, name: str, generated: str, now: dt.datetime) -> str:
    """The secret called ``name``: the stored one, else ``generated`` stored now. Two processes
    racing to store one both end with the value that won."""
    with session_scope(engine) as session:
        found = session.get(ConsoleSecretRecord, name)
        if found is not None:
            return found.value
        if _insert_new(session, ConsoleSecretRecord(name=name, value=generated, created_at=now)):
            return generated
        winner = session.get(ConsoleSecretRecord, name)
        assert winner is not None
        return winner.value


def _insert_new(session: Session, record: SQLModel) -> bool:
    """Insert ``record`` in a savepoint; False (the caller's transaction still usable) when a
    row with its key exists, another writer's perhaps."""
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return False
    return True
