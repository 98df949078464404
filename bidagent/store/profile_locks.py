"""One writer per profile: the lock that anything sending to the Ads API for a profile holds.

A cycle (sync, external-edit detection, plan, apply), a revert and an approval each hold their
profile's lock for as long as they may send, so two processes (or two threads of one daemon)
never sync mid-apply, take over each other's running cycle, or send the same change twice.

* **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock`` on a stable 64-bit hash
  of the profile id, held on a connection of its own for the lock's life. The server drops it
  when that session ends, so a process that dies (or a machine that vanishes, once its TCP
  session times out) never leaves it behind. The holder names itself in that session's
  ``application_name``; a waiter finds it through ``pg_locks`` and ``pg_stat_activity``.
* **SQLite file**: an exclusive ``fcntl.flock`` on ``<database>.profile-<id>.lock`` beside the
  database file, the holder written into the file. Chosen over a lock row with a heartbeat
  because the kernel drops a flock the instant its process dies: no expiry to tune, no stale
  row to steal, and no write to a database that may itself be busy. A SQLite file is one
  machine's by nature (it must not live on a network share), so a local lock covers every writer.
* **In-memory SQLite**: the database exists only inside one process, so a lock in that process
  (keyed by engine and profile) covers every writer there can be.

It must not decide what runs under the lock: callers (``bidagent.agent``) do.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bidagent.errors import ProfileBusyError

__all__ = ["LockHolder", "hold_profile", "hold_profiles", "lock_key"]

_POLL_S = 0.1
_APP_PREFIX = "bidagent "
_LOCAL_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_LOCAL_HOLDERS: dict[tuple[int, str], LockHolder] = {}
_LOCAL_GUARD = threading.Lock()


@dataclass(frozen=True)
class LockHolder:
    """Who holds a profile's lock: process id, host, what it runs, since when."""

    pid: int
    host: str
    command: str
    since: datetime

    @classmethod
    def me(cls, command: str) -> LockHolder:
        """This process, holding from now."""
        return cls(os.getpid(), socket.gethostname(), command, datetime.now(UTC))

    def describe(self) -> str:
        """``<pid> on <host> (<command>) since <time>``, as the busy message names it."""
        since = self.since.isoformat(timespec="seconds")
        return f"{self.pid} on {self.host} ({self.command}) since {since}"

    def to_text(self) -> str:
        """One line of JSON, as written into the lock file."""
        return json.dumps(
            {"pid": self.pid, "host": self.host, "cmd": self.command,
             "since": self.since.isoformat(timespec="seconds")},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_text(cls, raw: str) -> LockHolder | None:
        """The holder :meth:`to_text` wrote; None when it cannot be read."""
        try:
            data = json.loads(raw)
            since = datetime.fromisoformat(data["since"])
            return cls(int(data["pid"]), str(data["host"]), str(data["cmd"]), since)
        except (ValueError, KeyError, TypeError):
            return None


def lock_key(profile_id: str) -> int:
    """The profile's advisory-lock key: a signed 64-bit hash, the same in every process."""
    digest = hashlib.blake2b(f"bidagent-profile:{profile_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _busy(profile_id: str, holder: LockHolder | None) -> ProfileBusyError:
    who = holder.describe() if holder is not None else "another process"
    return ProfileBusyError(f"profile {profile_id} is busy: held by {who}", profile_id=profile_id)


def _poll(attempt: Callable[[], bool], wait_s: float) -> bool:
    """Try until an attempt succeeds or ``wait_s`` has passed (always at least once)."""
    deadline = time.monotonic() + max(wait_s, 0.0)
    while not attempt():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


@contextmanager
def _hold_postgres(
    engine: Engine, profile_id: str, me: LockHolder, wait_s: float
) -> Iterator[None]:
    key = lock_key(profile_id)
    connection = engine.connect()
    try:
        connection.commit()  # autobegin's transaction must not pin the lock to a transaction

        def attempt() -> bool:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            connection.commit()
            return bool(got)

        if not _poll(attempt, wait_s):
            raise _busy(profile_id, _postgres_holder(connection, key))
        # application_name keeps 63 bytes: pid and host first, the command as far as it fits.
        name = f"{_APP_PREFIX}{me.pid} {me.host} {me.command}"[:63]
        connection.execute(text("SELECT set_config('application_name', :n, false)"), {"n": name})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.execute(text("RESET application_name"))
            connection.commit()
    finally:
        connection.close()


def _postgres_holder(connection: Connection, key: int) -> LockHolder | None:
    """The session holding ``key``, named as its holder named it (pid, host; the command when
    it fit in ``application_name``); ``since`` is when it took the lock."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = connection.execute(
        text(
            "SELECT a.application_name, a.query_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid = :hi AND l.objid = :lo "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
    ).first()
    connection.commit()
    if row is None or not str(row[0] or "").startswith(_APP_PREFIX):
        return None
    parts = str(row[0])[len(_APP_PREFIX) :].split(" ", 2)
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    command = parts[2] if len(parts) == 3 else "?"
    return LockHolder(int(parts[0]), parts[1], command, row[1] or datetime.now(UTC))


def _sqlite_path(engine: Engine) -> str | None:
    """The database file, or None for an in-memory database."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


@contextmanager
def _hold_file(path: Path, profile_id: str, me: LockHolder, wait_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:

        def attempt() -> bool:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not _poll(attempt, wait_s):
            handle.seek(0)
            raise _busy(profile_id, LockHolder.from_text(handle.read().strip()))
        handle.seek(0)
        handle.truncate()
        handle.write(me.to_text() + "\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


@contextmanager
def _hold_local(engine: Engine, profile_id: str, me: LockHolder, wait_s: float) -> Iterator[None]:
    key = (id(engine), profile_id)
    with _LOCAL_GUARD:
        lock = _LOCAL_LOCKS.setdefault(key, threading.Lock())
    if not (lock.acquire(timeout=wait_s) if wait_s > 0 else lock.acquire(blocking=False)):
        raise _busy(profile_id, _LOCAL_HOLDERS.get(key))
    _LOCAL_HOLDERS[key] = me
    try:
        yield
    finally:
        _LOCAL_HOLDERS.pop(key, None)
        lock.release()


@contextmanager
def hold_profile(engine: Engine, profile_id: str, *, owner: str, wait_s: float) -> Iterator[None]:
    """Hold ``profile_id``'s lock for the block; wait up to ``wait_s`` seconds for it, then raise
    :class:`ProfileBusyError` naming the holder. ``owner`` says what this process runs."""
    me = LockHolder.me(owner)
    if engine.dialect.name == "postgresql":
        holder = _hold_postgres(engine, profile_id, me, wait_s)
    elif (database := _sqlite_path(engine)) is not None:
        holder = _hold_file(Path(f"{database}.profile-{profile_id}.lock"), profile_id, me, wait_s)
    else:
        holder = _hold_local(engine, profile_id, me, wait_s)
    with holder:
        yield


@contextmanager
def hold_profiles(
    engine: Engine, profile_ids: Iterable[str], *, owner: str, wait_s: float
) -> Iterator[None]:
    """Hold several profiles' locks, taken in sorted order so two such holders cannot deadlock."""
    with ExitStack() as stack:
        for profile_id in sorted(set(profile_ids)):
            stack.enter_context(hold_profile(engine, profile_id, owner=owner, wait_s=wait_s))
        yield
