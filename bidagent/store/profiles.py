"""Reading the stored advertising profiles (a sync writes them from ``GET /v2/profiles``).

Owns the lookups of ``profiles`` rows that the service needs, such as each profile's time zone
for scheduling. It must not write a profile (the sync does) nor ask the API for the ones missing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from bidagent.store.entities import ProfileRecord

__all__ = ["stored_timezones"]


def stored_timezones(session: Session, profile_ids: Iterable[str]) -> dict[str, str]:
    """The stored time zone of each of ``profile_ids`` that has a row; the others are left out."""
    zones: dict[str, str] = {}
    for profile_id in profile_ids:
        profile = session.get(ProfileRecord, profile_id)
        if profile is not None:
            zones[profile_id] = profile.timezone
    return zones
