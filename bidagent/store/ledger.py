"""Tables of what the agent did and owes: cycles, changes (the intent log), review items, the
notification outbox, the kill switch and dayparting base bids.

The change row is written before any API call and updated after it; no row, no change. Values
are kept as canonical text in ``old_value``/``new_value`` so bids, budgets, states and created
keywords share one column: money is a decimal string already rounded to the marketplace step
(``Decimal(row.new_value)`` round-trips exactly), states are ``enabled``/``paused``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bidagent.store.statuses import CHANGE_STATUSES, REVIEW_STATUSES
from bidagent.store.types import UTCDateTime

__all__ = [
    "CHANGE_STATUSES",
    "REVIEW_KINDS",
    "REVIEW_STATUSES",
    "BaseBidRecord",
    "ChangeRecord",
    "ControlRecord",
    "CycleRecord",
    "NotificationRecord",
    "ReviewItemRecord",
]

REVIEW_KINDS = (
    "approval",
    "guardrail",
    "conflict",
    "circuit_breaker",
    "alert",
    "data",
    "api",
    "rules",
)


def _when(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _json() -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=True))


class CycleRecord(SQLModel, table=True):
    """One run of the cycle for one profile. (profile, business date, schedule) is unique, so a
    double fire or a restart finds the finished cycle and does nothing."""

    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("profile_id", "business_date", "schedule"),)

    id: int | None = Field(default=None, primary_key=True)
    profile_id: str = Field(max_length=32, index=True)
    business_date: dt.date
    schedule: str = Field(default="daily", max_length=128)
    mode: str = Field(max_length=16)  # live | dry_run
    trigger: str = Field(default="cli", max_length=16)  # daemon | cli | backtest
    ruleset_hash: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="running", max_length=16)  # running succeeded failed
    # How far a running cycle got: a restart resumes from "planned" (apply the intent log) instead
    # of planning again, which could propose the same changes twice.
    phase: str = Field(default="started", max_length=16)  # started planned applied
    counts: dict[str, int] | None = _json()
    timings: dict[str, float] | None = _json()
    error: str | None = None
    started_at: dt.datetime | None = _when(nullable=False)
    finished_at: dt.datetime | None = _when()
    # started_at/finished_at follow the agent's clock (simulated on the sandbox); this one is the
    # wall clock when the record was last written, which is what a health check compares.
    recorded_at: dt.datetime | None = _when()


class ReviewItemRecord(SQLModel, table=True):
    """Something a person must decide or know. One open item per dedupe key: a recurring
    problem bumps ``occurrences`` and ``last_seen_at`` instead of opening another."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index(
            "ux_review_items_open_dedupe",
            "dedupe_key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    severity: str = Field(default="warning", max_length=16)  # info | warning | critical
    profile_id: str | None = Field(default=None, max_length=32, index=True)
    entity_kind: str | None = Field(default=None, max_length=24)
    entity_id: str | None = Field(default=None, max_length=256)
    entity_name: str | None = None
    rule_name: str | None = Field(default=None, max_length=128)
    summary: str
    evidence: dict[str, Any] | None = _json()
    status: str = Field(default="open", max_length=16, index=True)
    dedupe_key: str = Field(max_length=512)
    occurrences: int = 1
    first_seen_at: dt.datetime | None = _when(nullable=False)
    last_seen_at: dt.datetime | None = _when(nullable=False)
    expires_at: dt.datetime | None = _when()
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: dt.datetime | None = _when()
    note: str | None = None


class ChangeRecord(SQLModel, table=True):
    """One intended change to one field of one entity: the audit trail and the outbox of sends."""

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_entity", "entity_kind", "entity_id", "field"),
        Index("ix_changes_status", "status"),
        Index("ix_changes_change_set", "change_set"),
        # The review queue's per-item tallies and campaigns (migration 0009).
        Index("ix_changes_review_item_status", "review_item_id", "status"),
        Index("ix_changes_review_item_campaign", "review_item_id", "campaign_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("cycles.id"), nullable=True, index=True)
    )
    profile_id: str = Field(max_length=32, index=True)
    entity_kind: str = Field(max_length=24)
    entity_id: str = Field(max_length=256)
    entity_name: str | None = None
    campaign_id: str | None = Field(default=None, max_length=32)
    ad_group_id: str | None = Field(default=None, max_length=32)
    field: str = Field(max_length=24)  # bid budget state default_bid negative_keyword keyword
    old_value: str | None = None
    new_value: str | None = None
    payload: dict[str, Any] | None = _json()
    rule_name: str | None = Field(default=None, max_length=128, index=True)
    rule_file: str | None = None
    rule_hash: str | None = Field(default=None, max_length=64)
    evidence: dict[str, Any] | None = _json()
    notes: list[str] | None = _json()
    status: str = Field(default="planned", max_length=16)
    reason: str | None = None  # why it failed, was held, superseded or skipped
    error_code: str | None = Field(default=None, max_length=64)
    actor: str = Field(default="rule", max_length=16)  # rule external revert approval user
    reverts_change_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("changes.id"), nullable=True)
    )
    superseded_by: str | None = Field(default=None, max_length=128)
    # Changes that hold together or not at all (a harvest and its source negative): see
    # bidagent.agent.cycle.change_sets.
    change_set: str | None = Field(default=None, max_length=160)
    review_item_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("review_items.id"), nullable=True, index=True),
    )
    remote_id: str | None = Field(default=None, max_length=32)
    attempts: int = 0
    created_at: dt.datetime | None = _when(nullable=False)
    updated_at: dt.datetime | None = _when(nullable=False)
    sent_at: dt.datetime | None = _when()
    finished_at: dt.datetime | None = _when()


class NotificationRecord(SQLModel, table=True):
    """The notification outbox: a row per (event, webhook), retried until delivered."""

    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    review_item_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("review_items.id"), nullable=True)
    )
    event: str = Field(max_length=24)  # opened escalated digest
    webhook: str = Field(max_length=128)
    payload: dict[str, Any] | None = _json()
    status: str = Field(default="pending", max_length=16, index=True)  # pending sent dead
    attempts: int = 0
    next_attempt_at: dt.datetime | None = _when(nullable=False)
    last_error: str | None = None
    created_at: dt.datetime | None = _when(nullable=False)
    sent_at: dt.datetime | None = _when()


class ControlRecord(SQLModel, table=True):
    """The kill switch: scope ``global`` or a profile id. Checked right before every send."""

    __tablename__ = "controls"

    scope: str = Field(primary_key=True, max_length=32)
    paused: bool = False
    reason: str | None = None
    changed_by: str | None = Field(default=None, max_length=128)
    changed_at: dt.datetime | None = _when()


class BaseBidRecord(SQLModel, table=True):
    """The bid a dayparting rule scales from and restores to, so hours never compound."""

    __tablename__ = "base_bids"

    entity_kind: str = Field(primary_key=True, max_length=24)
    entity_id: str = Field(primary_key=True, max_length=32)
    rule_name: str = Field(primary_key=True, max_length=128)
    base_bid: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    set_at: dt.datetime | None = _when(nullable=False)
