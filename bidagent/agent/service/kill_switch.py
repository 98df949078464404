"""The kill switch: a global and a per-profile pause, stored in the database.

It lives in the database, not in memory, so ``bidagent pause`` in one shell stops a daemon running
in another. The sender checks it right before every batch (``ensure_not_paused``); a paused agent
still syncs, plans and records, it only does not send.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bidagent.errors import PausedError
from bidagent.store import ControlRecord, session_scope

__all__ = ["GLOBAL_SCOPE", "ensure_not_paused", "pause", "paused_scopes", "resume"]

GLOBAL_SCOPE = "global"


def pause(
    engine: Engine, *, scope: str = GLOBAL_SCOPE, reason: str | None, by: str, now: datetime
) -> None:
    """Engage the kill switch for ``scope`` (``global`` or a profile id)."""
    with session_scope(engine) as session:
        record = session.get(ControlRecord, scope) or ControlRecord(scope=scope)
        record.paused = True
        record.reason = reason
        record.changed_by = by
        record.changed_at = now
        session.add(record)


def resume(engine: Engine, *, scope: str = GLOBAL_SCOPE, by: str, now: datetime) -> None:
    """Release the kill switch for ``scope``."""
    with session_scope(engine) as session:
        record = session.get(ControlRecord, scope) or ControlRecord(scope=scope)
        record.paused = False
        record.reason = None
        record.changed_by = by
        record.changed_at = now
        session.add(record)


def paused_scopes(session: Session) -> dict[str, ControlRecord]:
    """Every scope whose switch is engaged, by scope."""
    rows = session.exec(select(ControlRecord).where(ControlRecord.paused == True))  # noqa: E712
    return {row.scope: row for row in rows}


def ensure_not_paused(engine: Engine, profile_id: str) -> None:
    """Raise :class:`PausedError` if the global or this profile's switch is engaged."""
    with Session(engine) as session:
        scopes = paused_scopes(session)
    for scope in (GLOBAL_SCOPE, profile_id):
        if scope in scopes:
            record = scopes[scope]
            why = f": {record.reason}" if record.reason else ""
            raise PausedError(f"kill switch engaged for {scope} by {record.changed_by}{why}")
