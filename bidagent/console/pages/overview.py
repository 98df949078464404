"""The overview (``/``): performance per day and where each profile stands, for one profile
(``?profile=ID``) or all of them, over 30, 60 or 90 days (``?days=``).

Shows spend, sales, orders and ACoS per day, and profit where margins are known (the sandbox
seller's product margins; bidagent knows none for a real account, and the page says so), with a
marker on each day bidagent's cycles applied changes; the changes of the last 24 hours (agent
clock) by status; open review items by kind; each profile's last cycle and data age; and the
kill switch, which admins pause and resume here (``pages/kill_switch.py``). It must not write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from bidagent.agent.service.kill_switch import GLOBAL_SCOPE
from bidagent.business_dates import business_date
from bidagent.console.auth import Principal
from bidagent.console.deps import console_state, require
from bidagent.console.metrics import data_age_days
from bidagent.console.render import page
from bidagent.console.state import MarginSource
from bidagent.store import Session
from bidagent.store.ledger_summary import change_status_counts, open_items_by_kind
from bidagent.store.performance import DayTotals, campaign_days, change_days, daily_totals
from bidagent.store.profile_status import ProfileStatus, profile_statuses, switch_rows

__all__ = ["RANGES", "router"]

router = APIRouter(include_in_schema=False)
RANGES = (30, 60, 90)


@dataclass(frozen=True)
class Profit:
    """Profit per day (sales x margin - spend) over the campaigns whose margin is known, and
    the share of the period's spend those campaigns account for."""

    by_day: dict[date, float]
    spend_share: float


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def _profit(
    session: Session, margins: MarginSource | None, profiles: list[str], start: date, end: date
) -> Profit | None:
    if margins is None:
        return None
    known = {campaign: m for pid in profiles for campaign, m in margins(pid).items()}
    if not known:
        return None
    by_day: dict[date, float] = defaultdict(float)
    spend = covered = 0.0
    for campaign, day in campaign_days(session, profiles, start, end):
        spend += day.cost
        if campaign in known:
            covered += day.cost
            by_day[day.date] += day.sales * known[campaign] - day.cost
    return Profit(dict(by_day), covered / spend if spend else 1.0)


def _series(
    days: list[date], totals: list[DayTotals], markers: dict[date, int], profit: Profit | None
) -> dict[str, Any]:
    """The chart's columns, one entry per day (None where no facts were synced)."""
    by_day = {t.date: t for t in totals}

    def column(get: Any) -> list[Any]:
        return [get(by_day[d]) if d in by_day else None for d in days]

    return {
        "days": [_epoch(d) for d in days],
        "spend": column(lambda t: round(t.cost, 2)),
        "sales": column(lambda t: round(t.sales, 2)),
        "orders": column(lambda t: t.orders),
        "acos": column(lambda t: round(t.cost / t.sales, 4) if t.sales else None),
        "profit": (
            [round(profit.by_day[d], 2) if d in profit.by_day else None for d in days]
            if profit is not None
            else None
        ),
        "markers": [{"day": _epoch(d), "changes": n} for d, n in sorted(markers.items())],
    }


def _sum(totals: list[DayTotals]) -> dict[str, float | None]:
    cost = sum(t.cost for t in totals)
    sales = sum(t.sales for t in totals)
    return {
        "spend": cost,
        "sales": sales,
        "orders": sum(t.orders for t in totals),
        "acos": cost / sales if sales else None,
    }


def _profile_rows(statuses: list[ProfileStatus], now: datetime) -> list[dict[str, Any]]:
    return [{"status": s, "data_age_days": data_age_days(s, now)} for s in statuses]


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Annotated[str | None, Query(max_length=32)] = None,
    days: int = 30,
) -> HTMLResponse:
    """The overview page."""
    state = console_state(request)
    days = days if days in RANGES else RANGES[0]
    now = state.clock()
    with Session(state.engine) as session:
        statuses = profile_statuses(session)
        known = {s.profile_id: s for s in statuses}
        chosen = known.get(profile) if profile else None
        ids = [chosen.profile_id] if chosen else None
        # The newest business date among the profiles shown (UTC before any is synced).
        zones = {s.timezone or "UTC" for s in ([chosen] if chosen else statuses)} or {"UTC"}
        end = max(business_date(now, zone) for zone in zones)
        start = end - timedelta(days=days - 1)
        totals = daily_totals(session, ids, start, end)
        markers = change_days(session, ids, start, end)
        profit = _profit(session, state.margins, ids or list(known), start, end)
        recent = change_status_counts(
            session, since=now - timedelta(hours=24), profile_id=ids[0] if ids else None
        )
        items = open_items_by_kind(session, profile_id=ids[0] if ids else None)
        switches = {row.scope: row for row in switch_rows(session)}
    calendar = [start + timedelta(days=i) for i in range(days)]
    shown = [chosen] if chosen else statuses
    currencies = sorted({s.currency_code for s in shown if s.currency_code})
    context = {
        "profiles": statuses,
        "chosen": chosen,
        "days": days,
        "ranges": RANGES,
        "start": start,
        "end": end,
        "series": _series(calendar, totals, markers, profit),
        "summary": _sum(totals),
        "profit": profit,
        "profit_total": sum(profit.by_day.values()) if profit else None,
        "currencies": currencies,
        "recent": recent,
        "recent_total": sum(n for _, n in recent),
        "items": sorted(items.items()),
        "items_total": sum(items.values()),
        "profile_rows": _profile_rows([chosen] if chosen else statuses, now),
        "global_switch": switches.get(GLOBAL_SCOPE),
        "switches": switches,
        "now": now,
    }
    return page(request, "overview.html", context)
