"""Done when (issue 15): 30 simulated days of negations and harvests, and the stored search-term
facts of every day are exactly the sandbox's own truth for that day."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import RuleSet
from bidagent.store import SearchTermFactRecord
from bidagent.store.fact_checks import search_term_excess

DAYS = 30
KEY = ["date", "source_kind", "source_id", "search_term"]
COMPARED = [*KEY, "campaign_id", "ad_group_id", "impressions", "clicks", "cost"]


def _stored(agent: AgentContext, profile_id: str) -> pl.DataFrame:
    with Session(agent.engine) as session:
        rows = session.exec(
            select(SearchTermFactRecord).where(SearchTermFactRecord.profile_id == profile_id)
        ).all()
    frame = pl.DataFrame([r.model_dump() for r in rows], schema_overrides={"date": pl.Date})
    return frame.select(COMPARED).sort(KEY)


@pytest.mark.slow
def test_thirty_days_of_negations_and_harvests_store_the_true_search_terms(
    agent: AgentContext, rule_set: RuleSet
) -> None:
    """Every stored day equals the sandbox's single-day report, and terms never exceed targets."""
    assert agent.sandbox is not None
    (profile_id,) = profile_ids(agent)
    created: list[tuple[int, str]] = []
    for day in range(DAYS):
        seen = len(agent.sandbox.write_log())
        run_cycle(agent, profile_id, rule_set)
        writes = agent.sandbox.write_log()[seen:]
        created += [(day, w.kind) for w in writes if w.field == "created"]
        agent.sandbox.advance(days=1)
    negating = {d for d, kind in created if kind == "negative_keyword"}
    harvesting = {d for d, kind in created if kind == "keyword"}
    # The rules act on most days (cooldowns and the freshness check rest them on some): the
    # facts below are checked across many days with new negatives and harvests, not a quiet run.
    assert len(negating) >= DAYS // 3 and len(harvesting) >= DAYS // 3, created

    stored = _stored(agent, profile_id)
    today = agent.sandbox.today(profile_id)
    # The sandbox keeps 65 days of data, as Amazon does; older stored days have no truth to ask.
    days = sorted(d for d in set(stored["date"].to_list()) if d >= today - timedelta(days=64))
    assert len(days) >= DAYS
    mismatched: list[date] = []
    for day in days:
        truth = agent.client.fetch_facts(profile_id, "spSearchTerm", day, day)
        mine = stored.filter(pl.col("date") == day)
        if not truth.select(COMPARED).sort(KEY).equals(mine):
            mismatched.append(day)
    assert mismatched == []
    assert search_term_excess(agent.engine, profile_id, days[0] - timedelta(days=60), today) == []
