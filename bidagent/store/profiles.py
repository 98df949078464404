"""Reading the stored advertising profiles (a sync writes them from ``GET /v2/profiles``).

Owns the lookups of ``profiles`` rows: one synced profile (time zone, marketplace) for the cycle,
each profile's time zone for the daemon's schedule. It must not write a profile (the sync does,
``bidagent.store.entity_sync``) nor ask the API for the ones missing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bidagent.store.entities import ProfileRecord

__all__ = ["load_profile", "stored_timezones"]


def load_profile(engine: Engine, profile_id: str) -> ProfileRecord | None:
    """The stored profile ``profile_id``, or None before its first sync."""
    with Session(engine) as session:
        return session.get(ProfileRecord, profile_id)


def stored_timezones(session: Session, profile_ids: Iterable[str]) -> dict[str, str]:
    """The stored time zone of each of ``profile_ids`` that has a row; the others are left out."""
    zones: dict[str, str] = {}
    for profile_id in profile_ids:
        profile = session.get(ProfileRecord, profile_id)
        if profile is not None:
            zones[profile_id] = profile.timezone
    return zones
