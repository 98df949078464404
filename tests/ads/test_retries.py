"""Retry rules: reads retry 429/5xx/timeouts within a budget; writes never retry blindly."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from bidagent.ads import EntityUpdate, ItemResult
from bidagent.errors import ApiError, ThrottledError

from .conftest import reply

CAMPAIGNS = {"campaigns": [], "totalResults": 0}


def _sequence(*responses):
    """A handler answering with each response (or raising each exception) in turn."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def test_read_429_honours_retry_after(make_client, clock):
    """A throttled list waits exactly Retry-After seconds, then succeeds."""
    client, api = make_client(
        _sequence(reply(429, {"code": "THROTTLED"}, {"Retry-After": "7"}), reply(200, CAMPAIGNS))
    )
    assert client.list_campaigns("1") == []
    assert clock.sleeps == [7.0]
    assert len(api.requests) == 2


def test_read_429_without_retry_after_backs_off_with_jitter(make_client, clock):
    """Without Retry-After the waits are exponential with full jitter: within 0..2 s, 0..4 s."""
    client, _ = make_client(
        _sequence(
            reply(429, {"message": "Too Many Requests"}), reply(429, {}), reply(200, CAMPAIGNS)
        )
    )
    client.list_campaigns("1")
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 2.0
    assert 0 <= clock.sleeps[1] <= 4.0


def test_read_5xx_and_timeouts_are_retried(make_client, clock):
    """500s, read timeouts and connection resets on a read are retried until success."""
    client, api = make_client(
        _sequence(
            reply(500, {"code": "INTERNAL_ERROR", "message": "Service Error"}),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("reset"),
            reply(200, CAMPAIGNS),
        )
    )
    assert client.list_campaigns("1") == []
    assert len(api.requests) == 4
    assert len(clock.sleeps) == 3


def test_read_retries_are_bounded_in_attempts(make_client):
    """Persistent 429s end in ThrottledError after max_attempts tries."""
    client, api = make_client(lambda r: reply(429, {}, {"Retry-After": "1"}), max_attempts=3)
    with pytest.raises(ThrottledError) as caught:
        client.list_campaigns("1")
    assert caught.value.retry_after_s == 1.0
    assert len(api.requests) == 3


def test_read_retries_are_bounded_in_time(make_client, clock):
    """A Retry-After beyond the remaining time budget is not waited for."""
    client, api = make_client(
        lambda r: reply(429, {}, {"Retry-After": "120"}), max_retry_time_s=100
    )
    with pytest.raises(ThrottledError):
        client.list_campaigns("1")
    assert clock.sleeps == []
    assert len(api.requests) == 1


def test_read_400_is_not_retried(make_client):
    """A 400 on a list is raised at once as ApiError with Amazon's code."""
    client, api = make_client(
        lambda r: reply(400, {"code": "INVALID_ARGUMENT", "message": "bad nextToken"})
    )
    with pytest.raises(ApiError) as caught:
        client.list_campaigns("1")
    assert (caught.value.status, caught.value.code) == (400, "INVALID_ARGUMENT")
    assert len(api.requests) == 1


def _update(client):
    return client.update("1", "keyword", [EntityUpdate("11", bid=Decimal("0.50"))])


def _applied(request: httpx.Request) -> httpx.Response:
    return reply(207, {"keywords": {"success": [{"index": 0, "keywordId": "11"}], "error": []}})


def test_write_429_is_waited_out_and_resent(make_client, clock):
    """A 429 on an update applied nothing: the batch is resent after Retry-After."""
    client, api = make_client(_sequence(reply(429, {}, {"Retry-After": "3"}), _applied(None)))
    assert _update(client) == [ItemResult(0, "applied", "11")]
    assert clock.sleeps == [3.0]
    assert len(api.requests) == 2


def test_write_timeout_after_sending_is_unknown_and_not_resent(make_client):
    """A read timeout on an update marks the item unknown and sends nothing more."""
    client, api = make_client(_sequence(httpx.ReadTimeout("applied, then slow")))
    [result] = _update(client)
    assert (result.outcome, result.entity_id) == ("unknown", "11")
    assert len(api.requests) == 1


def test_write_5xx_is_unknown(make_client):
    """A 502 on an update may have applied: unknown, not retried."""
    client, api = make_client(_sequence(reply(502, {"message": "Bad Gateway"})))
    [result] = _update(client)
    assert (result.outcome, result.details) == ("unknown", {"status": 502})
    assert len(api.requests) == 1


def test_write_connect_error_is_retried(make_client):
    """A connection that never opened applied nothing: the update is retried."""
    client, api = make_client(_sequence(httpx.ConnectError("refused"), _applied(None)))
    assert [r.outcome for r in _update(client)] == ["applied"]
    assert len(api.requests) == 2


def test_write_throttled_past_budget_raises_when_nothing_was_sent(make_client):
    """429s beyond the budget on the first batch raise ThrottledError: nothing was applied."""
    client, api = make_client(lambda r: reply(429, {}, {"Retry-After": "2"}), max_attempts=2)
    with pytest.raises(ThrottledError) as caught:
        _update(client)
    assert caught.value.retry_after_s == 2.0
    assert len(api.requests) == 2


def test_write_throttled_on_a_later_batch_is_failed_throttled(make_client):
    """When batch 2 is throttled past the budget, batch 1 keeps its results and batch 2 fails."""
    answers = [_applied(None)] + [reply(429, {}, {"Retry-After": "2"})] * 2
    client, _ = make_client(_sequence(*answers), max_attempts=2)
    items = [EntityUpdate("11", bid=Decimal("0.5"))] + [
        EntityUpdate(str(i), bid=Decimal("0.5")) for i in range(100, 1100)
    ]
    results = client.update("1", "keyword", items)
    assert results[0] == ItemResult(0, "applied", "11")
    assert (results[1000].outcome, results[1000].code, results[1000].details) == (
        "failed",
        "THROTTLED",
        {"status": 429, "retry_after_s": 2.0},
    )


def test_rate_limit_spaces_requests_per_profile(make_client, clock):
    """At 2 requests/s per profile, the third quick request waits for a token."""
    client, _ = make_client(lambda r: reply(200, CAMPAIGNS), requests_per_second=2.0)
    for _ in range(3):
        client.list_campaigns("1")
    assert clock.sleeps == [0.5]
    client.list_campaigns("2")  # another profile has its own bucket
    assert clock.sleeps == [0.5]
