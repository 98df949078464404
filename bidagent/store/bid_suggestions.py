"""Amazon's suggested bids as stored: when each ad group was last fetched, the enabled targets
to ask about, replacing one ad group's rows, and the ad groups Amazon refused (with when each is
due again).

Suggestions are advice a rule may read; the engine reads them through
``bidagent.store.engine_inputs``. This module must not choose which ad groups are due (the
agent's ``bid_suggestions`` does) nor call the API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bidagent.store.entities import (
    AdGroupRecord,
    BidSuggestionRecord,
    BidSuggestionRefusalRecord,
    CampaignRecord,
    TargetRecord,
)
from bidagent.store.types import UTCDateTime
from bidagent.store.upsert import upsert_rows

__all__ = [
    "enabled_targets",
    "record_refusal",
    "refused_until",
    "replace_bid_suggestions",
    "suggestion_fetches",
]

_CHUNK = 500  # ad group ids per IN (...), well under SQLite's variable limit


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def suggestion_fetches(engine: Engine, profile_id: str) -> list[tuple[str, datetime | None]]:
    """(ad group, newest suggestion's fetch time or None) for every ad group of ``profile_id``
    with enabled targets in an enabled ad group and campaign."""
    targets, groups, campaigns, suggestions = (
        _table(TargetRecord),
        _table(AdGroupRecord),
        _table(CampaignRecord),
        _table(BidSuggestionRecord),
    )
    fetched = func.max(suggestions.c.fetched_at, type_=UTCDateTime())
    query = (
        select(targets.c.ad_group_id, fetched)
        .join(groups, groups.c.ad_group_id == targets.c.ad_group_id)
        .join(campaigns, campaigns.c.campaign_id == targets.c.campaign_id)
        .outerjoin(
            suggestions,
            (suggestions.c.kind == targets.c.kind)
            & (suggestions.c.target_id == targets.c.target_id),
        )
        .where(
            targets.c.profile_id == profile_id,
            targets.c.state == "enabled",
            groups.c.state == "enabled",
            campaigns.c.state == "enabled",
        )
        .group_by(targets.c.ad_group_id)
    )
    with engine.connect() as connection:
        return [(group, at) for group, at in connection.execute(query).all()]


def enabled_targets(
    engine: Engine, profile_id: str, groups: list[str], columns: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The enabled targets of ``groups`` by ad group, each as ``columns`` of the targets table."""
    targets = _table(TargetRecord)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with engine.connect() as connection:
        for start in range(0, len(groups), _CHUNK):
            query = select(*(targets.c[name] for name in columns)).where(
                targets.c.profile_id == profile_id,
                targets.c.state == "enabled",
                targets.c.ad_group_id.in_(groups[start : start + _CHUNK]),
            )
            for row in connection.execute(query).mappings():
                out[row["ad_group_id"]].append({name: row[name] for name in columns})
    return out


def replace_bid_suggestions(
    engine: Engine, profile_id: str, ad_group_id: str, rows: list[dict[str, Any]]
) -> None:
    """Replace the stored suggestions of one ad group with ``rows``, in one transaction."""
    with engine.begin() as connection:
        connection.execute(
            delete(BidSuggestionRecord).where(
                BidSuggestionRecord.profile_id == profile_id,  # type: ignore[arg-type]
                BidSuggestionRecord.ad_group_id == ad_group_id,  # type: ignore[arg-type]
            )
        )
        if rows:
            upsert_rows(connection, BidSuggestionRecord, rows)
        # A fetch that succeeded ends any back-off of a refusal before it.
        connection.execute(
            delete(BidSuggestionRefusalRecord).where(
                BidSuggestionRefusalRecord.profile_id == profile_id,  # type: ignore[arg-type]
                BidSuggestionRefusalRecord.ad_group_id == ad_group_id,  # type: ignore[arg-type]
            )
        )


def refused_until(engine: Engine, profile_id: str) -> dict[str, datetime]:
    """The ad groups of ``profile_id`` whose suggestions were refused, and when each is due."""
    refusals = _table(BidSuggestionRefusalRecord)
    query = select(refusals.c.ad_group_id, refusals.c.retry_at).where(
        refusals.c.profile_id == profile_id
    )
    with engine.connect() as connection:
        return {str(row[0]): row[1] for row in connection.execute(query)}


def record_refusal(
    engine: Engine,
    profile_id: str,
    ad_group_id: str,
    *,
    status: int,
    reason: str,
    now: datetime,
    backoff: Callable[[int], timedelta],
) -> datetime:
    """Record one more refusal for an ad group; ``backoff(refusals in a row)`` says how long
    until it is due again. Returns that time."""
    refusals = _table(BidSuggestionRefusalRecord)
    with engine.begin() as connection:
        before = connection.execute(
            select(refusals.c.refusals).where(
                refusals.c.profile_id == profile_id, refusals.c.ad_group_id == ad_group_id
            )
        ).scalar()
        count = int(before or 0) + 1
        retry_at = now + backoff(count)
        row = {"profile_id": profile_id, "ad_group_id": ad_group_id, "status": status,
               "reason": reason[:500], "refusals": count, "refused_at": now,
               "retry_at": retry_at}  # fmt: skip
        upsert_rows(connection, BidSuggestionRefusalRecord, [row])
    return retry_at
