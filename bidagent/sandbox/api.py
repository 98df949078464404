"""The fake Amazon Ads API core: one ``handle(request) -> response`` shared by both serving modes.

Owns routing (LwA token, ``/v2/profiles``, SP v3 entities, bid recommendations, reporting v3, the
presigned download, admin paths), header and media-type checks, and the fault layer
(:meth:`FakeAdsApi.dispatch`) that turns a :class:`~bidagent.sandbox.faults.Decision` into a 429,
5xx, gateway 401, slow reply or a timeout after the change was applied. The in-process transport
and the loopback server only adapt I/O around :meth:`FakeAdsApi.dispatch`; neither contains API
logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bidagent.marketplaces import marketplace_for
from bidagent.sandbox.admin import handle_admin
from bidagent.sandbox.auth import check_ads_headers, host_region, issue_token
from bidagent.sandbox.entity_specs import SPECS_BY_PATH
from bidagent.sandbox.faults import FaultConfig, FaultInjector
from bidagent.sandbox.reporting import cancel_report, create_report, download_report, report_status
from bidagent.sandbox.responses import (
    ApiRequest,
    RequestRejected,
    check_media_type,
    json_response,
)
from bidagent.sandbox.sp_create import create_entities
from bidagent.sandbox.sp_list import list_entities
from bidagent.sandbox.sp_write import archive_entities, update_entities
from bidagent.sandbox.suggestions import PATH as SUGGESTIONS_PATH
from bidagent.sandbox.suggestions import suggest_bids

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["DOWNLOAD_PATH", "FAULT_HEADER", "FakeAdsApi", "Reply"]

# Set on answers that a scripted fault made wrong on purpose (see ``malformed``).
FAULT_HEADER = "x-sandbox-fault"

# The presigned report download path the fake API hands out (the contract tests skip it: it is
# no Ads API operation).
DOWNLOAD_PATH = re.compile(r"^/[0-9a-f-]{36}-\d+/report-[0-9a-f-]{36}-\d+\.json\.gz$")
_REPORT = re.compile(r"^/reporting/reports/([^/]+)$")


@dataclass(frozen=True)
class Reply:
    """A response plus how to deliver it (slowly, or not at all after applying the change)."""

    response: httpx.Response
    delay_s: float = 0.0
    timeout: bool = False


def _family(path: str) -> str:
    if path == SUGGESTIONS_PATH:
        return "bid_recommendation"
    if path.startswith("/reporting/"):
        return "report"
    if path.startswith("/v2/"):
        return "v2"
    return "sp"


class FakeAdsApi:
    """Amazon's Ads API endpoints over one :class:`~bidagent.sandbox.Sandbox`."""

    def __init__(
        self,
        sandbox: Sandbox,
        faults: FaultConfig | None = None,
        *,
        download_base: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.faults = FaultInjector(faults)
        self.download_base = download_base or f"https://{sandbox.download_host}"

    def dispatch(self, request: httpx.Request) -> Reply:
        """Handle one request with the configured faults applied around it."""
        path = request.url.path
        decision = self.faults.decide(request.method, path)
        api = ApiRequest.of(request, _family(path))
        if path.startswith(("/reporting/", "/sp/", "/v2/")) and self.faults.count_api_call():
            self.sandbox.expire_tokens()
        outcome, delay = decision.outcome, decision.delay_s
        if outcome in ("throttle", "throttle_no_retry_after"):
            headers = {"Retry-After": str(self.faults.config.retry_after_s)}
            response = api.error(429, "Too Many Requests")
            if outcome == "throttle":
                response.headers.update(headers)
            return Reply(response, delay)
        if outcome in ("error_500", "error_503"):
            status = 500 if outcome == "error_500" else 503
            return Reply(
                api.error(status, "Service Error" if status == 500 else "Service Unavailable"),
                delay,
            )
        if outcome == "bad_request":
            return Reply(api.error(400, "Bad Request"), delay)
        if outcome == "malformed":
            # A fault on purpose: the header names it so the contract tests can tell it from a
            # sandbox bug (Amazon sends no such header).
            answer = json_response(200, {"unexpected": "shape"}, api.request_id)
            answer.headers[FAULT_HEADER] = "malformed"
            return Reply(answer, delay)
        if outcome == "unauthorized":
            return Reply(json_response(401, {"message": "Unauthorized"}, api.request_id), delay)
        return Reply(self.handle(request), delay, timeout=outcome == "timeout_after_apply")

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Route one request to its handler; no faults (the shared request-handling core)."""
        path = request.url.path
        method = request.method.upper()
        if path == "/auth/o2/token" and method == "POST":
            return issue_token(self.sandbox, ApiRequest.of(request, "lwa"))
        if path.startswith("/_sandbox/"):
            return handle_admin(self.sandbox, request)
        if method == "GET" and DOWNLOAD_PATH.match(path):
            return download_report(self.sandbox, request)
        api = ApiRequest.of(request, _family(path))
        try:
            return self._route(api, method, path)
        except RequestRejected as exc:
            return api.error(exc.status, exc.message, **exc.extra)

    def _route(self, api: ApiRequest, method: str, path: str) -> httpx.Response:
        sandbox = self.sandbox
        if path == "/v2/profiles" and method == "GET":
            check_ads_headers(sandbox, api, needs_scope=False)
            return self._profiles(api)
        if path == "/reporting/reports" and method == "POST":
            check_ads_headers(sandbox, api, needs_scope=True)
            return create_report(sandbox, api, self.faults)
        match = _REPORT.match(path)
        if match and method in ("GET", "DELETE"):
            check_ads_headers(sandbox, api, needs_scope=True)
            if method == "DELETE":
                return cancel_report(sandbox, api, match.group(1))
            return report_status(sandbox, api, match.group(1), self.faults, self.download_base)
        if path == SUGGESTIONS_PATH:
            check_ads_headers(sandbox, api, needs_scope=True)
            if method != "POST":
                raise RequestRejected(405, f"Method {method} not allowed on {path}")
            return suggest_bids(sandbox, api)
        base, _, action = path.rpartition("/")
        spec = SPECS_BY_PATH.get(path) or (
            SPECS_BY_PATH.get(base) if action in ("list", "delete") else None
        )
        if spec is None:
            raise RequestRejected(404, f"No such resource: {method} {path}")
        check_ads_headers(sandbox, api, needs_scope=True)
        # SP v3 wants the entity's vendor type as Content-Type (and Accept, if one is sent).
        check_media_type(api, spec.media_type, has_body=method in ("POST", "PUT"))
        if path.endswith("/list") and method == "POST":
            return list_entities(sandbox, api, spec)
        if path.endswith("/delete") and method == "POST":
            return archive_entities(sandbox, api, spec)
        if method == "PUT":
            return update_entities(sandbox, api, spec)
        if method == "POST":
            return create_entities(sandbox, api, spec)
        raise RequestRejected(405, f"Method {method} not allowed on {path}")

    def _profiles(self, api: ApiRequest) -> httpx.Response:
        region = host_region(api.request.url.host)
        answer = []
        for profile in self.sandbox.profile_rows():
            market = marketplace_for(profile["country"])
            if region is not None and market.region != region:
                continue  # each host lists the profiles of its own region only
            answer.append(
                {
                    "profileId": int(profile["profile_id"]),
                    "countryCode": market.country_code,
                    "currencyCode": market.currency_code,
                    "dailyBudget": 999999999.0,
                    "timezone": market.timezone,
                    "accountInfo": {
                        "marketplaceStringId": market.marketplace_id,
                        "id": profile["seller_id"],
                        "type": "seller",
                        "name": profile["name"],
                        "validPaymentMethod": True,
                    },
                }
            )
        return json_response(200, answer, api.request_id)
