"""Reporting v3: create, poll with backoff, 425 adoption, download without auth, splitting."""

from __future__ import annotations

import gzip
import json
from datetime import date

import httpx
import pytest

from bidagent.ads import split_range
from bidagent.errors import ReportFailed, ReportTimeout

from .conftest import reply

S3 = "https://offline-report-storage-us-east-1-prod.s3.amazonaws.com"
ROW = {"date": "2024-05-01", "campaignId": 1, "campaignBudgetAmount": 20.0, "impressions": 100,
       "clicks": 4, "cost": 2.5, "purchases7d": 1, "sales7d": 30.0, "unitsSoldClicks7d": 1}  # fmt: skip


class ReportServer:
    """A minimal reporting v3 server: PENDING, PROCESSING, then COMPLETED (or a scripted end)."""

    def __init__(self, rows=None, *, statuses=("PENDING", "PROCESSING", "COMPLETED"), create=None,
                 payload: bytes | None = None) -> None:  # fmt: skip
        self.rows = [ROW] if rows is None else rows
        self.statuses = list(statuses)
        self.create = create
        self.payload = payload
        self.created: list[dict] = []
        self.polls: list[str] = []
        self.downloads: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith("s3.amazonaws.com"):
            self.downloads.append(request)
            if (
                "Authorization" in request.headers
                or "Amazon-Advertising-API-ClientId" in request.headers
            ):
                return httpx.Response(400, content=b"<Error><Code>InvalidArgument</Code>"
                                      b"<Message>Only one auth mechanism allowed</Message></Error>")  # fmt: skip
            body = (
                self.payload
                if self.payload is not None
                else gzip.compress(json.dumps(self.rows).encode())
            )
            return httpx.Response(200, content=body)
        if request.method == "POST":
            self.created.append(json.loads(request.content))
            if self.create is not None:
                return self.create(request)
            return reply(200, {"reportId": f"r{len(self.created)}", "status": "PENDING"})
        report_id = request.url.path.rsplit("/", 1)[1]
        self.polls.append(report_id)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        body = {"reportId": report_id, "status": status}
        if status == "COMPLETED":
            body["url"] = f"{S3}/{report_id}.json.gz?X-Amz-Signature=secret-signature"
        if status == "FAILED":
            body["failureReason"] = "Report generation failed due to an internal error"
        return reply(200, body)


def _fetch(client, report_type="spCampaigns", start=date(2024, 5, 1), end=date(2024, 5, 1)):
    return client.fetch_report("1", report_type, start, end)


TODAY = {"today": lambda: date(2024, 6, 1)}


def test_report_is_created_polled_and_downloaded_without_auth(make_client, clock):
    """The report is created with our columns, polled until COMPLETED and fetched with no auth."""
    server = ReportServer()
    client, api = make_client(server, report_poll_interval_s=10, **TODAY)
    assert _fetch(client) == [ROW]
    assert server.created == [{
        "name": "bidagent spCampaigns 2024-05-01..2024-05-01",
        "startDate": "2024-05-01", "endDate": "2024-05-01",
        "configuration": {"adProduct": "SPONSORED_PRODUCTS", "reportTypeId": "spCampaigns",
                          "groupBy": ["campaign"],
                          "columns": ["date", "campaignId", "campaignBudgetAmount", "impressions",
                                      "clicks", "cost", "purchases7d", "sales7d", "unitsSoldClicks7d"],
                          "timeUnit": "DAILY", "format": "GZIP_JSON"}}]  # fmt: skip
    assert (
        api.requests[0].headers["Content-Type"]
        == "application/vnd.createasyncreportrequest.v3+json"
    )
    assert server.polls == ["r1", "r1", "r1"]
    assert clock.sleeps == [10, 15]  # backoff between polls
    [download] = server.downloads
    assert "Authorization" not in download.headers
    assert "Amazon-Advertising-API-Scope" not in download.headers


def test_425_duplicate_adopts_the_named_report(make_client):
    """A 425 'duplicate of : <id>' polls and downloads that report instead of failing."""
    server = ReportServer(create=lambda r: reply(
        425, {"code": "425", "detail": "The Request is a duplicate of : 0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"}))  # fmt: skip
    client, _ = make_client(server, **TODAY)
    assert _fetch(client) == [ROW]
    assert set(server.polls) == {"0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"}
    assert len(server.created) == 1


def test_failed_report_raises_with_report_fields(make_client):
    """A FAILED report raises ReportFailed carrying type, profile and dates."""
    client, _ = make_client(ReportServer(statuses=("PENDING", "FAILED")), **TODAY)
    with pytest.raises(ReportFailed, match="internal error") as caught:
        _fetch(client)
    error = caught.value
    assert (error.report_type, error.profile_id, error.start, error.end) == (
        "spCampaigns", "1", date(2024, 5, 1), date(2024, 5, 1)
    )  # fmt: skip


def test_report_that_never_completes_times_out(make_client, clock):
    """A report stuck PENDING raises ReportTimeout at the deadline, polls spaced out."""
    server = ReportServer(statuses=("PENDING",))
    client, _ = make_client(server, report_poll_interval_s=10, report_deadline_s=600, **TODAY)
    with pytest.raises(ReportTimeout):
        _fetch(client)
    assert sum(clock.sleeps) == pytest.approx(600)
    assert len(server.polls) < 15


def test_truncated_gzip_is_rejected(make_client):
    """A truncated download is a ReportFailed, not a partial report."""
    whole = gzip.compress(json.dumps([ROW] * 50).encode())
    client, _ = make_client(ReportServer(payload=whole[: len(whole) // 2]), **TODAY)
    with pytest.raises(ReportFailed, match="not a complete gzip stream"):
        _fetch(client)


def test_presigned_url_never_reaches_an_error(make_client):
    """A failing download's error names the report, not the presigned URL."""

    def handler(request):
        if request.url.host.endswith("s3.amazonaws.com"):
            return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code></Error>")
        return ReportServer(statuses=("COMPLETED",))(request)

    client, _ = make_client(handler, **TODAY)
    with pytest.raises(Exception) as caught:
        _fetch(client)
    assert "secret-signature" not in str(caught.value)
    assert "r1" in str(caught.value)


def test_long_ranges_are_split_into_31_day_requests(make_client):
    """60 days become reports of 31 and 29 days, each with its own dates."""
    server = ReportServer(rows=[], statuses=("COMPLETED",))
    client, _ = make_client(server, **TODAY)
    client.fetch_report("1", "spTargeting", date(2024, 4, 1), date(2024, 5, 30))
    assert [(c["startDate"], c["endDate"]) for c in server.created] == [
        ("2024-04-01", "2024-05-01"),
        ("2024-05-02", "2024-05-30"),
    ]


def test_start_is_clamped_to_the_95_day_lookback(make_client):
    """A start older than 95 days is moved to the oldest day Amazon keeps."""
    server = ReportServer(rows=[], statuses=("COMPLETED",))
    client, _ = make_client(server, **TODAY)
    client.fetch_report("1", "spCampaigns", date(2024, 1, 1), date(2024, 3, 1))
    assert server.created[0]["startDate"] == "2024-02-28"  # 2024-06-01 minus 94 days


def test_lookback_without_a_clock_is_measured_from_end(make_client):
    """Without ``today`` (e.g. a simulated account clock), 95 days back from ``end`` is the limit."""
    server = ReportServer(rows=[], statuses=("COMPLETED",))
    client, _ = make_client(server)
    client.fetch_report("1", "spCampaigns", date(2024, 1, 1), date(2024, 6, 1))
    assert server.created[0]["startDate"] == "2024-02-28"


def test_split_range_edges():
    """split_range covers every day once: one day, exactly 31, and 32."""
    d = date(2024, 1, 1)
    assert split_range(d, d) == [(d, d)]
    assert split_range(d, date(2024, 1, 31)) == [(d, date(2024, 1, 31))]
    assert split_range(d, date(2024, 2, 1)) == [(d, date(2024, 1, 31)), (date(2024, 2, 1),) * 2]
