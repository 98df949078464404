"""Turn Amazon's error answers into bidagent errors.

Owns the reading of the four (five, counting LWA) error body shapes of digest §4.2 and of the
per-item errors inside a 207 body (§2.4). It decides which error class a status maps to, and
which class of refusal an item's ``reason`` is (:data:`REFUSAL_CLASSES`, every error reason enum
of the SP v3 spec); it does not decide whether to retry (that is :mod:`bidagent.ads.session`) nor
who is told (that is :mod:`bidagent.agent.review.escalation`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx

from bidagent.errors import AdsError, ApiError, AuthError, ThrottledError

__all__ = [
    "PERSON_CLASSES",
    "REFUSAL_CLASSES",
    "ErrorBody",
    "RefusalClass",
    "error_from_response",
    "item_error",
    "parse_error_body",
    "parse_retry_after",
    "refusal_class",
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

RefusalClass = Literal["limit", "account", "entity_state", "targeting", "agent_bug", "transient"]
# Refusals a person must act on; ``agent_bug`` (a request bidagent should never send) and
# ``transient`` (worth another try) are logged and kept on the change row only.
PERSON_CLASSES: frozenset[RefusalClass] = frozenset(
    {"limit", "account", "entity_state", "targeting"}
)


def _by_code(groups: dict[RefusalClass, tuple[str, ...]]) -> dict[str, RefusalClass]:
    return {code: group for group, codes in groups.items() for code in codes}


# Every ``reason`` of the SP v3 spec's ``*ErrorReason`` enums (tests/ads/test_failures.py holds
# this to the vendored spec), plus the codes item_error makes from a selector alone.
REFUSAL_CLASSES: dict[str, RefusalClass] = _by_code(
    {
        # A budget or bid limit: the budget must rise or the bids fall, Amazon will not move.
        "limit": (
            "BID_GT_BUDGET",
            "BID_OUT_OF_MARKET_PLACE_RANGE",
            "BUDGET_LT_DEFAULT_BIDS",
            "BUDGET_LT_KEYWORD_BIDS",
            "BUDGET_LT_PREDEFINED_TARGET_BIDS",
            "BUDGET_OUT_OF_MARKET_PLACE_RANGE",
            "BUDGET_TOO_HIGH",
            "BUDGET_TOO_LOW",
            "TOO_HIGH",
            "TOO_LOW",
            "QUOTA_EXCEEDED",
            "NON_ARCHIVED_QUOTA_EXCEEDED",
        ),
        # The account: billing, suspension, policy, ownership, currency settings.
        "account": (
            "ADVERTISER_BILLING_SETUP_INCOMPLETE",
            "ADVERTISER_SUSPENDED",
            "BILLING_ACCOUNT_NOT_FOUND",
            "EXPIRED_PAYMENT_METHOD",
            "PAYMENT_PROFILE_NOT_FOUND",
            "VETTING_FAILURE",
            "AD_INELIGIBLE",
            "ASIN_NOT_OWNED_BY_AUTHOR",
            "BUDGET_CURRENCY_DOES_NOT_MATCH_MARKETPLACE_SETTINGS",
            "CANNOT_UPDATE_CURRENCY",
            "CURRENCY_NOT_MATCHING_PREFERRED_CURRENCY",
            "CURRENCY_NOT_SUPPORTED",
            "PREFERRED_CURRENCY_NOT_SET",
        ),
        # The entity or its parent is not in a state that allows the change (often a person's edit).
        "entity_state": (
            "ARCHIVED_ENTITY_CANNOT_BE_MODIFIED",
            "AUTO_TARGETING_CLAUSE_CANNOT_BE_ARCHIVED_MANUALLY",
            "INVALID_STATE_TRANSITION",
            "INVALID_TARGET_STATE",
            "MARKETPLACE_STATE_CANNOT_BE_ARCHIVED",
            "PARENT_ARCHIVED_FORBIDS_UPDATES",
            "PARENT_ENTITY_FORBIDS_CREATION",
            "PARENT_STATUS_FORBIDS_UPDATES_AND_CREATES",
            "PARENT_ENTITY_ARCHIVED",
            "PARENT_ENTITY_NOT_FOUND",
            "ENTITY_NOT_FOUND",
            "DUPLICATE_VALUE",
            "NAME_NOT_UNIQUE",
            "UPDATING_ENDED_CAMPAIGN_WITHOUT_EXTENSION",
        ),
        # A rule asks for a target Amazon does not allow where it is asked for.
        "targeting": (
            "AUTO_TARGETING_CLAUSE_CANNOT_BE_CREATED_MANUALLY",
            "TARGETING_EXPRESSION_INVALID_VALUE",
            "TARGETING_TYPE_NOT_ALLOWED_FOR_AUTO_TARGETING_CAMPAIGN",
            "TYPE_CONFLICT_IN_AD_GROUP",
            "INVALID_ASIN",
            "INVALID_SKU",
        ),
        # A request bidagent builds wrong: fields it never sends, malformed values, bad tokens.
        "agent_bug": (
            "BID_AUDIENCES_MORE_THAN_ALLOWED",
            "BID_INVALID_AUDIENCE_ID",
            "BID_INVALID_AUDIENCE_SEGMENT_TYPE",
            "BID_INVALID_PLACEMENT",
            "BID_INVALID_SHOPPER_COHORT_TYPE",
            "BID_MISSING_AUDIENCES",
            "BID_SHOPPER_COHORTS_MORE_THAN_ALLOWED",
            "BUDGETING_POLICY_INVALID",
            "MISSING_BUDGETING_POLICY",
            "MISSING_IN_BUDGET_FLAG",
            "APPLICABLE_MARKETPLACES_MISMATCH_ERROR",
            "END_DATE_EARLIER_THAN_TODAY",
            "END_DATE_LATER_THAN_MAXIMUM",
            "INVALID_DATE",
            "START_DATE_AFTER_END_DATE",
            "START_DATE_EARLIER_THAN_TODAY",
            "START_DATE_LATER_THAN_MAXIMUM",
            "UPDATING_READ_ONLY_END_DATE",
            "UPDATING_READ_ONLY_START_DATE",
            "MARKETPLACE_ATTRIBUTES_REPEATED",
            "UNSUPPORTED_EXPRESSION_TYPE",
            "INVALID_TOKEN",
            "INVALID_LOCALE",
            "BLANK",
            "FORBIDDEN_CHARS",
            "LEADING_OR_TRAILING_WHITESPACE",
            "PATTERN_NOT_MATCHED",
            "TOO_LONG",
            "TOO_SHORT",
            "MISSING_VALUE",
            "PARENT_ENTITY_DOES_NOT_TARGET_THESE_MARKETPLACES",
            "UNSUPPORTED_OPERATION",
            "INVALID_ENUM_VALUE",
            "NOT_IN_LIST",
        ),
        # Amazon's side, worth another try.
        "transient": ("THROTTLED", "INTERNAL_ERROR", "OTHER_ERROR"),
    }
)


def refusal_class(code: str | None) -> RefusalClass | None:
    """The class of an item error's code (its ``reason``), or ``None`` for a code the spec does
    not list (a selector name without a reason, a newer reason)."""
    return None if code is None else REFUSAL_CLASSES.get(code)


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
