"""Search-term facts above their targets' in a real cycle: a `data` review item, and the
profile's search-term rules held for the cycle while the other rules run."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from bidagent.ads.client import AdsClient
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import RuleSet
from bidagent.store import ReviewItemRecord
from bidagent.store.fact_checks import search_term_excess
from bidagent.store.report_days import read_report_dates

SEARCH_TERM_RULES = {
    "graduate-auto-asin-terms",
    "graduate-auto-search-terms",
    "harvest-converting-search-terms",
    "negate-wasting-search-terms",
}


def test_inflated_search_terms_open_a_data_item_and_hold_search_term_rules(
    agent: AgentContext, rule_set: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Search terms with twice their targets' clicks: one data item, only search-term rules held."""
    real = AdsClient.fetch_report_raw

    def inflated(self: AdsClient, profile_id: str, kind: str, *args: Any) -> Any:
        for a, b, raw in real(self, profile_id, kind, *args):  # type: ignore[arg-type]
            rows = json.loads(raw)
            if kind == "spSearchTerm":
                rows = [dict(r, clicks=r["clicks"] * 2) for r in rows]
            yield a, b, json.dumps(rows).encode()

    monkeypatch.setattr(AdsClient, "fetch_report_raw", inflated)
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    assert result.outcome == "succeeded" and result.plan is not None
    with Session(agent.engine) as session:
        items = session.exec(select(ReviewItemRecord).where(ReviewItemRecord.kind == "data")).all()
    found = [i for i in items if i.dedupe_key.endswith("facts:search_terms_exceed_targets")]
    excess = search_term_excess(agent.engine, profile_id, date(2000, 1, 1), date(2100, 1, 1))
    assert len(found) == 1 and excess
    assert found[0].evidence["count"] == len(excess)
    assert "search-term rules are held" in found[0].summary
    with agent.engine.connect() as connection:
        covered = read_report_dates(connection, profile_id, date(2000, 1, 1))
    assert set(covered["source"].to_list()) == {"targets", "campaigns"}
    held = {s.rule_name for s in result.plan.skips if s.reason == "freshness"}
    assert held == SEARCH_TERM_RULES
    acted = {p.rule_name for p in result.plan.proposals}
    assert acted and not acted & SEARCH_TERM_RULES


def test_true_search_terms_hold_nothing(agent: AgentContext, rule_set: RuleSet) -> None:
    """The sandbox's own reports satisfy the invariant: every source's days are covered."""
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    assert result.plan is not None
    assert search_term_excess(agent.engine, profile_id, date(2000, 1, 1), date(2100, 1, 1)) == []
    with agent.engine.connect() as connection:
        covered = read_report_dates(connection, profile_id, date(2000, 1, 1))
    assert set(covered["source"].to_list()) == {"targets", "search_terms", "campaigns"}
    assert not {s.rule_name for s in result.plan.skips if s.reason == "freshness"}
