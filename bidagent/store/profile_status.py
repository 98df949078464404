"""Where each profile stands, as the console's overview and ``/metrics`` show it: its synced
record, its newest cycle and newest successful one, the newest day each report source covered;
and, beside them, the kill switch's rows and the notification outbox by status.

Owns those read-only statements over ``profiles``, ``cycles``, ``report_days``, ``controls``
and ``notifications``. It must not write, and must not compute ages or render: the console
turns dates into "2 days old" with the agent's clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, func, select

from bidagent.store.entities import ProfileRecord, ReportDayRecord
from bidagent.store.ledger import ControlRecord, CycleRecord, NotificationRecord

__all__ = ["ProfileStatus", "notification_status_counts", "profile_statuses", "switch_rows"]


@dataclass(frozen=True)
class ProfileStatus:
    """One profile's standing: None where nothing is known yet."""

    profile_id: str
    name: str | None = None
    timezone: str | None = None
    currency_code: str | None = None
    last_cycle: CycleRecord | None = None
    last_success: CycleRecord | None = None
    # Report source (targets, search_terms, campaigns) -> the newest day it covered.
    newest_days: dict[str, dt.date] = field(default_factory=dict)


def _newest_cycles(session: Session, *, succeeded: bool) -> dict[str, CycleRecord]:
    newest = select(func.max(CycleRecord.id)).group_by(col(CycleRecord.profile_id))
    if succeeded:
        newest = newest.where(CycleRecord.outcome == "succeeded")
    rows = session.exec(select(CycleRecord).where(col(CycleRecord.id).in_(newest)))
    return {row.profile_id: row for row in rows}


def profile_statuses(session: Session) -> list[ProfileStatus]:
    """Every profile that was synced or has a cycle, by id."""
    profiles = {p.profile_id: p for p in session.exec(select(ProfileRecord))}
    last = _newest_cycles(session, succeeded=False)
    success = _newest_cycles(session, succeeded=True)
    days: dict[str, dict[str, dt.date]] = {}
    query = select(
        ReportDayRecord.profile_id, ReportDayRecord.source, func.max(ReportDayRecord.date)
    ).group_by(col(ReportDayRecord.profile_id), col(ReportDayRecord.source))
    for profile_id, source, newest in session.exec(query):
        days.setdefault(profile_id, {})[source] = newest
    found = []
    for profile_id in sorted({*profiles, *last}):
        record = profiles.get(profile_id)
        found.append(
            ProfileStatus(
                profile_id=profile_id,
                name=record.name if record else None,
                timezone=record.timezone if record else None,
                currency_code=record.currency_code if record else None,
                last_cycle=last.get(profile_id),
                last_success=success.get(profile_id),
                newest_days=days.get(profile_id, {}),
            )
        )
    return found


def switch_rows(session: Session) -> list[ControlRecord]:
    """Every kill-switch row (engaged or released), by scope."""
    return list(session.exec(select(ControlRecord).order_by(col(ControlRecord.scope))))


def notification_status_counts(session: Session) -> dict[str, int]:
    """Outbox rows by status (``pending``, ``sent``, ``dead``); absent statuses are left out."""
    query = select(NotificationRecord.status, func.count()).group_by(col(NotificationRecord.status))
    return {row[0]: row[1] for row in session.exec(query)}
