"""LwA token endpoint, Ads API header checks and ``GET /v2/profiles``."""

from __future__ import annotations

import httpx

from bidagent.sandbox import Sandbox
from tests.sandbox.conftest import KEYWORD_TYPE, AmazonCalls


def test_refresh_grant_answers_a_bearer_token(amazon: AmazonCalls) -> None:
    """The refresh grant returns an Atza token, the same refresh token, bearer, 3600 s."""
    body = amazon.fetch_token().json()
    assert body["access_token"].startswith("Atza|")
    assert {k: v for k, v in body.items() if k != "access_token"} == {
        "refresh_token": "Atzr|sandbox",
        "token_type": "bearer",
        "expires_in": 3600,
    }


def test_token_errors_follow_lwa(amazon: AmazonCalls) -> None:
    """Bad client -> 401 invalid_client; bad refresh token -> 400 invalid_grant; JSON -> 400."""
    bad_client = amazon.fetch_token(client_secret="nope")
    bad_grant = amazon.fetch_token(refresh_token="Atzr|other")
    not_form = amazon.http.post(amazon.token_url, json={"grant_type": "refresh_token"})
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")
    assert (not_form.status_code, not_form.json()["error"]) == (400, "invalid_request")


def test_profiles_list_ids_as_numbers(amazon: AmazonCalls) -> None:
    """GET /v2/profiles needs no scope and returns numeric profileId, US/USD/Los Angeles."""
    headers = amazon.headers()
    del headers["Amazon-Advertising-API-Scope"]
    response = amazon.http.get(amazon.base_url + "/v2/profiles", headers=headers)
    profile = response.json()[0]
    assert response.status_code == 200
    assert profile == {
        "profileId": int(amazon.profile_id),
        "countryCode": "US",
        "currencyCode": "USD",
        "dailyBudget": 999999999.0,
        "timezone": "America/Los_Angeles",
        "accountInfo": profile["accountInfo"]
        | {"marketplaceStringId": "ATVPDKIKX0DER", "type": "seller"},
    }


def test_profiles_of_another_region_are_not_listed(amazon: AmazonCalls) -> None:
    """The EU host lists no US profile, and refuses a US profile as scope with 401."""
    eu = "https://advertising-api-eu.amazon.com"
    assert amazon.http.get(eu + "/v2/profiles", headers=amazon.headers()).json() == []
    response = amazon.http.post(
        eu + "/sp/keywords/list", json={}, headers=amazon.headers(KEYWORD_TYPE)
    )
    assert (response.status_code, response.json()["message"]) == (
        401,
        "No matching advertiser found for scope",
    )


def test_missing_or_wrong_scope_is_401(amazon: AmazonCalls) -> None:
    """No scope -> 401 'Scope header is missing'; an unknown profile -> 401 not authorized."""
    url = amazon.base_url + "/sp/keywords/list"
    headers = amazon.headers(KEYWORD_TYPE)
    del headers["Amazon-Advertising-API-Scope"]
    missing = amazon.http.post(url, json={}, headers=headers)
    wrong = amazon.http.post(
        url,
        json={},
        headers=amazon.headers(KEYWORD_TYPE, **{"Amazon-Advertising-API-Scope": "123"}),
    )
    assert (missing.status_code, missing.json()) == (
        401,
        {"code": "UNAUTHORIZED", "message": "Scope header is missing"},
    )
    assert (wrong.status_code, wrong.json()["message"]) == (
        401,
        "Not authorized to access scope 123",
    )


def test_expired_tokens_answer_401_until_refreshed(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """After expire_tokens() the old token gets 401; a refreshed one works again."""
    url = amazon.base_url + "/sp/keywords/list"
    sandbox.expire_tokens()
    stale = amazon.http.post(url, json={}, headers=amazon.headers(KEYWORD_TYPE))
    amazon.token = amazon.fetch_token().json()["access_token"]
    fresh = amazon.http.post(url, json={}, headers=amazon.headers(KEYWORD_TYPE))
    assert (stale.status_code, stale.json()["code"], fresh.status_code) == (
        401,
        "UNAUTHORIZED",
        200,
    )


def test_tokens_survive_a_new_transport(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """Tokens are stateless: another transport (another process) on the same state accepts them."""
    other = httpx.Client(transport=sandbox.transport())
    response = other.post(
        amazon.base_url + "/sp/keywords/list", json={}, headers=amazon.headers(KEYWORD_TYPE)
    )
    assert response.status_code == 200
    other.close()
