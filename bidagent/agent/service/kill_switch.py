"""The kill switch: a global and a per-profile pause, stored in the database.

It lives in the database, not in memory, so ``bidagent pause`` in one shell stops a daemon running
in another. The sender checks it right before every batch (``ensure_not_paused``); a paused agent
still syncs, plans and records, it only does not send. The rows themselves are
:mod:`bidagent.store.kill_switch`'s.
"""

from __future__ import annotations

from datetime import datetime

from bidagent.errors import PausedError
from bidagent.store import Engine, Session, session_scope
from bidagent.store.kill_switch import paused_scopes, set_switch

__all__ = ["GLOBAL_SCOPE", "ensure_not_paused", "pause", "resume"]

GLOBAL_SCOPE = "global"


def pause(
    engine: Engine, *, scope: str = GLOBAL_SCOPE, reason: str | None, by: str, now: datetime
) -> None:
    """Engage the kill switch for ``scope`` (``global`` or a profile id)."""
    with session_scope(engine) as session:
        set_switch(session, scope, paused=True, reason=reason, by=by, now=now)


def resume(engine: Engine, *, scope: str = GLOBAL_SCOPE, by: str, now: datetime) -> None:
    """Release the kill switch for ``scope``."""
    with session_scope(engine) as session:
        set_switch(session, scope, paused=False, reason=None, by=by, now=now)


def ensure_not_paused(engine: Engine, profile_id: str) -> None:
    """Raise :class:`PausedError` if the global or this profile's switch is engaged."""
    with Session(engine) as session:
        scopes = paused_scopes(session)
    for scope in (GLOBAL_SCOPE, profile_id):
        if scope in scopes:
            record = scopes[scope]
            why = f": {record.reason}" if record.reason else ""
            raise PausedError(f"kill switch engaged for {scope} by {record.changed_by}{why}")
