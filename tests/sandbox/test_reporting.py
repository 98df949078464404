"""Reporting v3: lifecycle, 425 duplicates, validation, download rules, rows, restatement."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx

from bidagent.sandbox import Sandbox
from bidagent.sandbox.faults import FaultConfig
from tests.sandbox.conftest import AmazonCalls, make_calls, targeting_report


def _bare(amazon: AmazonCalls) -> httpx.Client:
    """A client without any Amazon header, as a report download must be."""
    return httpx.Client(transport=amazon.sandbox.transport())


def _complete(amazon: AmazonCalls, body: dict[str, Any]) -> list[dict[str, Any]]:
    report_id = amazon.create_report(body).json()["reportId"]
    statuses = [amazon.poll(report_id).json() for _ in range(3)]
    assert [s["status"] for s in statuses] == ["PENDING", "PROCESSING", "COMPLETED"]
    download = _bare(amazon).get(statuses[-1]["url"])
    return json.loads(gzip.decompress(download.content))


def test_report_lifecycle_and_rows(amazon: AmazonCalls) -> None:
    """PENDING -> PROCESSING -> COMPLETED; rows have numeric ids and only requested columns."""
    created = amazon.create_report(targeting_report("2025-05-19", "2025-05-31"))
    assert created.status_code == 200
    assert created.headers["content-type"] == "application/vnd.createasyncreportresponse.v3+json"
    assert {k: created.json()[k] for k in ("status", "url", "fileSize", "failureReason")} == {
        "status": "PENDING",
        "url": None,
        "fileSize": None,
        "failureReason": None,
    }
    rows = _complete(amazon, targeting_report("2025-05-20", "2025-05-31"))
    assert rows and set(rows[0]) == set(targeting_report("x", "y")["configuration"]["columns"])
    assert all(isinstance(r["keywordId"], int) and r["impressions"] > 0 for r in rows)
    assert {r["keywordType"] for r in rows} == {
        "BROAD",
        "PHRASE",
        "EXACT",
        "TARGETING_EXPRESSION",
        "TARGETING_EXPRESSION_PREDEFINED",
    }
    assert all(r["cost"] <= r["clicks"] * r["keywordBid"] + 1e-9 for r in rows)


def test_duplicate_in_flight_is_425(amazon: AmazonCalls) -> None:
    """The same report while the first is pending answers 425 naming the first report."""
    first = amazon.create_report(targeting_report("2025-05-01", "2025-05-02")).json()["reportId"]
    again = amazon.create_report(
        targeting_report(
            "2025-05-01", "2025-05-02", timeUnit="SUMMARY", columns=["campaignId", "clicks"]
        )
    )
    same = amazon.create_report(targeting_report("2025-05-01", "2025-05-02"))
    assert again.status_code == 200
    assert (same.status_code, same.json()) == (
        425,
        {"code": "425", "detail": f"The Request is a duplicate of : {first}"},
    )


def test_validation_errors_use_detail(amazon: AmazonCalls) -> None:
    """32 days, too old, bad column and wrong media type answer with code/detail."""
    long = amazon.create_report(targeting_report("2025-04-01", "2025-05-02"))
    old = amazon.create_report(targeting_report("2025-02-01", "2025-02-02"))
    column = amazon.create_report(targeting_report("2025-05-01", "2025-05-02", columns=["nope"]))
    media = amazon.http.post(
        amazon.base_url + "/reporting/reports",
        json=targeting_report("2025-05-01", "2025-05-02"),
        headers=amazon.headers("text/csv"),
    )
    assert long.json() == {"code": "400", "detail": "Report date range must be 31 days or fewer"}
    assert old.json()["detail"].startswith("Report date is too far in the past")
    assert column.status_code == 400 and "nope" in column.json()["detail"]
    assert media.status_code == 415 and set(media.json()) == {"code", "detail"}


def test_download_refuses_authorization_header(amazon: AmazonCalls) -> None:
    """The presigned URL rejects a request carrying Authorization, as S3 does."""
    report_id = amazon.create_report(targeting_report("2025-05-30", "2025-05-31")).json()[
        "reportId"
    ]
    url = [amazon.poll(report_id).json() for _ in range(3)][-1]["url"]
    refused = amazon.http.get(url, headers={"Authorization": f"Bearer {amazon.token}"})
    plain = _bare(amazon).get(url)
    assert (refused.status_code, plain.status_code) == (400, 200)
    assert b"<Code>InvalidArgument</Code>" in refused.content
    assert plain.content[:2] == b"\x1f\x8b"


def test_conversions_restate_over_the_following_days(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """A day's purchases pulled the next day are fewer than the same day pulled a week later."""
    sandbox.advance(days=1)
    day = sandbox.today(sandbox.profiles[0]).isoformat()
    sandbox.advance(days=1)
    early = _complete(amazon, targeting_report(day, day))
    sandbox.advance(days=7)
    amazon.token = amazon.fetch_token().json()["access_token"]
    late = _complete(amazon, targeting_report(day, day))
    early_sum = sum(r["purchases7d"] for r in early)
    late_sum = sum(r["purchases7d"] for r in late)
    assert 0 < early_sum < late_sum
    assert sum(r["clicks"] for r in early) == sum(r["clicks"] for r in late)


def test_search_terms_only_with_clicks(amazon: AmazonCalls) -> None:
    """spSearchTerm rows all have at least one click; some terms never convert."""
    body = targeting_report(
        "2025-05-10",
        "2025-05-31",
        reportTypeId="spSearchTerm",
        groupBy=["searchTerm"],
        timeUnit="SUMMARY",
        columns=["keywordId", "searchTerm", "clicks", "cost", "purchases7d"],
    )
    rows = _complete(amazon, body)
    assert rows and all(r["clicks"] >= 1 for r in rows)
    assert any(r["clicks"] >= 10 and r["purchases7d"] == 0 for r in rows)


def test_campaign_report_matches_targeting_totals(amazon: AmazonCalls) -> None:
    """spCampaigns (groupBy campaign) totals equal the spTargeting totals for the same days."""
    targeting = _complete(amazon, targeting_report("2025-05-25", "2025-05-31"))
    body = targeting_report(
        "2025-05-25",
        "2025-05-31",
        reportTypeId="spCampaigns",
        groupBy=["campaign"],
        columns=["date", "campaignId", "spend", "clicks"],
    )
    campaigns = _complete(amazon, body)
    assert sum(r["clicks"] for r in campaigns) == sum(r["clicks"] for r in targeting)
    assert round(sum(r["spend"] for r in campaigns), 2) == round(
        sum(r["cost"] for r in targeting), 2
    )


def test_reports_complete_on_the_first_poll_by_default(sandbox: Sandbox) -> None:
    """Without report settings the first status poll already answers COMPLETED (fast demo)."""
    amazon = make_calls(sandbox, FaultConfig())
    report_id = amazon.create_report(targeting_report("2025-05-01", "2025-05-01")).json()[
        "reportId"
    ]
    assert amazon.poll(report_id).json()["status"] == "COMPLETED"


def test_reports_can_fail_or_hang(sandbox: Sandbox) -> None:
    """Scripted report outcomes: the first FAILED with a reason, the second never completes."""
    amazon = make_calls(
        sandbox,
        FaultConfig(
            report_script=("fail", "hang"), report_pending_polls=1, report_processing_polls=1
        ),
    )
    failed = amazon.create_report(targeting_report("2025-05-01", "2025-05-01")).json()["reportId"]
    hung = amazon.create_report(targeting_report("2025-05-02", "2025-05-02")).json()["reportId"]
    fail_status = [amazon.poll(failed).json() for _ in range(3)][-1]
    hang_status = [amazon.poll(hung).json()["status"] for _ in range(6)]
    assert (fail_status["status"], fail_status["url"]) == ("FAILED", None)
    assert fail_status["failureReason"].startswith("Report generation failed")
    assert hang_status == ["PENDING"] + ["PROCESSING"] * 5
