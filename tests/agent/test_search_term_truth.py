"""Done when (issue 15): 30 simulated days of negations and harvests, and the stored search-term
facts of every day are exactly the sandbox's own truth for that day; what the rules created is
what Amazon would take: ASIN terms as (negative) product targets, no keyword with ASIN text, no
keyword in an auto campaign, and every graduation whole."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import RuleSet
from bidagent.store import ChangeRecord, SearchTermFactRecord
from bidagent.store.fact_checks import search_term_excess
from bidagent.vocabulary import is_asin

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
    _assert_creations_as_amazon_takes_them(agent, profile_id)


def _assert_creations_as_amazon_takes_them(agent: AgentContext, profile_id: str) -> None:
    """The account after 30 days: ASINs only in product targeting, keywords only in manual
    campaigns, and each graduation's two halves applied together."""
    client = agent.client
    states = ["enabled", "paused", "archived"]
    auto = {c.campaign_id for c in client.list_campaigns(profile_id) if c.targeting_type == "auto"}
    keywords = client.list_keywords(profile_id, states=states)
    negatives = [
        *client.list_negative_keywords(profile_id, states=states),
        *client.list_campaign_negative_keywords(profile_id, states=states),
    ]
    assert [k.keyword_text for k in keywords if is_asin(k.keyword_text or "")] == []
    assert [n.keyword_text for n in negatives if is_asin(n.keyword_text or "")] == []
    assert [k.target_id for k in keywords if k.campaign_id in auto] == []
    with Session(agent.engine) as session:
        made = session.exec(
            select(ChangeRecord).where(
                ChangeRecord.profile_id == profile_id, ChangeRecord.actor == "rule"
            )
        ).all()
    applied = [c for c in made if c.status in ("applied", "reverted")]
    asin_fields = {c.field for c in applied if is_asin(c.entity_name or "")}
    # ASIN terms were negated and harvested, always as product targeting.
    assert asin_fields == {"negative_target", "product_target"}
    listed_asins = {
        str(e.get("value", "")).upper()
        for n in [
            *client.list_negative_targets(profile_id, states=states),
            *client.list_campaign_negative_targets(profile_id, states=states),
        ]
        for e in n.expression or []
    }
    negated = {(c.payload or {})["asin"] for c in applied if c.field == "negative_target"}
    assert negated and negated <= listed_asins
    sets: dict[str, list[str]] = {}
    for change in made:
        if change.change_set:
            sets.setdefault(change.change_set, []).append(change.status)
    whole = [statuses for statuses in sets.values() if "applied" in statuses]
    assert whole, "no graduation was applied in 30 days"
    assert all(statuses == ["applied", "applied"] for statuses in whole), sets
