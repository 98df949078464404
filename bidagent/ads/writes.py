"""Writing SP v3 entities: updates and creates in batches, with the 207 mapped back per item.

Owns request bodies for writes (absolute values only), batching at Amazon's 1,000 items, and the
mapping of each batch's answer to one :class:`ItemResult` per item by ``index``. An ambiguous
answer (timeout, reset, 5xx) marks every item of that batch ``unknown``; nothing is resent
blindly. A refusal of the whole request (429 past the retry budget, 400, 401, 403) raises when it
hits the first batch, so an exception always means "nothing of this call was applied"; on a later
batch it becomes ``failed`` items instead, so the earlier batches' results are not lost. It must not read entities back (that is the reconciler's call, via ``get_current``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog

from bidagent.ads.endpoints import ENTITY_SPECS, EntitySpec
from bidagent.ads.failures import item_error
from bidagent.ads.ids import normalise_id
from bidagent.ads.models import (
    AdGroup,
    Campaign,
    EntityUpdate,
    ItemResult,
    Negative,
    Target,
    money_out,
    predicate_type,
)
from bidagent.ads.session import AdsSession, OutcomeUnknownError, json_body
from bidagent.errors import AdsError, ThrottledError
from bidagent.vocabulary import ARCHIVE_KINDS, CREATE_KINDS

__all__ = ["BATCH_SIZE", "EntityWriter"]

log = structlog.get_logger(__name__)

BATCH_SIZE = 1000
_WRITABLE_STATES = {"enabled", "paused"}
# Which EntityUpdate fields each kind accepts (SP v3 update schemas, digest §2.5).
_UPDATE_FIELDS: dict[str, set[str]] = {
    "keyword": {"bid", "state"},
    "product_target": {"bid", "state"},
    "campaign": {"budget", "state"},
    "ad_group": {"default_bid", "state"},
}


def update_body(spec: EntitySpec, update: EntityUpdate) -> dict[str, Any]:
    """The SP v3 update item for one change; refuses fields the kind cannot take."""
    allowed = _UPDATE_FIELDS[spec.kind]
    given = {
        name
        for name in ("bid", "state", "budget", "default_bid")
        if getattr(update, name) is not None
    }
    if not given:
        raise ValueError(f"{spec.kind} {update.entity_id}: an update must change something")
    if given - allowed:
        raise ValueError(f"{spec.kind} cannot take {sorted(given - allowed)}")
    item: dict[str, Any] = {spec.id_field: normalise_id(update.entity_id)}
    if update.state is not None:
        if update.state not in _WRITABLE_STATES:
            # Amazon's update enum has no ARCHIVED (archiving is a delete): refuse it here.
            raise ValueError(f"state must be one of {sorted(_WRITABLE_STATES)}: {update.state!r}")
        item["state"] = update.state.upper()
    if update.bid is not None:
        item["bid"] = money_out(update.bid)
    if update.default_bid is not None:
        item["defaultBid"] = money_out(update.default_bid)
    if update.budget is not None:
        item["budget"] = {"budget": money_out(update.budget), "budgetType": "DAILY"}
    return item


# The predicate types each create schema takes (SP v3 ``*CreateTargetingExpressionPredicateType``
# and ``*CreateOrUpdateNegativeTargetingExpressionPredicateType``).
_NEGATIVE_PREDICATES = frozenset({"ASIN_SAME_AS", "ASIN_BRAND_SAME_AS"})
_TARGET_PREDICATES = _NEGATIVE_PREDICATES | {
    "ASIN_AGE_RANGE_SAME_AS", "ASIN_CATEGORY_SAME_AS", "ASIN_EXPANDED_FROM", "ASIN_GENRE_SAME_AS",
    "ASIN_IS_PRIME_SHIPPING_ELIGIBLE", "ASIN_PRICE_BETWEEN", "ASIN_PRICE_GREATER_THAN",
    "ASIN_PRICE_LESS_THAN", "ASIN_REVIEW_RATING_BETWEEN", "ASIN_REVIEW_RATING_GREATER_THAN",
    "ASIN_REVIEW_RATING_LESS_THAN", "KEYWORD_GROUP_SAME_AS",
}  # fmt: skip


def expression_body(kind: str, expression: Any) -> list[dict[str, Any]]:
    """A create item's expression in Amazon's spelling; refuses a type the kind cannot take.

    An ASIN is sent in capitals, as Amazon spells it (search-term reports lower-case them)."""
    allowed = _TARGET_PREDICATES if kind == "product_target" else _NEGATIVE_PREDICATES
    if not isinstance(expression, list | tuple) or not expression:
        raise ValueError(f"{kind}: an expression must be a non-empty list of predicates")
    body = []
    for predicate in expression:
        kind_name = predicate_type(predicate["type"])
        if kind_name not in allowed:
            raise ValueError(f"{kind} cannot take a {predicate['type']!r} predicate")
        out: dict[str, Any] = {"type": kind_name}
        if predicate.get("value") is not None:
            value = str(predicate["value"])
            out["value"] = value.upper() if kind_name == "ASIN_SAME_AS" else value
        body.append(out)
    return body


def create_body(spec: EntitySpec, item: dict[str, Any]) -> dict[str, Any]:
    """The SP v3 create item from our spelling: ``campaign_id``, ``ad_group_id``, ``state`` and
    ``keyword_text``/``match_type`` (keywords, negative keywords) or ``expression`` (product
    targets, negative targets), with ``bid`` for keywords and product targets."""
    body: dict[str, Any] = {"campaignId": normalise_id(item["campaign_id"])}
    if spec.kind in ("product_target", "negative_target", "campaign_negative_target"):
        body["expression"] = expression_body(spec.kind, item["expression"])
        if spec.kind == "product_target":
            body["expressionType"] = "MANUAL"  # the only type a create takes
    else:
        body["keywordText"] = str(item["keyword_text"])
        body["matchType"] = str(item["match_type"]).upper()
    body["state"] = str(item.get("state", "enabled")).upper()
    if not spec.kind.startswith("campaign_"):
        body["adGroupId"] = normalise_id(item["ad_group_id"])
    if spec.kind in ("keyword", "product_target") and item.get("bid") is not None:
        body["bid"] = money_out(item["bid"])
    return body


def _live_parser(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    parsers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "campaign": lambda d: Campaign.from_api(d).live(),
        "ad_group": lambda d: AdGroup.from_api(d).live(),
        "keyword": lambda d: Target.from_keyword(d).live(),
        "product_target": lambda d: Target.from_target(d).live(),
        "negative_keyword": lambda d: Negative.from_api("negative_keyword", d).live(),
        "campaign_negative_keyword": lambda d: Negative.from_api(
            "campaign_negative_keyword", d
        ).live(),
        "negative_target": lambda d: Negative.from_api("negative_target", d).live(),
        "campaign_negative_target": lambda d: Negative.from_api(
            "campaign_negative_target", d
        ).live(),
    }
    return parsers[kind]


def map_multistatus(
    spec: EntitySpec, data: Any, count: int, offset: int, sent_ids: Sequence[str | None]
) -> list[ItemResult]:
    """One result per request item from a 207 body, by ``index`` (items come in any order).

    An item the server did not mention is ``unknown``: silence is not success.
    """
    section = data.get(spec.body_key) if isinstance(data, dict) else None
    section = section if isinstance(section, dict) else {}
    results: dict[int, ItemResult] = {}
    live = _live_parser(spec.kind)
    for item in section.get("success") or []:
        index = item.get("index")
        if not isinstance(index, int) or not 0 <= index < count:
            continue
        raw_id = item.get(spec.success_id_key) or sent_ids[index]
        entity = item.get(spec.entity_key)
        results[index] = ItemResult(
            index=offset + index,
            outcome="applied",
            entity_id=None if raw_id is None else normalise_id(raw_id),
            entity=live(entity) if isinstance(entity, dict) else None,
        )
    for item in section.get("error") or []:
        index = item.get("index")
        if not isinstance(index, int) or not 0 <= index < count:
            continue
        code, message, details = item_error(item)
        results[index] = ItemResult(
            index=offset + index,
            outcome="failed",
            entity_id=sent_ids[index],
            code=code,
            message=message,
            details=details,
        )
    return [
        results.get(i)
        or ItemResult(
            index=offset + i,
            outcome="unknown",
            entity_id=sent_ids[i],
            code="NOT_IN_RESPONSE",
            message="the 207 body did not mention this item",
        )
        for i in range(count)
    ]


class EntityWriter:
    """Batched writes for one session."""

    def __init__(self, session: AdsSession) -> None:
        self._session = session

    def update(self, profile_id: str, kind: str, items: Sequence[EntityUpdate]) -> list[ItemResult]:
        spec = ENTITY_SPECS[kind]
        if kind not in _UPDATE_FIELDS:
            raise ValueError(f"cannot update {kind}")
        bodies = [update_body(spec, item) for item in items]
        ids: list[str | None] = [b[spec.id_field] for b in bodies]
        return self._batches("PUT", profile_id, spec, bodies, ids)

    def create(
        self, profile_id: str, kind: str, items: Sequence[dict[str, Any]]
    ) -> list[ItemResult]:
        if kind not in CREATE_KINDS:
            raise ValueError(f"cannot create {kind}")
        spec = ENTITY_SPECS[kind]
        bodies = [create_body(spec, item) for item in items]
        return self._batches("POST", profile_id, spec, bodies, [None] * len(bodies))

    def archive(self, profile_id: str, kind: str, ids: Sequence[str]) -> list[ItemResult]:
        """Archive entities by id (``POST /sp/<entity>/delete``); one result per id, in order."""
        if kind not in ARCHIVE_KINDS:
            raise ValueError(f"cannot archive {kind}")
        spec = ENTITY_SPECS[kind]
        sent: list[str | None] = [normalise_id(i) for i in ids]
        results: list[ItemResult] = []
        for offset in range(0, len(sent), BATCH_SIZE):
            batch = sent[offset : offset + BATCH_SIZE]
            body = {spec.id_filter: {"include": batch}}
            results.extend(
                self._send("POST", profile_id, spec, [], batch, offset, path=f"{spec.path}/delete",
                           body=body)
            )  # fmt: skip
        return results

    def _batches(
        self,
        method: str,
        profile_id: str,
        spec: EntitySpec,
        bodies: list[dict[str, Any]],
        ids: list[str | None],
    ) -> list[ItemResult]:
        results: list[ItemResult] = []
        for offset in range(0, len(bodies), BATCH_SIZE):
            batch = bodies[offset : offset + BATCH_SIZE]
            batch_ids = ids[offset : offset + BATCH_SIZE]
            results.extend(self._send(method, profile_id, spec, batch, batch_ids, offset))
        return results

    def _send(
        self,
        method: str,
        profile_id: str,
        spec: EntitySpec,
        batch: list[dict[str, Any]],
        ids: list[str | None],
        offset: int,
        *,
        path: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> list[ItemResult]:
        count = len(ids)

        def every(outcome: Any, error: AdsError, details: dict[str, Any]) -> list[ItemResult]:
            return [
                ItemResult(offset + i, outcome, ids[i], error.code, str(error), dict(details))
                for i in range(count)
            ]

        try:
            response = self._session.write(
                method,
                path or spec.path,
                profile_id=profile_id,
                media_type=spec.media_type,
                content=json_body(body if body is not None else {spec.body_key: batch}),
                prefer_representation=True,
            )
        except OutcomeUnknownError as error:
            log.warning("batch_outcome_unknown", kind=spec.kind, items=count, status=error.status)
            return every("unknown", error, {"status": error.status})
        except ThrottledError as error:
            # Nothing of this batch was applied. When nothing of the whole call was either, the
            # caller gets the exception (and requeues everything); else per-item THROTTLED.
            if offset == 0:
                raise
            return [
                ItemResult(
                    offset + i,
                    "failed",
                    ids[i],
                    "THROTTLED",
                    str(error),
                    {"status": 429, "retry_after_s": error.retry_after_s},
                )
                for i in range(count)
            ]
        except AdsError as error:
            # A whole-request refusal (400, 401 after refresh, 403, 415): nothing was applied.
            if offset == 0:
                raise
            return every("failed", error, {"status": error.status})
        try:
            data = response.json()
        except ValueError:
            unreadable = OutcomeUnknownError(f"{method} {spec.path}: unreadable 2xx body")
            return every("unknown", unreadable, {"status": response.status_code})
        results = map_multistatus(spec, data, count, offset, ids)
        log.debug(
            "batch_sent",
            kind=spec.kind,
            profile_id=profile_id,
            applied=sum(r.outcome == "applied" for r in results),
            failed=sum(r.outcome == "failed" for r in results),
            unknown=sum(r.outcome == "unknown" for r in results),
        )
        return results
