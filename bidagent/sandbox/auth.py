"""Login with Amazon for the fake API: the token endpoint and the checks on every Ads call.

Owns access-token minting and verification. Tokens are stateless (an HMAC over a token epoch
kept in the state file), so tokens survive restarts of the fake server and any process sharing
the state file accepts them; expiring tokens bumps the epoch. It must not route requests or touch
entities. Region: a profile is only served on its own region's host (loopback serves all).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx

from bidagent.marketplaces import marketplace_for
from bidagent.sandbox.responses import ApiRequest, RequestRejected, json_response, lwa_error

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["check_ads_headers", "host_region", "issue_token"]

TOKEN_LIFETIME_S = 3600
_HOST_REGIONS = {
    "advertising-api.amazon.com": "NA",
    "advertising-api-eu.amazon.com": "EU",
    "advertising-api-fe.amazon.com": "FE",
}


def host_region(host: str) -> str | None:
    """The region an Amazon Ads host serves; ``None`` (all regions) for a loopback host."""
    return _HOST_REGIONS.get(host.lower())


def _sign(sandbox: Sandbox, payload: str) -> str:
    key = f"{sandbox.client_id}:{sandbox.client_secret}".encode()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


def issue_token(sandbox: Sandbox, api: ApiRequest) -> httpx.Response:
    """``POST /auth/o2/token``: the refresh-token grant, form-encoded, as LwA answers it."""
    content_type = (api.header("content-type") or "").lower()
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return lwa_error(400, "invalid_request", "Malformed request", api.request_id)
    form = {k: v[0] for k, v in parse_qs(api.request.content.decode("utf-8", "replace")).items()}
    grant = form.get("grant_type")
    if grant != "refresh_token":
        if grant == "authorization_code":
            return lwa_error(
                400,
                "invalid_grant",
                "The request has an invalid grant parameter : code",
                api.request_id,
            )
        return lwa_error(400, "unsupported_grant_type", "Unsupported grant type", api.request_id)
    if form.get("client_id") != sandbox.client_id or not hmac.compare_digest(
        form.get("client_secret", ""), sandbox.client_secret
    ):
        return lwa_error(401, "invalid_client", "Client authentication failed", api.request_id)
    if not hmac.compare_digest(form.get("refresh_token", ""), sandbox.refresh_token):
        return lwa_error(
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
            api.request_id,
        )
    epoch = sandbox.store.get_meta("token_epoch") or "1"
    nonce = secrets.token_hex(8)
    payload = f"{epoch}.{nonce}"
    body = {
        "access_token": f"Atza|sandbox.{payload}.{_sign(sandbox, payload)}",
        "refresh_token": sandbox.refresh_token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME_S,
    }
    return json_response(200, body, api.request_id, media_type="application/json;charset=UTF-8")


def _token_valid(sandbox: Sandbox, authorization: str | None) -> bool:
    if not authorization or not authorization.startswith("Bearer Atza|sandbox."):
        return False
    parts = authorization.removeprefix("Bearer Atza|sandbox.").split(".")
    if len(parts) != 3:
        return False
    epoch, nonce, signature = parts
    if not hmac.compare_digest(signature, _sign(sandbox, f"{epoch}.{nonce}")):
        return False
    return epoch == (sandbox.store.get_meta("token_epoch") or "1")


def check_ads_headers(sandbox: Sandbox, api: ApiRequest, *, needs_scope: bool) -> None:
    """Client id, bearer token and (unless ``needs_scope`` is false) the profile scope.

    Sets ``api.profile_id``; raises :class:`RequestRejected` with 401 otherwise.
    """
    if api.header("Amazon-Advertising-API-ClientId") != sandbox.client_id:
        raise RequestRejected(401, "Amazon-Advertising-API-ClientId is missing or unknown")
    if not _token_valid(sandbox, api.header("Authorization")):
        raise RequestRejected(401, "Unauthorized: the access token is missing, invalid or expired")
    if not needs_scope:
        return
    scope = api.header("Amazon-Advertising-API-Scope")
    if not scope:
        raise RequestRejected(401, "Scope header is missing")
    profile = next((p for p in sandbox.profile_rows() if p["profile_id"] == scope.strip()), None)
    if profile is None:
        raise RequestRejected(401, f"Not authorized to access scope {scope}")
    region = host_region(api.request.url.host)
    if region is not None and marketplace_for(profile["country"]).region != region:
        raise RequestRejected(401, "No matching advertiser found for scope")
    api.profile_id = profile["profile_id"]
