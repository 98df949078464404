"""Error bodies: every shape of digest §4.2 yields a code and a message."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bidagent.ads.failures import (
    REFUSAL_CLASSES,
    error_from_response,
    item_error,
    parse_error_body,
    refusal_class,
)
from bidagent.errors import ApiError, AuthError, ThrottledError


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"code": "422", "details": "Unrecognized token", "requestId": "r1"},
            "422",
            "Unrecognized token",
        ),
        ({"code": "INVALID_ARGUMENT", "message": "bad"}, "INVALID_ARGUMENT", "bad"),
        ({"code": "400", "detail": "Invalid Advertiser"}, "400", "Invalid Advertiser"),
        ({"message": "Too Many Requests"}, None, "Too Many Requests"),
        ({"error": "invalid_grant", "error_description": "revoked"}, "invalid_grant", "revoked"),
    ],
)
def test_error_shapes(body, code, message):
    """Each documented error shape is read into (code, message)."""
    parsed = parse_error_body(json.dumps(body).encode())
    assert (parsed.code, parsed.message) == (code, message)


def test_non_json_error_body():
    """An HTML proxy page becomes its text, without a code."""
    parsed = parse_error_body(b"<html>Bad Gateway</html>")
    assert (parsed.code, parsed.message) == (None, "<html>Bad Gateway</html>")


def test_sp_v3_errors_list_is_appended_to_message():
    """A 400 with an errors[] list names each reason in the message."""
    body = {"code": "INVALID_ARGUMENT", "message": "invalid", "errors": [
        {"errorType": "rangeError", "errorValue": {"rangeError": {"reason": "TOO_HIGH", "message": "max 1000"}}}
    ]}  # fmt: skip
    parsed = parse_error_body(json.dumps(body).encode())
    assert parsed.message == "invalid: TOO_HIGH max 1000"


def test_status_maps_to_error_class():
    """401/403 → AuthError, 429 → ThrottledError with Retry-After, else ApiError with request id."""
    auth = error_from_response(httpx.Response(403, json={"code": "ACCESS_DENIED"}), what="x")
    throttled = error_from_response(
        httpx.Response(429, json={"code": "THROTTLED"}, headers={"Retry-After": "4"}), what="x"
    )
    other = error_from_response(
        httpx.Response(500, json={"code": "INTERNAL_ERROR"}, headers={"x-amzn-RequestId": "rid"}),
        what="x",
    )
    assert type(auth) is AuthError
    assert (type(throttled), throttled.retry_after_s) == (ThrottledError, 4.0)
    assert (type(other), other.status, other.code, other.request_id) == (
        ApiError, 500, "INTERNAL_ERROR", "rid"
    )  # fmt: skip


def test_item_error_reads_selector_reason_and_limits():
    """A biddingError item yields its reason as code and keeps the limits in details."""
    item = {"index": 0, "errors": [{"errorType": "biddingError", "errorValue": {"biddingError": {
        "reason": "BID_OUT_OF_MARKET_PLACE_RANGE", "message": "bid too high",
        "lowerLimit": "0.02", "upperLimit": "1000", "marketplace": "US"}}}]}  # fmt: skip
    assert item_error(item) == (
        "BID_OUT_OF_MARKET_PLACE_RANGE",
        "bid too high",
        {"reason": "BID_OUT_OF_MARKET_PLACE_RANGE", "message": "bid too high",
         "lowerLimit": "0.02", "upperLimit": "1000", "marketplace": "US",
         "selector": "biddingError"},
    )  # fmt: skip


def test_item_error_without_reason_uses_selector_name():
    """An entityNotFoundError without a reason becomes ENTITY_NOT_FOUND."""
    item = {"index": 1, "errors": [{"errorType": "entityNotFoundError", "errorValue": {
        "entityNotFoundError": {"entityId": "5", "entityType": "KEYWORD", "message": "gone"}}}]}  # fmt: skip
    code, message, details = item_error(item)
    assert (code, message, details["entityId"]) == ("ENTITY_NOT_FOUND", "gone", "5")


def _spec_error_reasons() -> set[str]:
    """Every value of the vendored SP v3 spec's ``*ErrorReason`` enums."""
    spec = Path(__file__).parents[1] / "contract" / "specs" / "SponsoredProducts_prod_3p.json"
    schemas = json.loads(spec.read_text())["components"]["schemas"]
    return {
        value
        for name, schema in schemas.items()
        if name.endswith("ErrorReason")
        for value in schema.get("enum", [])
    }


def test_every_error_reason_of_the_spec_has_a_class() -> None:
    """Each refusal reason Amazon's SP v3 spec lists is classified, and nothing else is."""
    assert set(REFUSAL_CLASSES) == _spec_error_reasons()
    assert refusal_class("BUDGET_TOO_LOW") == "limit"
    assert refusal_class("biddingError") is None
    assert refusal_class(None) is None
