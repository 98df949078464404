"""``AdsClient``: the one object the rest of bidagent uses to talk to the Amazon Ads API.

Owns wiring (one long-lived ``httpx.Client`` with explicit timeouts and pool limits, the token
source, the rate limiter, the retry policy) and the public methods, each a thin call into
:mod:`entities`, :mod:`readback`, :mod:`writes`, :mod:`reports` or :mod:`suggestions`. It must not
hold business rules: what to change and what to do with an ``unknown`` outcome belong to the agent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import httpx
import polars as pl

from bidagent.ads.auth import TokenSource
from bidagent.ads.endpoints import API_HOSTS, TOKEN_URLS
from bidagent.ads.entities import EntityReader
from bidagent.ads.models import (
    AdGroup,
    Campaign,
    EntityUpdate,
    ItemResult,
    Negative,
    Profile,
    Target,
)
from bidagent.ads.pacing import RateLimiter, RetryPolicy
from bidagent.ads.readback import current_values, find_existing
from bidagent.ads.report_rows import parse_report
from bidagent.ads.reports import ReportRunner
from bidagent.ads.session import AdsSession
from bidagent.ads.suggestions import BidSuggestion, SuggestionReader
from bidagent.ads.writes import EntityWriter
from bidagent.errors import ConfigError
from bidagent.vocabulary import ArchiveKind, CreateKind, EntityKind, UpdateKind

if TYPE_CHECKING:
    from bidagent.settings import Settings

__all__ = ["AdsClient"]

ReportType = Literal["spTargeting", "spSearchTerm", "spCampaigns"]


def _quiet_http_loggers() -> None:
    # httpx logs every request line with its full URL at INFO, presigned report URLs included.
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


class AdsClient:
    """A client for one LWA app/refresh token in one region. Thread-safe; close it when done."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        region: str = "NA",
        base_url: str | None = None,
        token_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        max_connections: int = 10,
        requests_per_second: float = 5.0,
        max_attempts: int = 6,
        max_retry_time_s: float = 300.0,
        report_poll_interval_s: float = 10.0,
        report_deadline_s: float = 3 * 3600.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        today: Callable[[], date] | None = None,
        page_size: int | None = None,
    ) -> None:
        if region not in API_HOSTS:
            raise ValueError(f"region must be one of {sorted(API_HOSTS)}: {region!r}")
        _quiet_http_loggers()
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s, pool=connect_timeout_s),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
        )
        policy = RetryPolicy(max_attempts=max_attempts, max_retry_time_s=max_retry_time_s)
        self.tokens = TokenSource(
            http=self._http,
            token_url=token_url or TOKEN_URLS[region],
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            policy=policy,
            sleep=sleep,
            monotonic=monotonic,
        )
        self._session = AdsSession(
            http=self._http,
            tokens=self.tokens,
            client_id=client_id,
            base_url=base_url or API_HOSTS[region],
            limiter=RateLimiter(requests_per_second, sleep=sleep, monotonic=monotonic),
            policy=policy,
            sleep=sleep,
            monotonic=monotonic,
        )
        self._reader = EntityReader(self._session, page_size=page_size)
        self._writer = EntityWriter(self._session)
        self._suggestions = SuggestionReader(self._session)
        self._reports = ReportRunner(
            self._session,
            poll_interval_s=report_poll_interval_s,
            deadline_s=report_deadline_s,
            sleep=sleep,
            monotonic=monotonic,
            today=today,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.BaseTransport | None = None, **overrides: Any
    ) -> AdsClient:
        """Build from ``[ads]``; ``source = "sandbox"`` takes the sandbox's credentials."""
        ads = settings.ads
        if ads.backend != "amazon":
            sandbox = settings.sandbox
            credentials = (
                sandbox.client_id,
                sandbox.client_secret.get_secret_value(),
                sandbox.refresh_token.get_secret_value(),
            )
        else:
            if not (ads.client_id and ads.client_secret and ads.refresh_token):
                raise ConfigError(
                    "ads.source = 'amazon' needs client_id, client_secret, refresh_token"
                )
            credentials = (
                ads.client_id,
                ads.client_secret.get_secret_value(),
                ads.refresh_token.get_secret_value(),
            )
        options: dict[str, Any] = {
            "region": ads.region,
            "base_url": ads.base_url,
            "token_url": ads.token_url,
            "transport": transport,
            "timeout_s": ads.timeout_s,
            "connect_timeout_s": ads.connect_timeout_s,
            "max_connections": ads.max_connections,
            "requests_per_second": ads.requests_per_second,
            "max_attempts": ads.max_attempts,
            "max_retry_time_s": ads.max_retry_time_s,
            "report_poll_interval_s": ads.report_poll_interval_s,
            "report_deadline_s": ads.report_deadline_s,
        }
        options.update(overrides)
        return cls(
            client_id=credentials[0],
            client_secret=credentials[1],
            refresh_token=credentials[2],
            **options,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Reads ---------------------------------------------------------------------------------

    def list_profiles(self) -> list[Profile]:
        return self._reader.profiles()

    def list_campaigns(
        self,
        profile_id: str,
        *,
        ids: Sequence[str] | None = None,
        states: Sequence[str] | None = None,
    ) -> list[Campaign]:
        return self._reader.campaigns(profile_id, ids=ids, states=states)

    def list_ad_groups(self, profile_id: str, **filters: Any) -> list[AdGroup]:
        """Filters: ``ids``, ``states``, ``campaign_ids``."""
        return self._reader.ad_groups(profile_id, **filters)

    def list_keywords(self, profile_id: str, **filters: Any) -> list[Target]:
        """Filters: ``ids``, ``states``, ``campaign_ids``, ``ad_group_ids``."""
        return self._reader.keywords(profile_id, **filters)

    def list_targets(self, profile_id: str, **filters: Any) -> list[Target]:
        """Product and auto targets. Filters: ``ids``, ``states``, ``campaign_ids``, ``ad_group_ids``."""
        return self._reader.targets(profile_id, **filters)

    def list_negative_keywords(self, profile_id: str, **filters: Any) -> list[Negative]:
        return self._reader.negative_keywords(profile_id, **filters)

    def list_campaign_negative_keywords(self, profile_id: str, **filters: Any) -> list[Negative]:
        return self._reader.campaign_negative_keywords(profile_id, **filters)

    def list_negative_targets(self, profile_id: str, **filters: Any) -> list[Negative]:
        """Ad-group negative product targets (``expression`` set, no text). Filters: ``ids``,
        ``states``, ``campaign_ids``, ``ad_group_ids``."""
        return self._reader.negative_targets(profile_id, **filters)

    def list_campaign_negative_targets(self, profile_id: str, **filters: Any) -> list[Negative]:
        """Campaign negative product targets (Amazon has them in AUTO campaigns only). Filters:
        ``ids``, ``states``, ``campaign_ids``."""
        return self._reader.campaign_negative_targets(profile_id, **filters)

    def get_current(
        self, profile_id: str, kind: EntityKind, ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Live values by id for reconcile: bid/state (targets), budget/state (campaigns),
        default_bid/state (ad groups), state and text (negatives). Missing ids are absent."""
        return current_values(self._reader, profile_id, kind, ids)

    def find_existing(
        self, profile_id: str, kind: CreateKind, items: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any] | None]:
        """For each create item, the live entity (not archived) with the same ad group (campaign
        for campaign negatives) and the same text and match type, or for product and negative
        targets the same expression (ASINs compared case-insensitively), or ``None``: how a
        create whose outcome was unknown is read back."""
        return find_existing(self._reader, profile_id, kind, items)

    def bid_suggestions(self, profile_id: str, targets: Sequence[Target]) -> list[BidSuggestion]:
        """Suggested bids for existing targets (bidagent.ads.models.Target), grouped by
        (campaign, ad group), at most 100 targeting expressions per request. Targets whose
        expression has no recommendation type are left out of the result (no error). An API error
        raises like other reads (ApiError etc. from bidagent.errors, after the session's retry
        policy)."""
        return self._suggestions.suggestions(profile_id, targets)

    # Writes --------------------------------------------------------------------------------

    def update(
        self, profile_id: str, kind: UpdateKind, items: Sequence[EntityUpdate]
    ) -> list[ItemResult]:
        """Absolute updates in batches of 1,000; one result per item, in ``items`` order."""
        return self._writer.update(profile_id, kind, items)

    def create(
        self, profile_id: str, kind: CreateKind, items: Sequence[dict[str, Any]]
    ) -> list[ItemResult]:
        """Creates; one result per item. Read back with :meth:`find_existing` after ``unknown``.

        Items, in our spelling: keywords and negative keywords ``{campaign_id, ad_group_id,
        keyword_text, match_type, bid (keywords), state}``; product targets ``{campaign_id,
        ad_group_id, expression: [{"type": "asinSameAs", "value": ASIN}], bid, state}`` (sent as
        a MANUAL clause); negative targets the same without ``bid``. Campaign-level kinds take no
        ``ad_group_id``. Predicate types may be spelled ``asinSameAs`` or ``ASIN_SAME_AS``; a
        type the kind cannot take is a ``ValueError`` before anything is sent."""
        return self._writer.create(profile_id, kind, items)

    def archive(self, profile_id: str, kind: ArchiveKind, ids: Sequence[str]) -> list[ItemResult]:
        """Archive entities by id (SP v3 ``POST /sp/<entity>/delete``; archiving is final); one
        result per id. Read back with :meth:`get_current` (``state`` "archived") after ``unknown``."""
        return self._writer.archive(profile_id, kind, ids)

    # Reports -------------------------------------------------------------------------------

    def fetch_report_raw(
        self, profile_id: str, report_type: ReportType, start: date, end: date
    ) -> list[tuple[date, date, bytes]]:
        """The decompressed JSON of each ≤31-day piece of ``start..end``, with its dates."""
        requests = self._reports.requests_for(report_type, profile_id, start, end)
        return [(r.start, r.end, self._reports.fetch(r)) for r in requests]

    def fetch_report(
        self, profile_id: str, report_type: ReportType, start: date, end: date
    ) -> list[dict[str, Any]]:
        """All rows of ``start..end`` as Amazon sent them (see :meth:`fetch_facts` to validate)."""
        rows: list[dict[str, Any]] = []
        for piece_start, piece_end, raw in self.fetch_report_raw(
            profile_id, report_type, start, end
        ):
            data = json.loads(raw)
            if not isinstance(data, list):
                raise self._reports.requests_for(report_type, profile_id, piece_start, piece_end)[
                    0
                ].failed("the file is not a JSON array")
            rows.extend(data)
        return rows

    def fetch_facts(
        self, profile_id: str, report_type: ReportType, start: date, end: date
    ) -> pl.DataFrame:
        """Validated fact rows of ``start..end`` for the report's store table (all or nothing)."""
        frames = [
            parse_report(report_type, raw, profile_id=profile_id, start=a, end=b)
            for a, b, raw in self.fetch_report_raw(profile_id, report_type, start, end)
        ]
        return pl.concat(frames) if len(frames) > 1 else frames[0]
