"""Fixtures for the fake Ads API: a small sandbox, and an httpx client shaped like Amazon's calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bidagent.sandbox import Sandbox
from bidagent.sandbox.faults import FaultConfig

KEYWORD_TYPE = "application/vnd.spKeyword.v3+json"
REPORT_TYPE = "application/vnd.createasyncreportrequest.v3+json"


class AmazonCalls:
    """Plain httpx calls with Amazon's headers (the server is under test, not a client)."""

    def __init__(self, client: httpx.Client, sandbox: Sandbox, base_url: str, token_url: str):
        self.http = client
        self.sandbox = sandbox
        self.base_url = base_url
        self.token_url = token_url
        self.token = self.fetch_token().json()["access_token"]
        self.profile_id = sandbox.profiles[0]

    def fetch_token(self, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|sandbox",
            "client_id": "amzn1.application-oa2-client.sandbox",
            "client_secret": "sandbox-secret",
            **overrides,
        }
        return self.http.post(self.token_url, data=form)

    def headers(self, media_type: str | None = None, **extra: str) -> dict[str, str]:
        headers = {
            "Amazon-Advertising-API-ClientId": "amzn1.application-oa2-client.sandbox",
            "Authorization": f"Bearer {self.token}",
            "Amazon-Advertising-API-Scope": self.profile_id,
        }
        if media_type:
            headers |= {"Content-Type": media_type, "Accept": media_type}
        return headers | extra

    def sp(
        self, method: str, path: str, body: Any, media_type: str, **headers: str
    ) -> httpx.Response:
        return self.http.request(
            method, self.base_url + path, json=body, headers=self.headers(media_type, **headers)
        )

    def create_report(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            self.base_url + "/reporting/reports",
            json=body,
            headers=self.headers() | {"Content-Type": REPORT_TYPE},
        )

    def poll(self, report_id: str) -> httpx.Response:
        return self.http.get(
            f"{self.base_url}/reporting/reports/{report_id}", headers=self.headers()
        )


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox.open(tmp_path / "state.sandbox", seed=11, targets=80, history_days=20)
    yield box
    box.close()


LIFECYCLE = FaultConfig(report_pending_polls=1, report_processing_polls=1)


def make_calls(sandbox: Sandbox, faults: FaultConfig = LIFECYCLE) -> AmazonCalls:
    client = httpx.Client(transport=sandbox.transport(faults))
    return AmazonCalls(client, sandbox, sandbox.base_url, sandbox.token_url)


@pytest.fixture
def amazon(sandbox: Sandbox) -> Iterator[AmazonCalls]:
    calls = make_calls(sandbox)
    yield calls
    calls.http.close()


def targeting_report(start: str, end: str, **config: Any) -> dict[str, Any]:
    """A spTargeting DAILY request body like the digest's §3.2 example."""
    configuration = {
        "adProduct": "SPONSORED_PRODUCTS",
        "reportTypeId": "spTargeting",
        "groupBy": ["targeting"],
        "columns": [
            "date",
            "campaignId",
            "adGroupId",
            "keywordId",
            "keyword",
            "keywordType",
            "keywordBid",
            "impressions",
            "clicks",
            "cost",
            "purchases7d",
            "sales7d",
            "unitsSoldClicks7d",
        ],
        "timeUnit": "DAILY",
        "format": "GZIP_JSON",
    } | config
    return {"name": "test", "startDate": start, "endDate": end, "configuration": configuration}
