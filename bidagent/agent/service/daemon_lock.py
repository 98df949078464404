"""One daemon per SQLite database: an exclusive ``flock`` on ``<database>.lock`` for its lifetime.

Two daemons on one SQLite file would both plan and apply the same changes; the lock makes the
second refuse to start with a message naming the first. The kernel drops the lock when the
process dies, so a crash never leaves a stale lock behind. PostgreSQL needs none: cycles there
are idempotent per (profile, business date) and several replicas may run. It must not schedule
or run anything.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from bidagent.errors import DaemonLockedError
from bidagent.settings import Settings

__all__ = ["acquire_daemon_lock"]


def acquire_daemon_lock(settings: Settings) -> IO[str] | None:
    """Hold an exclusive lock for the daemon's lifetime (SQLite only; None on PostgreSQL)."""
    url = settings.database.url
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    path = Path(url.removeprefix("sqlite:///") + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise DaemonLockedError(
            f"another bidagent daemon ({owner}) already runs on {url}; "
            "one daemon per SQLite database (stop it first, or use PostgreSQL for several)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle
