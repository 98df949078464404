"""The store: SQLModel tables, the engine/session factory, migrations and bulk fact upserts.

Everything SQL lives here; the engine never sees a session, and ``ads`` never sees a table.
``Session``, ``Engine`` and ``Connection`` are re-exported so the layers above can pass them
through (and name them in type hints) without importing SQLAlchemy themselves.
"""

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bidagent.store.db import (
    database_revision,
    make_engine,
    prepare_ledger,
    session_scope,
    upgrade_database,
)
from bidagent.store.entities import (
    AdGroupRecord,
    BidSuggestionRecord,
    BidSuggestionRefusalRecord,
    CampaignFactRecord,
    CampaignRecord,
    NegativeRecord,
    ProfileRecord,
    ReportDayRecord,
    SearchTermFactRecord,
    TargetFactRecord,
    TargetRecord,
)
from bidagent.store.ledger import (
    CHANGE_STATUSES,
    REVIEW_KINDS,
    REVIEW_STATUSES,
    BaseBidRecord,
    ChangeRecord,
    ControlRecord,
    CycleRecord,
    NotificationRecord,
    ReviewItemRecord,
)
from bidagent.store.rule_runs import RuleRunRecord
from bidagent.store.upsert import upsert_rows
from bidagent.store.users import ConsoleSecretRecord, UserRecord

__all__ = [
    "CHANGE_STATUSES",
    "REVIEW_KINDS",
    "REVIEW_STATUSES",
    "AdGroupRecord",
    "BaseBidRecord",
    "BidSuggestionRecord",
    "BidSuggestionRefusalRecord",
    "CampaignFactRecord",
    "CampaignRecord",
    "ChangeRecord",
    "Connection",
    "ConsoleSecretRecord",
    "ControlRecord",
    "CycleRecord",
    "Engine",
    "NegativeRecord",
    "NotificationRecord",
    "ProfileRecord",
    "ReportDayRecord",
    "ReviewItemRecord",
    "RuleRunRecord",
    "SearchTermFactRecord",
    "Session",
    "TargetFactRecord",
    "TargetRecord",
    "UserRecord",
    "database_revision",
    "make_engine",
    "prepare_ledger",
    "session_scope",
    "upgrade_database",
    "upsert_rows",
]
