"""Response builders in the shapes each Amazon API family uses, and the per-request context.

Owns the error body shapes (SP v3 ``code``/``message``, reporting v3 ``code``/``detail``, v2-era
``code``/``details``, LwA ``error``/``error_description``) and the standard response headers, so
every handler answers alike. It must not decide anything about entities or reports.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "BID_RECOMMENDATION_MEDIA_TYPES",
    "ApiRequest",
    "RequestRejected",
    "check_media_type",
    "json_response",
    "lwa_error",
]

_SP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHORIZED",
    403: "ACCESS_DENIED",
    404: "NOT_FOUND",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "THROTTLED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

# The versions of POST /sp/targets/bid/recommendations the spec documents, the one a 415 names
# first (v3 is deprecated; v5 only adds includeAnalysis).
BID_RECOMMENDATION_MEDIA_TYPES = tuple(
    f"application/vnd.spthemebasedbidrecommendation.v{n}+json" for n in (4, 5, 3)
)


@dataclass
class ApiRequest:
    """One request as the handlers see it: parsed pieces plus the ids we answer with."""

    request: httpx.Request
    request_id: str
    family: str  # "sp" | "bid_recommendation" | "report" | "v2" | "lwa" | "download" | "admin"
    profile_id: str | None = None

    @classmethod
    def of(cls, request: httpx.Request, family: str) -> ApiRequest:
        """Wrap an httpx request with a fresh request id."""
        return cls(request, str(uuid.uuid4()), family)

    def json(self) -> Any:
        """The body as JSON; a malformed body rejects the request with a 400."""
        try:
            return json.loads(self.request.content or b"null")
        except ValueError:
            raise RequestRejected(400, "Malformed JSON in request body") from None

    def header(self, name: str) -> str | None:
        """A request header, or ``None``."""
        value = self.request.headers.get(name)
        return None if value is None else str(value)

    def media_type(self) -> str:
        """The theme-based bid recommendation version this request speaks (v4 if none)."""
        sent = _media(self.header("content-type"))
        return sent if sent in BID_RECOMMENDATION_MEDIA_TYPES else BID_RECOMMENDATION_MEDIA_TYPES[0]

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """An error in this request's API family shape."""
        if self.family == "report":
            return report_error(status, message, self.request_id)
        if self.family == "v2":
            return v2_error(status, message, self.request_id)
        if self.family == "bid_recommendation":
            return bid_recommendation_error(status, message, self.request_id, self.media_type())
        return sp_error(status, message, self.request_id, **extra)


class RequestRejected(Exception):  # noqa: N818 - control flow inside the fake API, never raised out
    """Raised inside a handler to answer the whole request with an error."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        self.status = status
        self.message = message
        self.extra = extra
        super().__init__(message)


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def check_media_type(api: ApiRequest, media_type: str | tuple[str, ...], *, has_body: bool) -> str:
    """Amazon's vendor media type (one of ``media_type``) as Content-Type of a request with a
    body, and in Accept if one is sent; a 415 names the type to use. Returns the type used."""
    allowed = (media_type,) if isinstance(media_type, str) else media_type
    wanted = {m.lower() for m in allowed}
    sent = _media(api.header("content-type"))
    if has_body and sent not in wanted:
        raise RequestRejected(
            415, f"Unsupported media type '{api.header('content-type')}'; use {allowed[0]}"
        )
    accepted = {_media(part) for part in (api.header("accept") or "").split(",")}
    if not accepted & {"", "*/*", *wanted}:
        raise RequestRejected(415, f"Unsupported Accept '{api.header('accept')}'; use {allowed[0]}")
    return sent if sent in wanted else allowed[0]


def json_response(
    status: int,
    body: Any,
    request_id: str,
    *,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A JSON response with Amazon's request-id headers."""
    all_headers = {
        "content-type": media_type,
        "x-amzn-RequestId": request_id,
        "x-amz-rid": request_id[:20].upper(),
        **(headers or {}),
    }
    return httpx.Response(status, headers=all_headers, content=json.dumps(body).encode())


def sp_error(status: int, message: str, request_id: str, **extra: Any) -> httpx.Response:
    """SP v3 whole-request error: ``{"code": "INVALID_ARGUMENT", "message": ...}``."""
    body = {"code": _SP_CODES.get(status, str(status)), "message": message, **extra}
    return json_response(status, body, request_id, headers=_error_headers(status))


def report_error(status: int, detail: str, request_id: str) -> httpx.Response:
    """Reporting v3 error: ``{"code": "400", "detail": ...}`` (singular ``detail``)."""
    body = {"code": str(status), "detail": detail}
    return json_response(status, body, request_id, headers=_error_headers(status))


def bid_recommendation_error(
    status: int, details: str, request_id: str, media_type: str
) -> httpx.Response:
    """Bid recommendation error: ``{"code": "422", "details": ...}`` in the request's vendor type."""
    body = {"code": str(status), "details": details}
    return json_response(
        status, body, request_id, media_type=media_type, headers=_error_headers(status)
    )


def v2_error(status: int, details: str, request_id: str) -> httpx.Response:
    """v2-era error (profiles): ``{"code": ..., "details": ..., "requestId": ...}``."""
    code = _SP_CODES.get(status, str(status)).replace("INVALID_ARGUMENT", "BAD_REQUEST")
    body = {"code": code, "details": details, "requestId": request_id}
    return json_response(status, body, request_id, headers=_error_headers(status))


def lwa_error(status: int, error: str, description: str, request_id: str) -> httpx.Response:
    """Login with Amazon error: ``{"error": ..., "error_description": ...}``."""
    body = {"error": error, "error_description": description, "request_id": request_id}
    return json_response(status, body, request_id)


def _error_headers(status: int) -> dict[str, str]:
    headers = {"x-amzn-ErrorType": _SP_CODES.get(status, str(status))}
    if status == 429:
        headers["amazon-advertising-api-throttled"] = "true"
    return headers
