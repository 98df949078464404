"""Reading SP v3 entities: ``POST /sp/<entity>/list`` with filters and ``nextToken`` paging.

Owns list request bodies (id, parent and state filters, chunked to Amazon's per-filter maxima)
and paging; rows are handed to :mod:`bidagent.ads.models` for normalisation. It must not write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
import structlog

from bidagent.ads.endpoints import ENTITY_SPECS, EntitySpec
from bidagent.ads.models import AdGroup, Campaign, Negative, Profile, Target
from bidagent.ads.session import AdsSession, json_body
from bidagent.errors import ApiError, MalformedResponse

__all__ = ["EntityReader"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
_OWN_ID_MAX = 1000
# A runaway nextToken loop (a server that always answers a token) must end.
_MAX_PAGES = 100_000


def _chunks(values: Sequence[str] | None, size: int) -> list[list[str] | None]:
    if values is None:
        return [None]
    unique = list(dict.fromkeys(values))
    return [unique[i : i + size] for i in range(0, len(unique), size)] or []


def _json(response: httpx.Response, what: str) -> Any:
    """The body as JSON; a 2xx body that is not JSON is :class:`MalformedResponse`."""
    try:
        return response.json()
    except ValueError:
        raise MalformedResponse(f"{what}: the body is not JSON") from None


class EntityReader:
    """List calls for one session."""

    def __init__(self, session: AdsSession, *, page_size: int | None = None) -> None:
        self._session = session
        self._page_size = page_size

    def profiles(self) -> list[Profile]:
        """``GET /v2/profiles`` (no scope header): the profiles of this region."""
        response = self._session.read("GET", "/v2/profiles", profile_id=None)
        data = _json(response, "GET /v2/profiles")
        if not isinstance(data, list):
            raise MalformedResponse("GET /v2/profiles: expected a JSON array")
        return [Profile.from_api(item) for item in data]

    def pages(
        self, profile_id: str, spec: EntitySpec, body: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """Every item of one list query, following ``nextToken`` until it is absent."""
        path = spec.path + "/list"
        token: str | None = None
        for page in range(_MAX_PAGES):
            request = dict(body)
            if self._page_size is not None:
                request["maxResults"] = self._page_size
            if token:
                request["nextToken"] = token
            response = self._session.read(
                "POST",
                path,
                profile_id=profile_id,
                media_type=spec.media_type,
                content=json_body(request),
            )
            data = _json(response, f"POST {path}")
            items = data.get(spec.body_key) if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise MalformedResponse(f"POST {path}: response has no '{spec.body_key}' list")
            yield from items
            token = data.get("nextToken") or None
            if token is None:
                log.debug("entities_listed", kind=spec.kind, pages=page + 1)
                return
        raise ApiError(f"POST {path}: more than {_MAX_PAGES} pages")

    def query(
        self,
        profile_id: str,
        kind: str,
        parse: Callable[[dict[str, Any]], T],
        *,
        ids: Sequence[str] | None = None,
        states: Sequence[str] | None = None,
        campaign_ids: Sequence[str] | None = None,
        ad_group_ids: Sequence[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> list[T]:
        """List entities of ``kind`` matching every given filter, deduplicated by id.

        Id filters longer than Amazon's maximum are split into several queries; paging is not
        snapshot-consistent (digest §2.3), so an entity seen twice is kept once.
        """
        spec = ENTITY_SPECS[kind]
        if (campaign_ids is not None and spec.id_filter == "campaignIdFilter") or (
            ad_group_ids is not None and spec.id_filter == "adGroupIdFilter"
        ):
            raise ValueError(f"{kind}: filter by ids=, not by a parent filter on its own id")
        if ad_group_ids is not None and kind.startswith("campaign_"):
            # Campaign-level negatives have no ad group, and their list takes no adGroupIdFilter.
            raise ValueError(f"{kind}: campaign-level entities cannot be filtered by ad group")
        base: dict[str, Any] = dict(extra or {})
        if states is not None:
            base["stateFilter"] = {"include": [s.upper() for s in states]}
        results: dict[str, T] = {}
        for id_chunk in _chunks(ids, _OWN_ID_MAX):
            for campaign_chunk in _chunks(campaign_ids, spec.parent_filter_max):
                for group_chunk in _chunks(ad_group_ids, spec.parent_filter_max):
                    body = dict(base)
                    if id_chunk is not None:
                        body[spec.id_filter] = {"include": id_chunk}
                    if campaign_chunk is not None:
                        body["campaignIdFilter"] = {"include": campaign_chunk}
                    if group_chunk is not None:
                        body["adGroupIdFilter"] = {"include": group_chunk}
                    for item in self.pages(profile_id, spec, body):
                        results[str(item.get(spec.id_field))] = parse(item)
        return list(results.values())

    def campaigns(self, profile_id: str, **filters: Any) -> list[Campaign]:
        return self.query(profile_id, "campaign", Campaign.from_api, **filters)

    def ad_groups(self, profile_id: str, **filters: Any) -> list[AdGroup]:
        return self.query(profile_id, "ad_group", AdGroup.from_api, **filters)

    def keywords(self, profile_id: str, **filters: Any) -> list[Target]:
        return self.query(profile_id, "keyword", Target.from_keyword, **filters)

    def targets(self, profile_id: str, **filters: Any) -> list[Target]:
        return self.query(profile_id, "product_target", Target.from_target, **filters)

    def negative_keywords(self, profile_id: str, **filters: Any) -> list[Negative]:
        def parse(item: dict[str, Any]) -> Negative:
            return Negative.from_api("negative_keyword", item)

        return self.query(profile_id, "negative_keyword", parse, **filters)

    def campaign_negative_keywords(self, profile_id: str, **filters: Any) -> list[Negative]:
        def parse(item: dict[str, Any]) -> Negative:
            return Negative.from_api("campaign_negative_keyword", item)

        return self.query(profile_id, "campaign_negative_keyword", parse, **filters)

    def negative_targets(self, profile_id: str, **filters: Any) -> list[Negative]:
        def parse(item: dict[str, Any]) -> Negative:
            return Negative.from_api("negative_target", item)

        return self.query(profile_id, "negative_target", parse, **filters)

    def campaign_negative_targets(self, profile_id: str, **filters: Any) -> list[Negative]:
        def parse(item: dict[str, Any]) -> Negative:
            return Negative.from_api("campaign_negative_target", item)

        return self.query(profile_id, "campaign_negative_target", parse, **filters)
