"""spCampaigns by campaignPlacement: three page locations per campaign and day that add up."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from typing import Any

import httpx

from tests.sandbox.conftest import AmazonCalls, targeting_report

COLUMNS = ["date", "campaignId", "impressions", "clicks", "cost", "purchases7d", "sales7d"]


def _complete(amazon: AmazonCalls, body: dict[str, Any]) -> list[dict[str, Any]]:
    report_id = amazon.create_report(body).json()["reportId"]
    status: dict[str, Any] = {}
    for _ in range(3):
        status = amazon.poll(report_id).json()
    assert status["status"] == "COMPLETED", status
    download = httpx.Client(transport=amazon.sandbox.transport()).get(status["url"])
    return list(json.loads(gzip.decompress(download.content)))


def _campaign_report(group_by: list[str], columns: list[str], **config: Any) -> dict[str, Any]:
    return targeting_report(
        "2025-05-25", "2025-05-31", reportTypeId="spCampaigns", groupBy=group_by,
        columns=columns, **config,
    )  # fmt: skip


def test_placement_rows_add_up_to_the_campaign_rows(amazon: AmazonCalls) -> None:
    """Each campaign-day splits into the three placements, whose metrics sum to its campaign row."""
    placed = _complete(
        amazon,
        _campaign_report(["campaign", "campaignPlacement"], [*COLUMNS, "placementClassification"]),
    )
    whole = _complete(amazon, _campaign_report(["campaign"], COLUMNS))
    assert {r["placementClassification"] for r in placed} <= {
        "Top of Search on-Amazon",
        "Detail Page on-Amazon",
        "Other on-Amazon",
    }
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in placed:
        for metric in ("impressions", "clicks", "cost", "purchases7d", "sales7d"):
            sums[(row["date"], row["campaignId"])][metric] += row[metric]
    for row in whole:
        got = sums[(row["date"], row["campaignId"])]
        assert (got["impressions"], got["clicks"], got["purchases7d"]) == (
            row["impressions"],
            row["clicks"],
            row["purchases7d"],
        )
        assert round(got["cost"], 6) == round(row["cost"], 6)
        assert round(got["sales7d"], 6) == round(row["sales7d"], 6)
    assert all(isinstance(r["clicks"], int) and r["clicks"] >= 0 for r in placed)


def test_placement_column_needs_the_placement_grouping(amazon: AmazonCalls) -> None:
    """placementClassification is refused for a report not grouped by campaignPlacement."""
    answer = amazon.create_report(
        _campaign_report(["campaign"], [*COLUMNS, "placementClassification"])
    )
    assert answer.status_code == 400
    assert "placementClassification" in answer.text


def test_amazon_business_site_has_no_sandbox_traffic(amazon: AmazonCalls) -> None:
    """A campaignSite filter of AmazonBusiness selects no rows: no sandbox click is on it."""
    rows = _complete(
        amazon,
        _campaign_report(
            ["campaignPlacement"],
            ["date", "campaignId", "clicks", "placementClassification"],
            filters=[{"field": "campaignSite", "values": ["AmazonBusiness"]}],
        ),
    )
    assert rows == []
