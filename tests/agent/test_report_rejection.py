"""A hostile report in a real cycle (issue 17): rejected whole, a `data` review item, a cycle
record, and its days not recorded as pulled."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from bidagent.ads.client import AdsClient
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import RuleSet
from bidagent.store import CycleRecord, ReviewItemRecord
from bidagent.store.report_days import has_report_days


def _huge_clicks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(rows[0], clicks=1e30), *rows[1:]]


def _unknown_keyword(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(rows[0], keywordId=999_999_999_999), *rows[1:]]


def _empty(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return []


CASES = [
    ("spTargeting", _huge_clicks, "row 0 column 'clicks': 1e+30 is out of range (at most 10,000,000,000)"),
    ("spTargeting", _unknown_keyword, "row key(s) name targets never listed for this profile, e.g. "),
    ("spCampaigns", _empty, "no rows for "),
]  # fmt: skip


@pytest.mark.parametrize(
    ("report_type", "damage", "message"), CASES, ids=["1e30", "unknown", "empty"]
)
def test_hostile_report_is_a_data_item_and_a_cycle_record(
    agent: AgentContext, rule_set: RuleSet, monkeypatch: pytest.MonkeyPatch,
    report_type: str, damage: Callable[..., Any], message: str,
) -> None:  # fmt: skip
    """The report is rejected whole: a data review item, a finished cycle, no day recorded."""
    real = AdsClient.fetch_report_raw

    def damaged(self: AdsClient, profile_id: str, kind: str, *args: Any) -> Any:
        for a, b, raw in real(self, profile_id, kind, *args):  # type: ignore[arg-type]
            yield a, b, json.dumps(damage(json.loads(raw))).encode() if kind == report_type else raw

    monkeypatch.setattr(AdsClient, "fetch_report_raw", damaged)
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    with Session(agent.engine) as session:
        items = session.exec(select(ReviewItemRecord).where(ReviewItemRecord.kind == "data")).all()
        cycles = session.exec(select(CycleRecord)).all()
    reports = [i.summary for i in items if "report:" in i.dedupe_key]
    assert [(message in summary) for summary in reports] == [True], reports
    assert ([c.outcome for c in cycles], result.outcome) == (["succeeded"], "succeeded")
    assert has_report_days(agent.engine, profile_id) is False
