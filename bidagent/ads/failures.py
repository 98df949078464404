"""Turn Amazon's error answers into bidagent errors.

Owns the reading of the four (five, counting LWA) error body shapes of digest §4.2 and of the
per-item errors inside a 207 body (§2.4). It decides which error class a status maps to; it does
not decide whether to retry (that is :mod:`bidagent.ads.session`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from bidagent.errors import AdsError, ApiError, AuthError, ThrottledError

__all__ = [
    "ErrorBody",
    "error_from_response",
    "item_error",
    "parse_error_body",
    "parse_retry_after",
]

# 401 messages that mean "this token may not act for this profile": refreshing cannot help.
_SCOPE_MARKERS = ("scope", "advertiser", "not authorized to access", "region")
# The reason to report when an item error names only its selector.
_SELECTOR_CODES = {
    "entityNotFoundError": "ENTITY_NOT_FOUND",
    "duplicateValueError": "DUPLICATE_VALUE",
    "throttledError": "THROTTLED",
    "internalServerError": "INTERNAL_ERROR",
}


class ErrorBody:
    """The code and message of an error body, whatever its shape."""

    __slots__ = ("code", "message")

    def __init__(self, code: str | None, message: str) -> None:
        self.code = code
        self.message = message

    @property
    def is_scope_problem(self) -> bool:
        """True when a 401 is about the profile scope rather than an expired token."""
        text = self.message.lower()
        return any(marker in text for marker in _SCOPE_MARKERS)


def parse_error_body(content: bytes) -> ErrorBody:
    """Read ``code`` and a message from any of Amazon's error shapes.

    Shapes: v2 ``{code, details, requestId}``, SP v3 ``{code, message, errors}``, reporting v3
    ``{code, detail}``, gateway ``{message}``, LWA ``{error, error_description}``. Anything else
    (HTML from a proxy, empty body) becomes a generic message with no code.
    """
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = content[:200].decode("utf-8", "replace").strip() if content else ""
        return ErrorBody(None, text or "no error body")
    code = data.get("code", data.get("error"))
    message = next(
        (
            str(data[key])
            for key in ("message", "details", "detail", "error_description")
            if data.get(key) not in (None, "")
        ),
        "",
    )
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        details = "; ".join(filter(None, (_describe(e) for e in errors)))
        message = f"{message}: {details}" if message else details
    return ErrorBody(None if code is None else str(code), message or "no error message")


def _describe(error: Any) -> str:
    if not isinstance(error, dict):
        return ""
    reason, message, fields = _selector_fields(error)
    return " ".join(filter(None, (reason or fields.get("selector"), message)))


def _selector_fields(error: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(reason, message, fields) of one SP v3 ``{errorType, errorValue: {<selector>: {...}}}``."""
    value = error.get("errorValue")
    selector = error.get("errorType")
    fields: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        # Trust the single key inside errorValue over errorType (digest §2.4).
        selector, inner = next(iter(value.items()))
        if isinstance(inner, dict):
            fields = dict(inner)
    reason = fields.get("reason")
    message = fields.get("message")
    fields["selector"] = selector
    return (
        None if reason is None else str(reason),
        None if message is None else str(message),
        fields,
    )


def item_error(item: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(code, message, details) for one 207 error item; details keep every field Amazon sent.

    The code is the ``reason`` (``BID_OUT_OF_MARKET_PLACE_RANGE``, ``ENTITY_NOT_FOUND``...) when
    present, else the selector name; ``details["selector"]`` is the selector
    (``biddingError``...), and limits such as ``lowerLimit``/``upperLimit`` stay as sent.
    """
    errors = item.get("errors")
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, "error item without errors", {}
    code, message, details = _selector_fields(errors[0])
    if code is None:
        selector = details.get("selector")
        code = _SELECTOR_CODES.get(str(selector), None if selector is None else str(selector))
    if len(errors) > 1:
        details["more_errors"] = errors[1:]
    return code, message, details


def request_id_of(response: httpx.Response) -> str | None:
    """Amazon's request id from whichever header carried it."""
    for header in ("x-amzn-RequestId", "x-amz-rid", "x-amz-request-id"):
        value = response.headers.get(header)
        if value:
            return str(value)
    return None


def parse_retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, or ``None`` when absent or not a number (HTTP dates ignored)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def error_from_response(response: httpx.Response, *, what: str) -> AdsError:
    """The bidagent error for a non-success ``response`` to the call described by ``what``."""
    body = parse_error_body(response.content)
    status = response.status_code
    fields: dict[str, Any] = {
        "status": status,
        "code": body.code,
        "request_id": request_id_of(response),
    }
    message = (
        f"{what}: HTTP {status}" + (f" {body.code}" if body.code else "") + f": {body.message}"
    )
    if status in (401, 403):
        return AuthError(message, **fields)
    if status == 429:
        return ThrottledError(message, retry_after_s=parse_retry_after(response), **fields)
    return ApiError(message, **fields)
