"""Where Amazon's guide and its OpenAPI files disagree, the guide wins: each entry says why.

Every entry here is listed in ``docs/sandbox.md`` ("The contract tests"). Keep them few and
narrow: an entry names the operation(s) it applies to, never a whole spec.
"""

from __future__ import annotations

from typing import Any

# Statuses the guide documents for every Ads API operation (reference/concepts/errors, digest
# §4.1, §4.5) that the OpenAPI files leave out of some operations: the API gateway answers a
# throttle or an expired token before the service sees the request, in its own
# ``{"message": "..."}`` shape, and 5xx from the gateway (502, 503, 504) can reach any call.
_GATEWAY_STATUSES = {401, 429, 500, 502, 503, 504}
# The guide's 415 for an unsupported Content-Type or Accept (reference/concepts/errors), on the
# operations whose OpenAPI file does not list it (reporting v3): a refusal, never kinder.
_MEDIA_REFUSAL = 415


def _gateway_body(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) <= {"message", "code", "details", "detail", "requestId"}
        and bool(body)
    )


def undocumented_status(operation: str, status: int, body: Any) -> str | None:
    """The allowance that admits a status the operation's spec does not list, or ``None``."""
    if status in _GATEWAY_STATUSES and _gateway_body(body):
        return f"guide: gateway {status} on any operation"
    if status == _MEDIA_REFUSAL and _gateway_body(body):
        return "guide: 415 for an unsupported media type"
    return None


def gateway_media(status: int, media: str, body: Any) -> str | None:
    """A documented status answered by the API gateway in its own shape and media type."""
    gateway = isinstance(body, dict) and set(body) == {"message"}
    if status in _GATEWAY_STATUSES and media == "application/json" and gateway:
        return f"guide: gateway {status} as application/json {{message}}"
    return None


# The guide (reporting v3 get-started, digest §3.1) and Amazon itself accept plain
# ``application/json`` on report creation; the OpenAPI file lists only the vendor type.
_REQUEST_MEDIA: dict[tuple[str, str], str] = {
    (
        "POST /reporting/reports",
        "application/json",
    ): "application/vnd.createasyncreportrequest.v3+json",
}


def request_media(operation: str, media: str) -> str | None:
    """The documented media type whose schema an allowed undocumented request type is held to."""
    return _REQUEST_MEDIA.get((operation, media))


def accept_allowed(operation: str, media_types: list[str]) -> bool:
    """Whether an ``Accept`` naming undocumented response types is allowed (never, so far)."""
    return False
