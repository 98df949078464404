"""Which advertising profiles the agent manages, and what a person needs to know of each.

Configured ``[[profiles]]`` (enabled ones) when there are any; otherwise every profile the
account can edit, as ``GET /v2/profiles`` lists them, which is what makes the sandbox demo work
with no configuration at all. :func:`managed_profiles` adds each one's name, marketplace,
currency, time zone (as synced, else as the API lists it) and its last cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bidagent.agent.context import AgentContext
from bidagent.errors import AgentError
from bidagent.store import Session
from bidagent.store.cycles import last_cycles
from bidagent.store.entity_names import entity_names

__all__ = ["ManagedProfile", "managed_profiles", "profile_ids"]


def profile_ids(ctx: AgentContext, only: str | None = None) -> list[str]:
    """Profile ids to run, or just ``only`` (which must be one of them)."""
    configured = [p.profile_id for p in ctx.settings.profiles if p.enabled]
    ids = configured or [str(p.profile_id) for p in ctx.client.list_profiles()]
    if only is None:
        return ids
    if only not in ids:
        raise AgentError(f"profile {only} is not managed here; known: {', '.join(ids) or 'none'}")
    return [only]


@dataclass(frozen=True)
class ManagedProfile:
    """One managed profile as ``bidagent profiles`` lists it."""

    profile_id: str
    name: str | None
    country_code: str | None
    currency_code: str | None
    timezone: str | None
    last_cycle_id: int | None = None
    last_business_date: date | None = None
    last_outcome: str | None = None
    last_finished_at: datetime | None = None


def managed_profiles(ctx: AgentContext) -> list[ManagedProfile]:
    """Every managed profile with its marketplace and its newest cycle, in :func:`profile_ids`
    order; a profile never synced is described as the API lists it."""
    ids = profile_ids(ctx)
    with Session(ctx.engine) as session:
        stored = entity_names(session, profile_ids=ids).profiles
        cycles = last_cycles(session, ids)
    listed = (
        {p.profile_id: p for p in ctx.client.list_profiles()}
        if any(i not in stored for i in ids)
        else {}
    )
    out = []
    for profile_id in ids:
        known = stored.get(profile_id) or listed.get(profile_id)
        cycle = cycles.get(profile_id)
        out.append(
            ManagedProfile(
                profile_id=profile_id,
                name=known.name if known else None,
                country_code=known.country_code if known else None,
                currency_code=known.currency_code if known else None,
                timezone=known.timezone if known else None,
                last_cycle_id=cycle.id if cycle else None,
                last_business_date=cycle.business_date if cycle else None,
                last_outcome=cycle.outcome if cycle else None,
                last_finished_at=cycle.finished_at if cycle else None,
            )
        )
    return out
