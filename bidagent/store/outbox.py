"""The notification outbox's rows: the events waiting to be fanned out, the deliveries that are
due, and each row's own status (``pending`` → ``sent | dead``).

Owns every statement over ``notifications`` and the only writes of a notification row's
``status`` (a test allows them here by name: this table is not the change ledger, so its moves do
not go through :mod:`bidagent.store.transitions`). Taking due rows pushes their next attempt past
a lease, so a second sender does not post them at the same time.

It must not speak HTTP, build a message or decide when to retry or give up:
:mod:`bidagent.agent.review.notify` does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bidagent.store.ledger import NotificationRecord

__all__ = [
    "ALL_WEBHOOKS",
    "last_digest_at",
    "mark_dead",
    "mark_sent",
    "notification_by_id",
    "queued_events",
    "take_due",
]

ALL_WEBHOOKS = "*"  # an outbox row not yet fanned out to the configured webhooks


def queued_events(session: Session) -> list[NotificationRecord]:
    """Pending events not yet fanned out to the webhooks, oldest first."""
    query = (
        select(NotificationRecord)
        .where(NotificationRecord.webhook == ALL_WEBHOOKS, NotificationRecord.status == "pending")
        .order_by(col(NotificationRecord.id))
    )
    return list(session.exec(query))


def take_due(
    session: Session, now: datetime, *, limit: int, lease_until: datetime
) -> list[NotificationRecord]:
    """Up to ``limit`` pending deliveries due by ``now``, soonest first; each one's next attempt
    moves to ``lease_until`` so no other sender takes it meanwhile."""
    rows = list(
        session.exec(
            select(NotificationRecord)
            .where(
                NotificationRecord.status == "pending",
                NotificationRecord.webhook != ALL_WEBHOOKS,
                col(NotificationRecord.next_attempt_at) <= now,
            )
            .order_by(col(NotificationRecord.next_attempt_at), col(NotificationRecord.id))
            .limit(limit)
        )
    )
    for row in rows:
        row.next_attempt_at = lease_until
        session.add(row)
    return rows


def notification_by_id(session: Session, notification_id: int) -> NotificationRecord | None:
    """The outbox row with ``notification_id``, or None."""
    return session.get(NotificationRecord, notification_id)


def mark_sent(row: NotificationRecord, now: datetime) -> None:
    """The row was delivered at ``now``; the caller adds it to its session."""
    row.status, row.sent_at, row.last_error = "sent", now, None


def mark_dead(row: NotificationRecord) -> None:
    """The row will not be tried again; the caller adds it to its session."""
    row.status = "dead"


def last_digest_at(session: Session) -> datetime | None:
    """When the newest digest was queued, or None if none ever was."""
    return session.exec(
        select(func.max(NotificationRecord.created_at)).where(NotificationRecord.event == "digest")
    ).one()
