"""Amazon's theme-based bid suggestions for existing keywords and targets (digest §5.4).

Owns the mapping of a :class:`~bidagent.ads.models.Target` to a targeting expression, the request
bodies (one ad group per request, at most 100 expressions), and the strict reading of the answer
into :class:`BidSuggestion` values. It is a read: nothing changes at Amazon, so the session may
retry it. It must not decide what to do with a suggestion (that is the rules' job).

Left out, without an error: targets whose expression has no recommendation type (a category
with refinements such as brand or price, an expanded ASIN, a brand alone, a keyword without
text), and targets Amazon answers nothing for or answers with no ``bidValues``.

Amazon sends up to three ``bidValues`` per target in ascending order (the spec has
``maxItems: 3`` and no minimum: fewer when it has little auction data). They are read as:
three are (low, median, high); two are (low, high) with no median; one is the median alone.
A missing value is ``None``, which a rule reads as null (a comparison with it is false).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from bidagent.ads.endpoints import BID_RECOMMENDATION_MEDIA_TYPE, BID_RECOMMENDATION_PATH
from bidagent.ads.models import Target, money
from bidagent.ads.session import AdsSession, json_body
from bidagent.errors import ApiError

__all__ = ["MAX_EXPRESSIONS", "BidSuggestion", "SuggestionReader", "targeting_expression"]

log = structlog.get_logger(__name__)

MAX_EXPRESSIONS = 100
THEME = "CONVERSION_OPPORTUNITIES"
_KEYWORD_TYPES = {
    "exact": "KEYWORD_EXACT_MATCH",
    "phrase": "KEYWORD_PHRASE_MATCH",
    "broad": "KEYWORD_BROAD_MATCH",
}
_AUTO_TYPES = {
    "QUERY_HIGH_REL_MATCHES": "CLOSE_MATCH",
    "QUERY_BROAD_REL_MATCHES": "LOOSE_MATCH",
    "ASIN_SUBSTITUTE_RELATED": "SUBSTITUTES",
    "ASIN_ACCESSORY_RELATED": "COMPLEMENTS",
}
_PRODUCT_TYPES = {"ASIN_SAME_AS": "PAT_ASIN", "ASIN_CATEGORY_SAME_AS": "PAT_CATEGORY"}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

ExpressionKey = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class BidSuggestion:
    """Amazon's suggested bid range for one existing keyword or target."""

    kind: str  # "keyword" | "product_target" (as Target.kind)
    target_id: str
    low: Decimal | None
    median: Decimal | None
    high: Decimal | None


Bids = tuple[Decimal | None, Decimal | None, Decimal | None]
MAX_BID_VALUES = 3


def _range(bids: Sequence[Decimal]) -> Bids | None:
    """(low, median, high) from up to three ascending values (see the module docstring)."""
    if len(bids) == 3:
        return (bids[0], bids[1], bids[2])
    if len(bids) == 2:
        return (bids[0], None, bids[1])
    if len(bids) == 1:
        return (None, bids[0], None)
    return None


def _predicate_type(value: Any) -> str:
    """``QUERY_HIGH_REL_MATCHES`` from SP v3's spelling or v2's ``queryHighRelMatches``."""
    return _CAMEL_BOUNDARY.sub("_", str(value)).upper()


def targeting_expression(target: Target) -> dict[str, str] | None:
    """The recommendation API's expression for ``target``, or ``None`` when it has no type.

    A category with refinements (several predicates) would be ``PAT_CATEGORY_REFINEMENT``,
    whose value format Amazon does not define, so such targets get no suggestion.
    """
    if target.kind == "keyword":
        kind = _KEYWORD_TYPES.get(target.match_type)
        text = (target.keyword_text or "").strip()
        return {"type": kind, "value": text} if kind and text else None
    predicates = target.expression or []
    if len(predicates) != 1 or not isinstance(predicates[0], dict):
        return None
    predicate = _predicate_type(predicates[0].get("type", ""))
    if predicate in _AUTO_TYPES:
        return {"type": _AUTO_TYPES[predicate]}
    value = predicates[0].get("value")
    if predicate in _PRODUCT_TYPES and value is not None and str(value).strip():
        return {"type": _PRODUCT_TYPES[predicate], "value": str(value).strip()}
    return None


def _key(expression: dict[str, Any]) -> ExpressionKey:
    """How a sent expression is recognised in the answer (Amazon may change a value's case)."""
    value = expression.get("value")
    return (str(expression.get("type")), None if value in (None, "") else str(value).casefold())


def recommendation_body(
    campaign_id: str, ad_group_id: str, expressions: Sequence[dict[str, str]]
) -> dict[str, Any]:
    """One request for existing targets of one ad group (≤ :data:`MAX_EXPRESSIONS`)."""
    if not 1 <= len(expressions) <= MAX_EXPRESSIONS:
        raise ValueError(f"1..{MAX_EXPRESSIONS} expressions per request, got {len(expressions)}")
    return {
        "recommendationType": "BIDS_FOR_EXISTING_AD_GROUP",
        "campaignId": campaign_id,
        "adGroupId": ad_group_id,
        "targetingExpressions": list(expressions),
    }


def parse_recommendations(data: Any, *, what: str) -> dict[ExpressionKey, Bids]:
    """(low, median, high) by expression from one answer; ``what`` names the ad group in errors.

    An expression answered with no ``bidValues`` is left out; one with one or two values has
    ``None`` where a value is missing (see the module docstring for the mapping).

    The ``CONVERSION_OPPORTUNITIES`` theme is used, or the first theme when it is absent. Any
    shape problem raises :class:`ApiError`: a half-read answer must not become a bid.
    """

    def fail(problem: str) -> ApiError:
        return ApiError(f"POST {BID_RECOMMENDATION_PATH}: {what}: {problem}")

    themes = data.get("bidRecommendations") if isinstance(data, dict) else None
    if not isinstance(themes, list):
        raise fail("response has no 'bidRecommendations' list")
    if not themes:
        return {}
    if not all(isinstance(theme, dict) for theme in themes):
        raise fail("a 'bidRecommendations' entry is not an object")
    theme = next((t for t in themes if t.get("theme") == THEME), themes[0])
    items = theme.get("bidRecommendationsForTargetingExpressions")
    if not isinstance(items, list):
        raise fail(f"theme {theme.get('theme')!r} has no 'bidRecommendationsForTargetingExpressions' list")  # fmt: skip
    found: dict[ExpressionKey, Bids] = {}
    for index, item in enumerate(items):
        where = f"recommendation {index}"
        expression = item.get("targetingExpression") if isinstance(item, dict) else None
        if not isinstance(expression, dict) or not isinstance(expression.get("type"), str):
            raise fail(f"{where} has no 'targetingExpression' with a type")
        where = f"{where} ({expression['type']} {expression.get('value', '')!s})".rstrip()
        values = item.get("bidValues")
        if not isinstance(values, list) or len(values) > MAX_BID_VALUES:
            count = len(values) if isinstance(values, list) else "no list of"
            raise fail(f"{where}: expected 0 to {MAX_BID_VALUES} bidValues, got {count}")
        bids = [_amount(value, fail, where) for value in values]
        if bids != sorted(bids):
            raise fail(f"{where}: bidValues not in ascending order: {bids}")
        mapped = _range(bids)
        if mapped is not None:
            found[_key(expression)] = mapped
    return found


def _amount(value: Any, fail: Callable[[str], ApiError], where: str) -> Decimal:
    bid = value.get("suggestedBid") if isinstance(value, dict) else None
    if isinstance(bid, bool) or not isinstance(bid, int | float) or not math.isfinite(bid):
        raise fail(f"{where}: suggestedBid is not a number: {bid!r}")
    amount = money(bid)
    if amount is None or amount <= 0:
        raise fail(f"{where}: suggestedBid is not positive: {bid!r}")
    return amount


class SuggestionReader:
    """Bid recommendation calls for one session."""

    def __init__(self, session: AdsSession) -> None:
        self._session = session

    def suggestions(self, profile_id: str, targets: Sequence[Target]) -> list[BidSuggestion]:
        """Suggestions in ``targets`` order, one request per ad group and 100 expressions."""
        asked = [(t, e) for t in targets if (e := targeting_expression(t)) is not None]
        groups: dict[tuple[str, str], list[tuple[Target, dict[str, str]]]] = {}
        for target, expression in asked:
            groups.setdefault((target.campaign_id, target.ad_group_id), []).append(
                (target, expression)
            )
        answers: dict[tuple[str, str, ExpressionKey], Bids] = {}
        requests = 0
        for (campaign_id, ad_group_id), members in groups.items():
            # Two targets with one expression (an archived twin) share one slot of the 100.
            unique = list({_key(e): e for _, e in members}.values())
            for start in range(0, len(unique), MAX_EXPRESSIONS):
                chunk = unique[start : start + MAX_EXPRESSIONS]
                found = self._request(profile_id, campaign_id, ad_group_id, chunk)
                requests += 1
                for key, bids in found.items():
                    answers[(campaign_id, ad_group_id, key)] = bids
        out: list[BidSuggestion] = []
        for target, expression in asked:
            answer = answers.get((target.campaign_id, target.ad_group_id, _key(expression)))
            if answer is not None:
                low, median, high = answer
                out.append(BidSuggestion(target.kind, target.target_id, low, median, high))
        log.debug(
            "bid_suggestions_fetched",
            profile_id=profile_id,
            ad_groups=len(groups),
            requests=requests,
            suggestions=len(out),
            left_out=len(targets) - len(out),
        )
        return out

    def _request(
        self,
        profile_id: str,
        campaign_id: str,
        ad_group_id: str,
        expressions: Sequence[dict[str, str]],
    ) -> dict[ExpressionKey, Bids]:
        response = self._session.read(
            "POST",
            BID_RECOMMENDATION_PATH,
            profile_id=profile_id,
            media_type=BID_RECOMMENDATION_MEDIA_TYPE,
            content=json_body(recommendation_body(campaign_id, ad_group_id, expressions)),
        )
        what = f"ad group {ad_group_id} (campaign {campaign_id})"
        try:
            data = response.json()
        except ValueError:
            raise ApiError(
                f"POST {BID_RECOMMENDATION_PATH}: {what}: response is not JSON",
                status=response.status_code,
            ) from None
        return parse_recommendations(data, what=what)
