"""Invariants of stored report facts: what a true set of reports can never show.

A search term is one of the searches a keyword or target served, so per day and ad group the
search-term report's clicks and cost cannot exceed the targeting report's (Amazon rounds each
row's cost to the cent, so a day's terms may add up to half a cent a row more, hence a small
tolerance). More means the facts are wrong (a re-split
history, rows left over from an earlier pull) and rules must not act on them.

It must not decide what a violation does to the cycle (``agent/cycle/run.py`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table, and_, func, select
from sqlalchemy.engine import Engine

from bidagent.store.entities import SearchTermFactRecord, TargetFactRecord, TargetRecord

__all__ = ["CLICK_TOLERANCE", "COST_TOLERANCE", "ROW_ROUNDING", "SHARE_TOLERANCE", "FactExcess",
           "search_term_excess"]  # fmt: skip

SHARE_TOLERANCE = 0.005  # of the targeting figure: Amazon's per-row rounding, never a real click
CLICK_TOLERANCE = 1
COST_TOLERANCE = 0.01
ROW_ROUNDING = 0.005  # each search-term row's cost is rounded to the cent on its own


@dataclass(frozen=True)
class FactExcess:
    """One day and ad group whose search terms show more than its targets did."""

    date: date
    ad_group_id: str
    term_clicks: int
    target_clicks: int
    term_cost: float
    target_cost: float
    term_rows: int


def search_term_excess(engine: Engine, profile_id: str, start: date, end: date) -> list[FactExcess]:
    """Every (day, ad group) of ``start..end`` whose search-term clicks or cost exceed the
    targeting clicks or cost beyond the tolerance, by day then ad group."""
    terms: Table = SearchTermFactRecord.__table__  # type: ignore[attr-defined]
    facts: Table = TargetFactRecord.__table__  # type: ignore[attr-defined]
    targets: Table = TargetRecord.__table__  # type: ignore[attr-defined]
    term_sums = (
        select(terms.c.date, terms.c.ad_group_id,
               func.sum(terms.c.clicks).label("clicks"), func.sum(terms.c.cost).label("cost"),
               func.count().label("rows"))
        .where(terms.c.profile_id == profile_id, terms.c.date >= start, terms.c.date <= end)
        .group_by(terms.c.date, terms.c.ad_group_id)
        .subquery()
    )  # fmt: skip
    target_sums = (
        select(facts.c.date, targets.c.ad_group_id,
               func.sum(facts.c.clicks).label("clicks"), func.sum(facts.c.cost).label("cost"))
        .join(targets, and_(targets.c.kind == facts.c.entity_kind,
                            targets.c.target_id == facts.c.entity_id))
        .where(facts.c.profile_id == profile_id, facts.c.date >= start, facts.c.date <= end)
        .group_by(facts.c.date, targets.c.ad_group_id)
        .subquery()
    )  # fmt: skip
    query = (
        select(term_sums.c.date, term_sums.c.ad_group_id, term_sums.c.clicks, term_sums.c.cost,
               term_sums.c.rows, target_sums.c.clicks, target_sums.c.cost)
        .select_from(term_sums.outerjoin(target_sums, and_(
            target_sums.c.date == term_sums.c.date,
            target_sums.c.ad_group_id == term_sums.c.ad_group_id)))
        .order_by(term_sums.c.date, term_sums.c.ad_group_id)
    )  # fmt: skip
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for day, ad_group_id, term_clicks, term_cost, term_rows, target_clicks, target_cost in rows:
        excess = FactExcess(
            date=day if isinstance(day, date) else date.fromisoformat(str(day)),
            ad_group_id=ad_group_id,
            term_clicks=int(term_clicks or 0),
            target_clicks=int(target_clicks or 0),
            term_cost=round(float(term_cost or 0.0), 2),
            target_cost=round(float(target_cost or 0.0), 2),
            term_rows=int(term_rows),
        )
        if _exceeds(excess):
            found.append(excess)
    return found


def _exceeds(excess: FactExcess) -> bool:
    clicks = excess.target_clicks + max(CLICK_TOLERANCE, SHARE_TOLERANCE * excess.target_clicks)
    cost = excess.target_cost + max(
        COST_TOLERANCE, SHARE_TOLERANCE * excess.target_cost, ROW_ROUNDING * excess.term_rows
    )
    return excess.term_clicks > clicks or excess.term_cost > cost + 1e-9
