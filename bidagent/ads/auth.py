"""Login with Amazon: the refresh-token grant and the cached access token.

Owns getting a valid access token: cached until shortly before ``expires_in`` runs out, refreshed
by one caller at a time (a lock, so a burst of requests after expiry causes one refresh, not ten),
and refreshed on demand after an API 401. It must never log or put in an error message a token,
the client secret or the refresh token.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import httpx
import structlog

from bidagent.ads.failures import parse_error_body, parse_retry_after
from bidagent.ads.pacing import RetryBudget, RetryPolicy
from bidagent.errors import AuthError

__all__ = ["TokenSource"]

log = structlog.get_logger(__name__)

# Refresh this long before expiry: a request started on a token about to expire can still be in
# flight when it does (LWA tokens live 3600 s; digest §1.1 recommends 60-300 s early).
_REFRESH_MARGIN_S = 300.0


class TokenSource:
    """Hands out LWA access tokens for one client id / refresh token pair."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._policy = RetryPolicy(
            max_attempts=min(policy.max_attempts, 4),
            max_retry_time_s=min(policy.max_retry_time_s, 60.0),
            base_delay_s=1.0,
            max_delay_s=10.0,
        )
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.refresh_count = 0

    def token(self) -> str:
        """A token valid for at least the refresh margin (refreshing first if needed)."""
        token = self._token
        if token is not None and self._monotonic() < self._expires_at:
            return token
        return self.refresh(stale=token)

    def refresh(self, *, stale: str | None) -> str:
        """Refresh unless another caller already replaced ``stale``; returns the current token."""
        with self._lock:
            if (
                self._token is not None
                and self._token != stale
                and self._monotonic() < self._expires_at
            ):
                return self._token
            self._token, lifetime_s = self._request_token()
            margin = min(_REFRESH_MARGIN_S, lifetime_s / 10)
            self._expires_at = self._monotonic() + lifetime_s - margin
            self.refresh_count += 1
            log.debug("token_refreshed", expires_in_s=lifetime_s)
            return self._token

    def _request_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        budget = RetryBudget(self._policy, self._monotonic, self._rng)
        while True:
            budget.attempts += 1
            retry_after: float | None = None
            try:
                response = self._http.post(
                    self._token_url,
                    data=form,
                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                )
            except httpx.TransportError as exc:
                failure = f"token request failed: {type(exc).__name__}"
                status = None
            else:
                status = response.status_code
                if status == 200:
                    return self._read_grant(response)
                body = parse_error_body(response.content)
                failure = (
                    f"LWA refused the token refresh: HTTP {status} {body.code}: {body.message}"
                )
                if status < 500 and status != 429:
                    # invalid_grant (revoked consent), invalid_client: retrying cannot help.
                    raise AuthError(failure, status=status, code=body.code)
                retry_after = parse_retry_after(response)
            delay = budget.next_delay(retry_after)
            if delay is None:
                raise AuthError(failure, status=status)
            log.warning("token_request_retried", status=status, attempt=budget.attempts)
            self._sleep(delay)

    def _read_grant(self, response: httpx.Response) -> tuple[str, float]:
        try:
            grant = response.json()
            token = grant["access_token"]
            lifetime_s = float(grant.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthError(f"LWA answered 200 without a usable token ({exc!r})") from None
        if not isinstance(token, str) or not token:
            raise AuthError("LWA answered 200 without an access token")
        rotated = grant.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            # Amazon may rotate the refresh token; keep using the newest one for this process.
            self._refresh_token = rotated
            log.info("refresh_token_rotated")
        return token, lifetime_s
