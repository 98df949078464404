"""The kill switch's rows: one ``controls`` row per scope (``global`` or a profile id).

Owns reading and writing those rows. It must not decide what a pause means (the sender's check
before every batch: :mod:`bidagent.agent.service.kill_switch`) and must not commit: it writes in
the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bidagent.store.ledger import ControlRecord

__all__ = ["paused_scopes", "set_switch"]


def set_switch(
    session: Session, scope: str, *, paused: bool, reason: str | None, by: str, now: datetime
) -> None:
    """Engage (``paused``) or release the switch of ``scope``, creating its row if need be."""
    record = session.get(ControlRecord, scope) or ControlRecord(scope=scope)
    record.paused = paused
    record.reason = reason
    record.changed_by = by
    record.changed_at = now
    session.add(record)


def paused_scopes(session: Session) -> dict[str, ControlRecord]:
    """Every scope whose switch is engaged, by scope."""
    rows = session.exec(select(ControlRecord).where(ControlRecord.paused == True))  # noqa: E712
    return {row.scope: row for row in rows}
