"""Refresh Amazon's suggested bids into the store, a few ad groups per cycle.

Owns the choice of which ad groups are due (never fetched first, then the oldest fetch, only ad
groups with enabled targets in enabled ad groups and campaigns) and the call per ad group; the
queries and the replacement of an ad group's stored rows are ``bidagent.store.bid_suggestions``.
Suggestions are advice a rule may read
(``suggested_bid``), never a change: so a failed call never fails the cycle. A refusal of one ad
group (a 4xx other than throttling or auth, such as the documented 422 for an ad group without
an ASIN) is recorded against that group with a back-off and the refresh goes on to the others;
any other failure (throttled, auth, 5xx, a malformed answer) ends this cycle's refresh, and the
next cycle picks the same ad groups up. It must not decide bids, nor query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timedelta

import structlog

from bidagent.ads import AdsClient
from bidagent.ads.models import Target
from bidagent.errors import AdsError, ApiError
from bidagent.store import Engine
from bidagent.store.bid_suggestions import (
    enabled_targets,
    record_refusal,
    refused_until,
    replace_bid_suggestions,
    suggestion_fetches,
)

__all__ = ["due_ad_groups", "refresh_bid_suggestions"]

log = structlog.get_logger(__name__)

# A refused ad group waits max_age, then twice that, ... up to this many times max_age: an ad
# group without an ASIN is likely to stay so for a while, but is not given up on.
MAX_BACKOFF_FACTOR = 8


def refusal_backoff(max_age: timedelta) -> Callable[[int], timedelta]:
    """How long after its ``n``-th refusal in a row an ad group is due again."""
    return lambda n: max_age * min(2 ** (n - 1), MAX_BACKOFF_FACTOR)


def _is_refusal(exc: AdsError) -> bool:
    """A 4xx about this ad group's request (not throttling, auth or a malformed answer)."""
    return type(exc) is ApiError and exc.status is not None and 400 <= exc.status < 500


def due_ad_groups(
    engine: Engine, profile_id: str, *, now: datetime, max_age: timedelta, limit: int
) -> list[str]:
    """Ad groups whose suggestions are missing or older than ``max_age``, most overdue first.

    An ad group counts as fetched at its newest suggestion: a target added since waits for the
    ad group's next turn, which keeps one ad group with a target Amazon cannot suggest for (a
    refined category) from being fetched on every cycle.
    """
    if limit <= 0:
        return []
    cutoff = now - max_age
    rows = suggestion_fetches(engine, profile_id)
    refused = refused_until(engine, profile_id)
    due = [
        (at, group)
        for group, at in rows
        if (at is None or at <= cutoff) and refused.get(group, now) <= now
    ]
    # Never fetched (None) first, then the oldest; ties by id so the order is reproducible.
    due.sort(key=lambda item: (item[0] is not None, item[0] or now, item[1]))
    return [group for _, group in due[:limit]]


def refresh_bid_suggestions(
    client: AdsClient,
    engine: Engine,
    profile_id: str,
    *,
    now: datetime,
    max_age: timedelta,
    max_ad_groups: int,
) -> int:
    """Fetch suggestions for the due ad groups and store them; return how many were stored.

    Each ad group's rows are replaced as a whole, so a target that is paused or archived since,
    or no longer gets a suggestion, stops carrying a stale one.
    """
    groups = due_ad_groups(engine, profile_id, now=now, max_age=max_age, limit=max_ad_groups)
    if not groups:
        return 0
    by_group = _enabled_targets(engine, profile_id, groups)
    stored = 0
    for done, group in enumerate(groups):
        try:
            found = client.bid_suggestions(profile_id, by_group.get(group, []))
        except AdsError as exc:
            if _is_refusal(exc):
                retry_at = record_refusal(
                    engine, profile_id, group, status=int(exc.status or 0), reason=str(exc),
                    now=now, backoff=refusal_backoff(max_age),
                )  # fmt: skip
                log.warning("bid_suggestions_refused", profile_id=profile_id, ad_group_id=group,
                            status=exc.status, error=str(exc), retry_at=retry_at.isoformat())  # fmt: skip
                continue
            log.warning("bid_suggestions_failed", profile_id=profile_id, ad_group_id=group,
                        error=str(exc), ad_groups_done=done, ad_groups_left=len(groups) - done)  # fmt: skip
            break
        rows = [
            {"kind": s.kind, "target_id": s.target_id, "profile_id": profile_id,
             "ad_group_id": group, "low": s.low, "median": s.median, "high": s.high,
             "fetched_at": now}
            for s in found
        ]  # fmt: skip
        replace_bid_suggestions(engine, profile_id, group, rows)
        stored += len(rows)
    log.debug("bid_suggestions_refreshed", profile_id=profile_id, ad_groups=len(groups),
             suggestions=stored)  # fmt: skip
    return stored


def _enabled_targets(engine: Engine, profile_id: str, groups: list[str]) -> dict[str, list[Target]]:
    """The enabled keywords and targets of ``groups``, as the client's ``Target`` (whose fields
    are columns of the targets table under the same names)."""
    names = [f.name for f in fields(Target)]
    rows = enabled_targets(engine, profile_id, groups, names)
    return {group: [Target(**row) for row in members] for group, members in rows.items()}
