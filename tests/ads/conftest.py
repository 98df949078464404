"""Fixtures for client tests against ``httpx.MockTransport`` handlers (the transport seam), and
where the sandbox puts an auto campaign's manual sibling (:func:`auto_and_manual`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from contract import recorder

from bidagent.ads import AdsClient
from bidagent.ads.models import AdGroup, Campaign

TOKEN_URL = "https://api.amazon.com/auth/o2/token"
BASE_URL = "https://advertising-api.amazon.com"


class FakeClock:
    """A monotonic clock that only moves when the client sleeps (so tests never wait)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def reply(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A JSON response."""
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers or {})


Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """Routes API requests to a handler; answers LWA token requests itself."""

    def __init__(self, handler: Handler, *, expires_in: int = 3600) -> None:
        self.handler = handler
        self.expires_in = expires_in
        self.token_requests: list[httpx.Request] = []
        self.requests: list[httpx.Request] = []
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.token_requests.append(request)
            self.issued += 1
            return reply(
                200,
                {
                    "access_token": f"Atza|token-{self.issued}",
                    "refresh_token": "Atzr|refresh",
                    "token_type": "bearer",
                    "expires_in": self.expires_in,
                },
            )
        self.requests.append(request)
        recorder.check_client_request(request)  # the answer is canned; the request is the client's
        return self.handler(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., tuple[AdsClient, Api]]]:
    clients: list[AdsClient] = []

    def build(handler: Handler, **options: Any) -> tuple[AdsClient, Api]:
        api = Api(handler, expires_in=options.pop("expires_in", 3600))
        defaults: dict[str, Any] = {
            "client_id": "amzn1.application-oa2-client.test",
            "client_secret": "s3cret-value",
            "refresh_token": "Atzr|refresh",
            "transport": httpx.MockTransport(api),
            "requests_per_second": 1000.0,
            "sleep": clock.sleep,
            "monotonic": clock.monotonic,
        }
        defaults.update(options)
        client = AdsClient(**defaults)
        clients.append(client)
        return client, api

    yield build
    for client in clients:
        client.close()


def auto_and_manual(client: AdsClient, profile_id: str) -> tuple[Campaign, AdGroup, Campaign]:
    """The profile's first auto campaign by name, its first ad group by name, and the manual
    sibling the sandbox builds for it (``NAME Manual``)."""
    campaigns = {c.name: c for c in client.list_campaigns(profile_id)}
    auto = campaigns[min(n for n, c in campaigns.items() if c.targeting_type == "auto")]
    manual = campaigns[f"{auto.name} Manual"]
    group = min(
        client.list_ad_groups(profile_id, campaign_ids=[auto.campaign_id]), key=lambda g: g.name
    )
    return auto, group, manual
