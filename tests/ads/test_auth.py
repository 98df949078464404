"""LWA token handling: caching, proactive refresh, single-flight, 401 handling."""

from __future__ import annotations

import threading
import urllib.parse

import httpx
import pytest

from bidagent.errors import AuthError

from .conftest import TOKEN_URL, reply


def _profiles_ok(request: httpx.Request) -> httpx.Response:
    return reply(200, [])


def test_refresh_grant_is_form_encoded_with_all_fields(make_client):
    """The token request is a form-encoded refresh_token grant carrying the client credentials."""
    client, api = make_client(_profiles_ok)
    client.list_profiles()
    request = api.token_requests[0]
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert dict(urllib.parse.parse_qsl(request.content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|refresh",
        "client_id": "amzn1.application-oa2-client.test",
        "client_secret": "s3cret-value",
    }


def test_token_is_cached_until_shortly_before_expiry(make_client, clock):
    """One token serves many calls; a call near expiry refreshes first."""
    client, api = make_client(_profiles_ok)
    client.list_profiles()
    client.list_profiles()
    assert len(api.token_requests) == 1
    clock.now += 3600 - 100  # inside the refresh margin
    client.list_profiles()
    assert len(api.token_requests) == 2
    assert api.requests[-1].headers["Authorization"] == "Bearer Atza|token-2"


def test_concurrent_callers_share_one_refresh(make_client):
    """Ten threads starting together cause exactly one token refresh."""
    gate = threading.Barrier(10)
    client, api = make_client(_profiles_ok)

    def call() -> None:
        gate.wait()
        client.list_profiles()

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(api.token_requests) == 1
    assert len(api.requests) == 10


def test_expired_token_401_refreshes_once_and_retries_once(make_client):
    """A 401 for an expired token triggers one refresh and one resend with the new token."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer Atza|token-1":
            return reply(401, {"code": "UNAUTHORIZED", "message": "Token has expired"})
        return reply(200, [{"profileId": 1, "countryCode": "US", "currencyCode": "USD",
                            "timezone": "America/Los_Angeles"}])  # fmt: skip

    client, api = make_client(handler)
    profiles = client.list_profiles()
    assert [p.profile_id for p in profiles] == ["1"]
    assert len(api.token_requests) == 2
    assert [r.headers["Authorization"] for r in api.requests] == [
        "Bearer Atza|token-1",
        "Bearer Atza|token-2",
    ]


def test_second_401_after_refresh_is_an_auth_error(make_client):
    """A 401 that survives a refresh raises AuthError after exactly one refresh."""
    client, api = make_client(lambda r: reply(401, {"message": "Unauthorized"}))
    with pytest.raises(AuthError) as caught:
        client.list_profiles()
    assert caught.value.status == 401
    assert len(api.token_requests) == 2
    assert len(api.requests) == 2


def test_scope_401_does_not_refresh(make_client):
    """A 401 about the profile scope raises at once, without a refresh loop."""
    client, api = make_client(
        lambda r: reply(
            401, {"code": "UNAUTHORIZED", "message": "Not authorized to access scope 9"}
        )
    )
    with pytest.raises(AuthError, match="Not authorized to access scope"):
        client.list_campaigns("9")
    assert len(api.token_requests) == 1
    assert len(api.requests) == 1


def test_revoked_refresh_token_is_an_auth_error_without_secrets(make_client):
    """invalid_grant from LWA raises AuthError whose message holds no secret or token."""

    def lwa(request: httpx.Request) -> httpx.Response:
        return reply(400, {"error": "invalid_grant",
                           "error_description": "The request has an invalid grant parameter"})  # fmt: skip

    transport = httpx.MockTransport(lwa)
    client, _ = make_client(_profiles_ok, transport=transport)
    with pytest.raises(AuthError) as caught:
        client.list_profiles()
    assert caught.value.code == "invalid_grant"
    assert caught.value.status == 400
    assert "s3cret-value" not in str(caught.value)
    assert "Atzr|refresh" not in str(caught.value)


def test_token_endpoint_5xx_is_retried(make_client, clock):
    """A 503 from LWA is retried with backoff before the token is used."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            calls.append(request)
            if len(calls) == 1:
                return reply(503, {"error": "server_error"})
            return reply(200, {"access_token": "Atza|late", "expires_in": 3600})
        return reply(200, [])

    client, _ = make_client(_profiles_ok, transport=httpx.MockTransport(handler))
    assert client.list_profiles() == []
    assert len(calls) == 2
    assert len(clock.sleeps) == 1
