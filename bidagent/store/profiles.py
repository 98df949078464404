"""Profile records: the one read of a synced advertising profile (time zone, marketplace).

Sync writes profiles (``bidagent.store.entity_sync``); this module must not write.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bidagent.store.entities import ProfileRecord

__all__ = ["load_profile"]


def load_profile(engine: Engine, profile_id: str) -> ProfileRecord | None:
    """The stored profile ``profile_id``, or None before its first sync."""
    with Session(engine) as session:
        return session.get(ProfileRecord, profile_id)
