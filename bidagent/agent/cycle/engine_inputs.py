"""The engine's inputs and settings for one profile, as ``bidagent rules run`` and the cycle need them.

Owns resolving a profile's engine settings and its business date, and opening the database for a
one-off read. The reads themselves (SQL, dialects, the columnar child processes) are
:func:`bidagent.store.engine_inputs.read_engine_inputs`; this module must not query.
"""

from __future__ import annotations

from datetime import datetime

from bidagent.business_dates import business_date
from bidagent.durations import parse_duration
from bidagent.engine import EngineInputs, EngineSettings
from bidagent.engine.config import GuardrailConfig
from bidagent.errors import AgentError
from bidagent.marketplaces import marketplace_for
from bidagent.settings import GuardrailSettings, Settings
from bidagent.store import Engine, ProfileRecord, make_engine, prepare_ledger
from bidagent.store.engine_inputs import read_engine_inputs
from bidagent.store.profiles import load_profile

__all__ = ["engine_settings_for", "load_engine_inputs"]


def engine_settings_for(settings: Settings, profile: ProfileRecord) -> EngineSettings:
    """The engine's view of one profile's configuration and marketplace."""
    configured = settings.profile(profile.profile_id)
    return EngineSettings(
        profile_id=profile.profile_id,
        timezone=profile.timezone,
        marketplace=marketplace_for(profile.country_code),
        mode=settings.effective_mode,
        target_acos=settings.target_acos_for(profile.profile_id),
        campaign_target_acos=dict(configured.campaign_target_acos) if configured else {},
        guardrails=guardrail_config(settings.guardrails),
    )


def guardrail_config(guardrails: GuardrailSettings) -> GuardrailConfig:
    """The ``[guardrails]`` section as the engine takes it: durations parsed."""
    return GuardrailConfig(
        min_bid=guardrails.min_bid,
        max_bid=guardrails.max_bid,
        min_budget=guardrails.min_budget,
        max_budget=guardrails.max_budget,
        max_step=guardrails.max_step,
        cooldown=parse_duration(guardrails.cooldown),
        external_edit_cooldown=(
            None
            if guardrails.external_edit_cooldown is None
            else parse_duration(guardrails.external_edit_cooldown)
        ),
        settle=parse_duration(guardrails.settle),
        max_data_age=parse_duration(guardrails.max_data_age),
        max_changes_per_cycle=guardrails.max_changes_per_cycle,
        max_changes_pct=guardrails.max_changes_pct,
    )


def load_engine_inputs(
    settings: Settings, profile_id: str, now: datetime, *, engine: Engine | None = None
) -> tuple[EngineInputs, EngineSettings]:
    """Everything the engine needs for one profile at ``now``, read from the configured database."""
    db = engine or make_engine(settings.database.url)
    if engine is None:
        prepare_ledger(db, create=settings.creates_ledger)
    profile = load_profile(db, profile_id)
    if profile is None:
        raise AgentError(
            f"profile {profile_id} is not in the database yet; run `bidagent cycle` once to sync it"
        )
    engine_settings = engine_settings_for(settings, profile)
    today = business_date(now, profile.timezone)
    with db.connect() as connection:
        inputs = read_engine_inputs(connection, profile_id, today)
    return inputs, engine_settings
