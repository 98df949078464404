"""The real client against the sandbox's fake Ads API (in-process transport, no network)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from structlog.testing import capture_logs

from bidagent.ads import AdsClient, EntityUpdate
from bidagent.sandbox import Sandbox
from bidagent.sandbox.faults import EndpointFaults, FaultConfig


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox.open(tmp_path_factory.mktemp("sb") / "sb.db", seed=7, targets=300) as box:
        yield box


@pytest.fixture
def connect(sandbox, clock):
    clients = []

    def build(faults: FaultConfig | None = None, **options) -> AdsClient:
        defaults = {
            "client_id": "amzn1.application-oa2-client.sandbox",
            "client_secret": "sandbox-secret",
            "refresh_token": "Atzr|sandbox",
            "base_url": sandbox.base_url,
            "token_url": sandbox.token_url,
            "transport": sandbox.transport(faults),
            "requests_per_second": 1000.0,
            "sleep": clock.sleep,
            "monotonic": clock.monotonic,
        }
        defaults.update(options)
        client = AdsClient(**defaults)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def test_profiles_and_paging(sandbox, connect):
    """Listing with a small page size walks nextToken and returns every keyword once."""
    profile_id = sandbox.profiles[0]
    assert [p.profile_id for p in connect().list_profiles()] == sandbox.profiles
    whole = connect().list_keywords(profile_id)
    paged = connect(page_size=7).list_keywords(profile_id)
    assert len(whole) > 7
    assert sorted(k.target_id for k in paged) == sorted(k.target_id for k in whole)
    assert {k.kind for k in paged} == {"keyword"}
    assert {k.state for k in paged} <= {"enabled", "paused", "archived"}


def test_207_mixed_success_and_errors(sandbox, connect):
    """One valid bid, one above the US maximum, one unknown id: applied, failed with limits, failed."""
    profile_id = sandbox.profiles[0]
    client = connect()
    keyword = next(k for k in client.list_keywords(profile_id) if k.state == "enabled")
    results = client.update(profile_id, "keyword", [
        EntityUpdate(keyword.target_id, bid=Decimal("0.77")),
        EntityUpdate(keyword.target_id, bid=Decimal("5000")),
        EntityUpdate("999999999999999", bid=Decimal("0.5")),
    ])  # fmt: skip
    assert [r.outcome for r in results] == ["applied", "failed", "failed"]
    assert results[0].entity == {"state": "enabled", "bid": Decimal("0.77")}
    assert results[1].code == "BID_OUT_OF_MARKET_PLACE_RANGE"
    assert (results[1].details["lowerLimit"], results[1].details["upperLimit"]) == ("0.02", "1000")
    assert results[2].code == "ENTITY_NOT_FOUND"
    assert client.get_current(profile_id, "keyword", [keyword.target_id]) == {
        keyword.target_id: {"state": "enabled", "bid": Decimal("0.77")}
    }


def test_timeout_after_apply_is_unknown_and_read_back_shows_it(sandbox, connect):
    """An update applied then timed out is 'unknown'; reading back finds the new bid."""
    profile_id = sandbox.profiles[0]
    faults = FaultConfig(
        endpoints={"PUT /sp/keywords": EndpointFaults(script=("timeout_after_apply",))}
    )
    client = connect(faults)
    keyword = next(k for k in client.list_keywords(profile_id) if k.state == "enabled")
    [result] = client.update(
        profile_id, "keyword", [EntityUpdate(keyword.target_id, bid=Decimal("0.61"))]
    )
    assert (result.outcome, result.entity_id) == ("unknown", keyword.target_id)
    assert client.get_current(profile_id, "keyword", [keyword.target_id])[keyword.target_id][
        "bid"
    ] == Decimal("0.61")


def test_429_with_and_without_retry_after(sandbox, connect, clock):
    """Throttled lists wait Retry-After when given, else a jittered backoff, then succeed."""
    faults = FaultConfig(retry_after_s=3, endpoints={
        "POST /sp/campaigns/list": EndpointFaults(script=("throttle", "throttle_no_retry_after"))})  # fmt: skip
    campaigns = connect(faults).list_campaigns(sandbox.profiles[0])
    assert campaigns
    assert clock.sleeps[0] == 3.0
    assert 0 <= clock.sleeps[1] <= 4.0
    assert len(clock.sleeps) == 2


def test_token_expiry_mid_run_refreshes_and_continues(sandbox, connect):
    """Tokens expiring after a few calls cause one refresh; every call still succeeds."""
    client = connect(FaultConfig(expire_token_after=3))
    profile_id = sandbox.profiles[0]
    for _ in range(3):
        assert client.list_campaigns(profile_id)
    assert client.list_ad_groups(profile_id)
    assert client.tokens.refresh_count == 2


def test_report_download_without_auth_and_parse(sandbox, connect):
    """A targeting report completes, downloads (the fake S3 refuses auth headers) and parses."""
    profile_id = sandbox.profiles[0]
    today = sandbox.today(profile_id)
    client = connect()
    start, end = today - timedelta(days=3), today - timedelta(days=1)
    facts = client.fetch_facts(profile_id, "spTargeting", start, end)
    assert facts.height > 0
    assert set(facts["date"].unique().to_list()) <= {start + timedelta(days=n) for n in range(3)}
    assert set(facts["entity_kind"].unique().to_list()) <= {"keyword", "product_target"}


def test_425_duplicate_is_adopted(sandbox, connect):
    """A report identical to one still in flight is answered 425; the client adopts that id."""
    profile_id = sandbox.profiles[0]
    day = sandbox.today(profile_id) - timedelta(days=2)
    raw = httpx.Client(transport=sandbox.transport())
    token = raw.post(sandbox.token_url, data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|sandbox",
        "client_id": "amzn1.application-oa2-client.sandbox", "client_secret": "sandbox-secret"}).json()["access_token"]  # fmt: skip
    client = connect()
    body = client._reports.requests_for("spCampaigns", profile_id, day, day)[0].body()
    first = raw.post(
        sandbox.base_url + "/reporting/reports",
        content=json.dumps(body),
        headers={"Amazon-Advertising-API-ClientId": "amzn1.application-oa2-client.sandbox",
                 "Authorization": f"Bearer {token}", "Amazon-Advertising-API-Scope": profile_id,
                 "Content-Type": "application/vnd.createasyncreportrequest.v3+json"},
    ).json()["reportId"]  # fmt: skip
    raw.close()
    with capture_logs() as logs:
        rows = client.fetch_report(profile_id, "spCampaigns", day, day)
    assert rows
    adopted = [e["report_id"] for e in logs if e["event"] == "report_adopted"]
    assert adopted == [first]
