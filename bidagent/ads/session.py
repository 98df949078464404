"""Every HTTP call to the Ads API: headers, rate limit, 401 refresh, and the retry rules.

Owns the difference between reads and writes (digest §4, reliability §4): reads (lists, profiles,
report create/poll/download) retry 429, 5xx, timeouts and connection errors with backoff, honouring
``Retry-After``; writes retry only what provably applied nothing (429, a connection that never
opened, a 401 before the token refresh) and turn a timeout, reset or 5xx into
:class:`OutcomeUnknownError`. It must not interpret response bodies beyond errors, and must never
log a token, a query string or a presigned URL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from bidagent.ads.auth import TokenSource
from bidagent.ads.failures import error_from_response, parse_error_body, parse_retry_after
from bidagent.ads.pacing import RateLimiter, RetryBudget, RetryPolicy
from bidagent.errors import AdsError, ApiError

__all__ = ["AdsSession", "OutcomeUnknownError", "json_body"]

log = structlog.get_logger(__name__)

# Failures that happen before a byte of the request reached the server: nothing can have applied.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class OutcomeUnknownError(ApiError):
    """A write may or may not have been applied (timeout, reset, 5xx): read back before resending."""


class AdsSession:
    """Sends requests for one client id against one regional host."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        tokens: TokenSource,
        client_id: str,
        base_url: str,
        limiter: RateLimiter,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._client_id = client_id
        self._base_url = base_url.rstrip("/")
        self._limiter = limiter
        self.policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = random.Random()

    def _headers(
        self, token: str, profile_id: str | None, media_type: str | None, accept: str | None
    ) -> dict[str, str]:
        headers = {
            "Amazon-Advertising-API-ClientId": self._client_id,
            "Authorization": f"Bearer {token}",
        }
        if profile_id is not None:
            headers["Amazon-Advertising-API-Scope"] = profile_id
        if media_type is not None:
            headers["Content-Type"] = media_type
            headers["Accept"] = accept or media_type
        return headers

    def _send(
        self,
        method: str,
        path: str,
        *,
        profile_id: str | None,
        media_type: str | None,
        content: bytes | None,
        params: dict[str, str] | None,
        refreshed: list[bool],
        extra_headers: dict[str, str] | None = None,
        accept: str | None = None,
    ) -> httpx.Response:
        """One request; a non-scope 401 refreshes the token once and resends once."""
        token = self._tokens.token()
        while True:
            self._limiter.acquire(profile_id or "-")
            headers = self._headers(token, profile_id, media_type, accept)
            headers.update(extra_headers or {})
            response = self._http.request(
                method, self._base_url + path, content=content, params=params, headers=headers
            )
            if response.status_code != 401 or refreshed[0]:
                return response
            if parse_error_body(response.content).is_scope_problem:
                return response
            refreshed[0] = True
            log.info("token_rejected", path=path, profile_id=profile_id)
            token = self._tokens.refresh(stale=token)

    def read(
        self,
        method: str,
        path: str,
        *,
        profile_id: str | None,
        media_type: str | None = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        accept: str | None = None,
    ) -> httpx.Response:
        """A call that changes nothing (or is safe to repeat): retried within the budget.

        ``accept`` is the response media type where it differs from the request's (reports)."""
        budget = RetryBudget(self.policy, self._monotonic, self._rng)
        refreshed = [False]
        what = f"{method} {path}"
        while True:
            budget.attempts += 1
            retry_after: float | None = None
            try:
                response = self._send(
                    method,
                    path,
                    profile_id=profile_id,
                    media_type=media_type,
                    content=content,
                    params=params,
                    refreshed=refreshed,
                    accept=accept,
                )
            except httpx.TransportError as exc:
                failure: AdsError = ApiError(f"{what}: {type(exc).__name__}")
                reason = type(exc).__name__
            else:
                if response.status_code in ok:
                    return response
                failure = error_from_response(response, what=what)
                if not _retryable_status(response.status_code):
                    raise failure
                reason = str(response.status_code)
                retry_after = parse_retry_after(response)
            self._wait_or_raise(budget, retry_after, failure, method, path, profile_id, reason)

    def _wait_or_raise(
        self,
        budget: RetryBudget,
        retry_after: float | None,
        failure: AdsError,
        method: str,
        path: str,
        profile_id: str | None,
        reason: str,
    ) -> None:
        """Sleep before the next attempt, or raise ``failure`` when the retry budget is spent."""
        delay = budget.next_delay(retry_after)
        if delay is None:
            raise failure
        log.warning(
            "request_retried",
            method=method,
            path=path,
            profile_id=profile_id,
            reason=reason,
            attempt=budget.attempts,
            delay_s=round(delay, 3),
        )
        self._sleep(delay)

    def write(
        self,
        method: str,
        path: str,
        *,
        profile_id: str,
        media_type: str,
        content: bytes,
        prefer_representation: bool = False,
    ) -> httpx.Response:
        """A call that changes entities. Returns the 2xx/207 response.

        Raises ``ThrottledError`` when 429s outlast the budget (nothing applied),
        :class:`OutcomeUnknownError` when the request may have been applied, and the mapped
        error of any other refusal (nothing applied).
        """
        budget = RetryBudget(self.policy, self._monotonic, self._rng)
        refreshed = [False]
        what = f"{method} {path}"
        while True:
            budget.attempts += 1
            retry_after: float | None = None
            try:
                response = self._send(
                    method,
                    path,
                    profile_id=profile_id,
                    media_type=media_type,
                    content=content,
                    params=None,
                    refreshed=refreshed,
                    extra_headers=(
                        {"Prefer": "return=representation"} if prefer_representation else None
                    ),
                )
            except _NOT_SENT as exc:
                failure: AdsError = ApiError(f"{what}: {type(exc).__name__} before sending")
                reason = type(exc).__name__
            except httpx.TransportError as exc:
                log.warning("write_outcome_unknown", path=path, reason=type(exc).__name__)
                raise OutcomeUnknownError(f"{what}: {type(exc).__name__} after sending") from None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response
                if status >= 500:
                    log.warning("write_outcome_unknown", path=path, reason=str(status))
                    error = error_from_response(response, what=what)
                    raise OutcomeUnknownError(
                        str(error), status=status, code=error.code, request_id=error.request_id
                    )
                failure = error_from_response(response, what=what)
                if status != 429:
                    raise failure
                reason = "429"
                retry_after = parse_retry_after(response)
            self._wait_or_raise(budget, retry_after, failure, method, path, profile_id, reason)

    def download(self, url: str, *, what: str) -> bytes:
        """GET a presigned URL with **no** Amazon headers (S3 refuses two auth mechanisms).

        Retried like a read; the URL never reaches a log line or an error message.
        """
        budget = RetryBudget(self.policy, self._monotonic, self._rng)
        while True:
            budget.attempts += 1
            retry_after: float | None = None
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:
                failure: AdsError = ApiError(f"download of {what}: {type(exc).__name__}")
                reason = type(exc).__name__
            else:
                if response.status_code == 200:
                    return response.content
                body = parse_error_body(response.content)
                failure = ApiError(
                    f"download of {what}: HTTP {response.status_code}: {body.message}",
                    status=response.status_code,
                    code=body.code,
                )
                if not _retryable_status(response.status_code):
                    raise failure
                reason = str(response.status_code)
                retry_after = parse_retry_after(response)
            delay = budget.next_delay(retry_after)
            if delay is None:
                raise failure
            log.warning("request_retried", path="(report download)", reason=reason,
                        attempt=budget.attempts, delay_s=round(delay, 3))  # fmt: skip
            self._sleep(delay)


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def json_body(data: Any) -> bytes:
    """Compact JSON for a request body (Decimals must have been converted by the caller)."""
    return json.dumps(data, separators=(",", ":")).encode()
