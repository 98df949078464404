"""The engine's inputs and settings for one profile, as ``bidagent rules run`` and the cycle need them.

Owns resolving a profile's engine settings and its business date, and opening the database for a
one-off read. The reads themselves (SQL, dialects, the columnar child processes) are
:func:`bidagent.store.engine_inputs.read_engine_inputs`; this module must not query.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bidagent.engine import EngineInputs, EngineSettings
from bidagent.errors import AgentError
from bidagent.settings import Settings
from bidagent.store import Engine, ProfileRecord, make_engine, upgrade_database
from bidagent.store.engine_inputs import read_engine_inputs
from bidagent.store.profiles import load_profile

__all__ = ["engine_settings_for", "load_engine_inputs"]


def engine_settings_for(settings: Settings, profile: ProfileRecord) -> EngineSettings:
    """The engine's view of one profile's configuration and marketplace."""
    return EngineSettings.from_settings(
        settings, profile.profile_id, profile.country_code, profile.timezone
    )


def load_engine_inputs(
    settings: Settings, profile_id: str, now: datetime, *, engine: Engine | None = None
) -> tuple[EngineInputs, EngineSettings]:
    """Everything the engine needs for one profile at ``now``, read from the configured database."""
    db = engine or make_engine(settings.database.url)
    if engine is None:
        upgrade_database(db)
    profile = load_profile(db, profile_id)
    if profile is None:
        raise AgentError(
            f"profile {profile_id} is not in the database yet; run `bidagent cycle` once to sync it"
        )
    engine_settings = engine_settings_for(settings, profile)
    today = now.astimezone(ZoneInfo(profile.timezone)).date()
    with db.connect() as connection:
        inputs = read_engine_inputs(connection, profile_id, today)
    return inputs, engine_settings
