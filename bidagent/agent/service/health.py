"""Is the agent alive and on time? Used by ``bidagent health`` (the Docker HEALTHCHECK) and the
daemon's ``/healthz``.

Healthy when the database answers, the newest cycle record did not fail nor have every rule
held for stale data (outcome ``failed`` or ``stale``), and it was written, by the wall clock,
no longer ago than one schedule period plus the misfire grace (on the in-process sandbox the
period is ``sandbox.seconds_per_day`` and the grace a minute). Before the first cycle, a process
that started within that allowance counts as healthy; with no start time known, it does not.
Cycle timestamps follow the agent's (possibly simulated) clock, so the check reads
``recorded_at``, which is always wall time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bidagent.errors import StoreError
from bidagent.settings import Settings
from bidagent.store import Engine
from bidagent.store.ledger_summary import newest_recorded_cycle

__all__ = ["UNHEALTHY_OUTCOMES", "allowance", "check_health"]

# The newest cycle ended so: the agent is up but not doing its work (a sync the API refused,
# or data too stale for any rule to act), which a person must hear about.
UNHEALTHY_OUTCOMES = frozenset({"failed", "stale"})


def allowance(settings: Settings) -> timedelta:
    """How old the newest cycle may be before the agent counts as stuck."""
    if settings.ads.backend == "sandbox":
        return timedelta(seconds=settings.sandbox.seconds_per_day) + timedelta(minutes=1)
    return timedelta(days=1) + timedelta(seconds=settings.schedule.misfire_grace_s)


def check_health(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    started: datetime | None = None,
) -> tuple[bool, str]:
    """``(healthy, reason)``; never raises for a database problem, it reports it."""
    wall = now or datetime.now(UTC)
    limit = allowance(settings)
    try:
        last = newest_recorded_cycle(engine)
    except StoreError as exc:
        return False, str(exc)
    if last is None or last.recorded_at is None:
        if started is not None and wall - started <= limit:
            return True, "no cycle yet; within the first period after start"
        return False, "no cycle has finished yet"
    age = wall - last.recorded_at
    reason = (
        f"last cycle {last.id} ({last.profile_id} {last.business_date}) {last.outcome}, "
        f"{int(age.total_seconds())}s ago; allowed {int(limit.total_seconds())}s"
    )
    if last.outcome in UNHEALTHY_OUTCOMES:
        return False, f"{reason}: {last.error or last.outcome}"
    return age <= limit, reason
