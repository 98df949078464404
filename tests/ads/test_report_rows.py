"""Report validation: well-formed rows become fact rows; any malformed row rejects the report."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from bidagent.ads import parse_report
from bidagent.errors import ReportFailed

DAY = date(2024, 5, 1)
TARGETING = {"date": "2024-05-01", "campaignId": 1, "adGroupId": 2, "keywordId": 345678901234567,
             "keywordType": "EXACT", "matchType": "EXACT", "targeting": "yoga mat",
             "impressions": 100, "clicks": 4, "cost": 2.5, "purchases7d": 1, "sales7d": 30.0,
             "unitsSoldClicks7d": 2, "acosClicks7d": None}  # fmt: skip


def _parse(report_type, rows):
    return parse_report(report_type, json.dumps(rows).encode(), profile_id="9", start=DAY, end=DAY)


def test_targeting_rows_become_target_facts():
    """Keyword and auto-target rows map to entity_kind, str ids and 7-day metrics."""
    auto = dict(TARGETING, keywordId=5, keywordType="TARGETING_EXPRESSION_PREDEFINED",
                targeting="close-match", matchType="TARGETING_EXPRESSION_PREDEFINED")  # fmt: skip
    facts = _parse("spTargeting", [TARGETING, auto])
    assert facts.to_dicts() == [
        {"entity_kind": "keyword", "entity_id": "345678901234567", "date": DAY, "profile_id": "9",
         "impressions": 100, "clicks": 4, "cost": 2.5, "orders": 1, "sales": 30.0, "units": 2},
        {"entity_kind": "product_target", "entity_id": "5", "date": DAY, "profile_id": "9",
         "impressions": 100, "clicks": 4, "cost": 2.5, "orders": 1, "sales": 30.0, "units": 2},
    ]  # fmt: skip


def test_search_term_and_campaign_rows():
    """Search-term rows keep term, campaign and ad group; campaign rows keep the budget."""
    term = dict(TARGETING, searchTerm="blue yoga mat")
    campaign = {k: TARGETING[k] for k in ("date", "campaignId", "impressions", "clicks", "cost",
                                          "purchases7d", "sales7d", "unitsSoldClicks7d")}  # fmt: skip
    assert _parse("spSearchTerm", [term]).row(0, named=True) == {
        "source_kind": "keyword", "source_id": "345678901234567", "search_term": "blue yoga mat",
        "date": DAY, "profile_id": "9", "campaign_id": "1", "ad_group_id": "2",
        "impressions": 100, "clicks": 4, "cost": 2.5, "orders": 1, "sales": 30.0, "units": 2,
    }  # fmt: skip
    assert (
        _parse("spCampaigns", [dict(campaign, campaignBudgetAmount=50)]).row(0, named=True)[
            "budget"
        ]
        == 50.0
    )
    assert _parse("spCampaigns", [campaign]).row(0, named=True)["budget"] is None


def test_empty_report_is_valid():
    """A report without activity is an empty frame with the table's columns."""
    facts = _parse("spTargeting", [])
    assert facts.height == 0
    assert facts.columns == ["entity_kind", "entity_id", "date", "profile_id", "impressions",
                             "clicks", "cost", "orders", "sales", "units"]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"clicks": -1}, "row 1 column 'clicks': -1.0 is negative"),
        ({"cost": -0.5}, "row 1 column 'cost': -0.5 is negative"),
        ({"clicks": "4"}, "row 1 column 'clicks': \"4\" is not a valid count"),
        ({"impressions": True}, "row 1 column 'impressions': true is not a valid count"),
        ({"unitsSoldClicks7d": 1.5}, "row 1 column 'unitsSoldClicks7d': 1.5 is not a valid count"),
        ({"sales7d": None}, "row 1 column 'sales7d': value is missing or null"),
        ({"keywordId": "k-1"}, "row 1 column 'keywordId': \"k-1\" is not a valid id"),
        ({"date": "05/01/2024"}, "row 1 column 'date': \"05/01/2024\" is not a date"),
        ({"date": "2024-05-02"}, "row 1 column 'date': 2024-05-02 is outside the requested range"),
        (
            {"keywordType": "AUDIENCE", "matchType": None},
            "row 1 column 'keywordType': \"AUDIENCE\"",
        ),
        (
            {"keywordId": 345678901234567},
            "row 1 repeats the key (keyword, 345678901234567, 2024-05-01)",
        ),
    ],
)
def test_malformed_row_rejects_the_report(change, message):
    """One bad value anywhere rejects the whole report, naming row and column."""
    bad = {k: v for k, v in {**TARGETING, "keywordId": 6, **change}.items() if k != "units"}
    with pytest.raises(ReportFailed) as caught:
        _parse("spTargeting", [TARGETING, bad])
    assert message in str(caught.value)
    assert str(caught.value).startswith("spTargeting report for profile 9, 2024-05-01..2024-05-01")
    assert (caught.value.report_type, caught.value.profile_id) == ("spTargeting", "9")


def test_missing_column_is_named():
    """A column absent from every row is reported as missing."""
    rows = [{k: v for k, v in TARGETING.items() if k != "cost"}]
    with pytest.raises(ReportFailed, match="column 'cost' is missing"):
        _parse("spTargeting", rows)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"rows": []}', "not a JSON array"),
        (b'[{"date": "2024-05-01", "clicks": 1', "not valid JSON"),
        (b"[1, 2]", "row 0 is not a JSON object"),
    ],
)
def test_unreadable_files_are_rejected(raw, message):
    """Files that are not a JSON array of objects are rejected with the reason."""
    with pytest.raises(ReportFailed, match=message):
        parse_report("spTargeting", raw, profile_id="9", start=DAY, end=DAY)


def test_true_inside_a_text_value_is_not_a_false_alarm():
    """A keyword text containing ': true' does not trip the boolean check."""
    row = dict(TARGETING, targeting="mode: true wireless")
    assert _parse("spTargeting", [row]).height == 1


def test_rows_given_as_dicts_are_accepted():
    """The parser also takes rows already decoded (as fetch_report returns them)."""
    facts = parse_report("spTargeting", [TARGETING], profile_id="9", start=DAY, end=DAY)
    assert isinstance(facts, pl.DataFrame)
    assert facts["entity_id"].to_list() == ["345678901234567"]
