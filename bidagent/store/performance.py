"""Daily performance as people chart it: a profile's (or every profile's) spend, sales and
orders per day, the same per campaign (for profit where margins are known), one entity's days
around a change, and the days on which bidagent's cycles changed something.

Owns those read-only statements over the fact tables and ``changes``/``cycles``. It must not
write, and must not derive ratios or profit: the console computes ACoS and profit from the sums.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, func, select

from bidagent.store.entities import CampaignFactRecord, TargetFactRecord, TargetRecord
from bidagent.store.ledger import ChangeRecord, CycleRecord

__all__ = [
    "DayTotals",
    "campaign_days",
    "change_days",
    "daily_totals",
    "entity_days",
]


@dataclass(frozen=True)
class DayTotals:
    """The sums of one day (of a profile, a campaign or one entity)."""

    date: dt.date
    impressions: int
    clicks: int
    cost: float
    orders: int
    sales: float


def _day(row: Sequence[Any]) -> DayTotals:
    day, impressions, clicks, cost, orders, sales = row
    return DayTotals(day, int(impressions or 0), int(clicks or 0), float(cost or 0.0),
                     int(orders or 0), float(sales or 0.0))  # fmt: skip


def _sums(model: Any) -> tuple[Any, ...]:
    return (
        func.sum(model.impressions),
        func.sum(model.clicks),
        func.sum(model.cost),
        func.sum(model.orders),
        func.sum(model.sales),
    )


def daily_totals(
    session: Session, profile_ids: Sequence[str] | None, start: dt.date, end: dt.date
) -> list[DayTotals]:
    """Each day in ``[start, end]`` that has campaign facts, summed over the profiles given
    (None: all), oldest first."""
    f = CampaignFactRecord
    query = select_columns(col(f.date), *_sums(f)).where(col(f.date) >= start, col(f.date) <= end)
    if profile_ids is not None:
        query = query.where(col(f.profile_id).in_(list(profile_ids)))
    return [_day(row) for row in session.execute(query.group_by(col(f.date)).order_by(col(f.date)))]


def campaign_days(
    session: Session, profile_ids: Sequence[str] | None, start: dt.date, end: dt.date
) -> list[tuple[str, DayTotals]]:
    """``(campaign id, its day)`` for each campaign day in ``[start, end]``."""
    f = CampaignFactRecord
    query = select_columns(col(f.campaign_id), col(f.date), *_sums(f)).where(
        col(f.date) >= start, col(f.date) <= end
    )
    if profile_ids is not None:
        query = query.where(col(f.profile_id).in_(list(profile_ids)))
    query = query.group_by(col(f.campaign_id), col(f.date)).order_by(col(f.date))
    return [(row[0], _day(row[1:])) for row in session.execute(query)]


def entity_days(
    session: Session, entity_kind: str, entity_id: str, start: dt.date, end: dt.date
) -> list[DayTotals]:
    """One entity's days in ``[start, end]``: a campaign's own facts, an ad group's as the sum
    of its targets', a keyword's or product target's own; other kinds have none."""
    if entity_kind == "campaign":
        f: Any = CampaignFactRecord
        query = select_columns(col(f.date), *_sums(f)).where(f.campaign_id == entity_id)
    elif entity_kind == "ad_group":
        f = TargetFactRecord
        ids = select(TargetRecord.target_id).where(TargetRecord.ad_group_id == entity_id)
        query = select_columns(col(f.date), *_sums(f)).where(col(f.entity_id).in_(ids))
    elif entity_kind in ("keyword", "product_target"):
        f = TargetFactRecord
        query = select_columns(col(f.date), *_sums(f)).where(
            f.entity_kind == entity_kind, f.entity_id == entity_id
        )
    else:
        return []
    query = query.where(col(f.date) >= start, col(f.date) <= end)
    return [_day(row) for row in session.execute(query.group_by(col(f.date)).order_by(col(f.date)))]


def change_days(
    session: Session, profile_ids: Sequence[str] | None, start: dt.date, end: dt.date
) -> dict[dt.date, int]:
    """Business date -> how many changes bidagent's cycles applied that day (reverted since
    included; edits made outside bidagent and reverts, which belong to no cycle, are not)."""
    query = (
        select_columns(col(CycleRecord.business_date), func.count())
        .join(ChangeRecord, col(ChangeRecord.cycle_id) == CycleRecord.id)
        .where(
            col(ChangeRecord.status).in_(("applied", "reverted")),
            col(CycleRecord.business_date) >= start,
            col(CycleRecord.business_date) <= end,
        )
    )
    if profile_ids is not None:
        query = query.where(col(CycleRecord.profile_id).in_(list(profile_ids)))
    rows = session.execute(query.group_by(col(CycleRecord.business_date)))
    return {day: int(count) for day, count in rows}
