"""Search-term history stays fixed: a past day is split by the negatives in force that day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bidagent.sandbox import Sandbox
from tests.sandbox.conftest import AmazonCalls, targeting_report
from tests.sandbox.test_reporting import _complete

NEGATIVE_TYPE = "application/vnd.spNegativeKeyword.v3+json"
COLUMNS = ["date", "campaignId", "adGroupId", "keywordId", "searchTerm", "impressions", "clicks",
           "cost"]  # fmt: skip


def _terms(amazon: AmazonCalls, start: date, end: date) -> list[dict[str, Any]]:
    body = targeting_report(
        start.isoformat(),
        end.isoformat(),
        reportTypeId="spSearchTerm",
        groupBy=["searchTerm"],
        columns=COLUMNS,
    )
    return sorted(
        _complete(amazon, body), key=lambda r: (r["date"], r["keywordId"], r["searchTerm"])
    )


def _negate(amazon: AmazonCalls, row: dict[str, Any]) -> None:
    negative = {
        "campaignId": str(row["campaignId"]),
        "adGroupId": str(row["adGroupId"]),
        "keywordText": row["searchTerm"],
        "matchType": "NEGATIVE_EXACT",
        "state": "ENABLED",
    }
    made = amazon.sp(
        "POST", "/sp/negativeKeywords", {"negativeKeywords": [negative]}, NEGATIVE_TYPE
    )
    assert made.json()["negativeKeywords"]["error"] == []


def test_negating_today_leaves_past_days_search_terms_as_they_were(
    sandbox: Sandbox, amazon: AmazonCalls
) -> None:
    """Negate a term today, re-pull 14 days: the days before the negation report the same rows."""
    today = sandbox.today(amazon.profile_id)
    first = _terms(amazon, today - timedelta(days=14), today - timedelta(days=1))
    busiest = max(first, key=lambda r: (r["date"], r["clicks"]))
    _negate(amazon, busiest)
    sandbox.advance(days=2)
    again = _terms(amazon, today - timedelta(days=12), today + timedelta(days=1))
    before = [r for r in first if r["date"] >= (today - timedelta(days=12)).isoformat()]
    assert [r for r in again if r["date"] < today.isoformat()] == before

    def of_term(rows: list[dict[str, Any]], day: date) -> list[int]:
        return [
            r["clicks"]
            for r in rows
            if (r["date"], r["adGroupId"], r["searchTerm"])
            == (day.isoformat(), busiest["adGroupId"], busiest["searchTerm"])
        ]

    # The day of the negation is split as it began (the term still served); the next day not.
    assert len(of_term(again, today)) == 1
    assert of_term(again, today + timedelta(days=1)) == []


def test_a_negative_target_removes_its_asin_from_the_next_day_only(
    sandbox: Sandbox, amazon: AmazonCalls
) -> None:
    """Negate an ASIN term with a negative product target today: past days keep their rows, and
    from tomorrow the ASIN has no row in that ad group."""
    from bidagent.vocabulary import is_asin

    today = sandbox.today(amazon.profile_id)
    first = _terms(amazon, today - timedelta(days=14), today - timedelta(days=1))
    busiest = max(
        (r for r in first if is_asin(r["searchTerm"])), key=lambda r: (r["date"], r["clicks"])
    )
    negative = {
        "campaignId": str(busiest["campaignId"]),
        "adGroupId": str(busiest["adGroupId"]),
        "expression": [{"type": "ASIN_SAME_AS", "value": busiest["searchTerm"].upper()}],
        "state": "ENABLED",
    }
    made = amazon.sp(
        "POST", "/sp/negativeTargets", {"negativeTargetingClauses": [negative]},
        "application/vnd.spNegativeTargetingClause.v3+json",
    )  # fmt: skip
    assert made.json()["negativeTargetingClauses"]["error"] == []
    sandbox.advance(days=2)
    again = _terms(amazon, today - timedelta(days=12), today + timedelta(days=1))
    before = [r for r in first if r["date"] >= (today - timedelta(days=12)).isoformat()]
    assert [r for r in again if r["date"] < today.isoformat()] == before

    def of_term(day: date) -> list[dict[str, Any]]:
        return [
            r
            for r in again
            if (r["date"], r["adGroupId"], r["searchTerm"])
            == (day.isoformat(), busiest["adGroupId"], busiest["searchTerm"])
        ]

    assert of_term(today + timedelta(days=1)) == []
