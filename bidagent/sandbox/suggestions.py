"""``POST /sp/targets/bid/recommendations``: Amazon's theme-based bid suggestions, simulated.

Owns the request checks (media type, body, ad group in the scoped profile) and the value model:
Amazon derives its suggestions from the bids that win auctions, so they reveal the market
(competitors' bid, the scenario's competition, a weekly drift), never a target's conversion
value; a target without competition gets no values, a range at the floor one. An expression
that matches a keyword or target of the ad group is priced from that target's competitors'
bid; any other expression from the median of the ad group's targets. It
reads one ad group's rows per request and must not write state or read the wall clock (the week
and the competition factor come from the sandbox clock).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.marketplaces import Marketplace, marketplace_for, round_money
from bidagent.sandbox.responses import (
    BID_RECOMMENDATION_MEDIA_TYPES,
    ApiRequest,
    RequestRejected,
    check_media_type,
    json_response,
)

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = [
    "MAX_EXPRESSIONS",
    "PATH",
    "SuggestedRange",
    "bid_amounts",
    "suggest_bids",
    "suggested_range",
    "weekly_noise",
]

PATH = "/sp/targets/bid/recommendations"
MAX_EXPRESSIONS = 100
LOW_FACTOR = 0.75
HIGH_FACTOR = 1.4
NOISE_SIGMA = 0.15
THEME = "CONVERSION_OPPORTUNITIES"
_RECOMMENDATION_TYPE = "BIDS_FOR_EXISTING_AD_GROUP"
# Expression type -> the stored keyword match type, or the stored single-predicate target type.
_KEYWORD_TYPES = {
    "KEYWORD_EXACT_MATCH": "EXACT",
    "KEYWORD_PHRASE_MATCH": "PHRASE",
    "KEYWORD_BROAD_MATCH": "BROAD",
}
_AUTO_TYPES = {
    "CLOSE_MATCH": "QUERY_HIGH_REL_MATCHES",
    "LOOSE_MATCH": "QUERY_BROAD_REL_MATCHES",
    "SUBSTITUTES": "ASIN_SUBSTITUTE_RELATED",
    "COMPLEMENTS": "ASIN_ACCESSORY_RELATED",
}
_PRODUCT_TYPES = {"PAT_ASIN": "ASIN_SAME_AS", "PAT_CATEGORY": "ASIN_CATEGORY_SAME_AS"}
# Valid in Amazon's enum but never matched to a stored target: priced at the ad group's median.
_UNMATCHED_TYPES = {"PAT_CATEGORY_REFINEMENT", "KEYWORD_GROUP"}
_NEEDS_VALUE = {*_KEYWORD_TYPES, *_PRODUCT_TYPES, *_UNMATCHED_TYPES}
_KNOWN_TYPES = sorted({*_NEEDS_VALUE, *_AUTO_TYPES})
_NORMAL = NormalDist(0.0, NOISE_SIGMA)
# Whether the ad group advertises an ASIN (a product ad that is not archived).
_ADVERTISED = (
    "SELECT 1 FROM entities WHERE profile_id = ? AND kind = 'product_ad' AND ad_group_id = ? "
    "AND state != 'ARCHIVED' LIMIT 1"
)


@dataclass(frozen=True)
class SuggestedRange:
    """Low, median and high suggested bid, on the marketplace's step and within its limits."""

    low: Decimal
    median: Decimal
    high: Decimal


def weekly_noise(seed: int, key: str, week: tuple[int, int]) -> float:
    """exp(N(0, NOISE_SIGMA)) for ``key`` in ISO ``(year, week)``: fixed within a week, so a
    backtest reproduces, and a fresh draw each week, so suggestions drift.

    A SHA-256 of the key, not Python's salted ``hash()`` nor a shared RNG, so the draw does not
    depend on the process or on how many requests came before.
    """
    digest = hashlib.sha256(f"{seed}|{key}|{week[0]}-W{week[1]:02d}".encode()).digest()
    uniform = (int.from_bytes(digest[:8], "big") + 0.5) / 2.0**64
    return math.exp(_NORMAL.inv_cdf(uniform))


def suggested_range(market_bid: float, market: Marketplace) -> SuggestedRange:
    """The range around ``market_bid`` (competitors' bid with every factor applied)."""

    def amount(value: float) -> Decimal:
        rounded = round_money(Decimal(repr(value)), market.step)
        return min(max(rounded, market.min_bid), market.max_bid)

    return SuggestedRange(
        amount(market_bid * LOW_FACTOR), amount(market_bid), amount(market_bid * HIGH_FACTOR)
    )


def bid_amounts(market_bid: float, market: Marketplace) -> list[Decimal]:
    """The ``bidValues`` amounts, ascending; the spec allows up to three and no minimum.

    No competition (a market bid of zero) has no auction to learn from: no values. A range
    that collapses to one amount (all three at the marketplace's floor) is that one value.
    """
    if market_bid <= 0:
        return []
    suggested = suggested_range(market_bid, market)
    amounts = [suggested.low, suggested.median, suggested.high]
    return amounts[1:2] if len(set(amounts)) == 1 else amounts


def suggest_bids(sandbox: Sandbox, api: ApiRequest) -> httpx.Response:
    """Answer one request for the profile in ``api.profile_id`` (headers already checked)."""
    media_type = check_media_type(api, BID_RECOMMENDATION_MEDIA_TYPES, has_body=True)
    body = api.json()
    if not isinstance(body, dict):
        raise RequestRejected(400, "Request body must be a JSON object")
    profile_id = str(api.profile_id)
    ad_group_id = _ad_group(sandbox, profile_id, body)
    expressions = _expressions(body)
    if not sandbox.store.query(_ADVERTISED, (profile_id, ad_group_id)):
        # The spec's documented 422: "make sure the ad group has at least one ASIN in it".
        raise RequestRejected(
            422, f"Invalid Advertiser and ASINs combination in the request (ad group "
            f"{ad_group_id} has no product ad)"
        )  # fmt: skip
    _check_supported(sandbox, profile_id, body, expressions)
    rows = sandbox.store.query(
        "SELECT e.kind, e.text, e.match_type, e.expression, e.state, t.sim_key, t.comp_bid "
        "FROM entities e JOIN truths t ON t.sim_key = e.sim_key WHERE e.profile_id = ? "
        "AND e.kind IN ('keyword', 'target') AND e.ad_group_id = ? "
        "ORDER BY e.state = 'ARCHIVED', t.sim_key",
        (profile_id, ad_group_id),
    )
    by_key: dict[tuple[str, str | None], Any] = {}
    for row in rows:
        by_key.setdefault(_row_key(row), row)
    today = sandbox.today(profile_id)
    competition = sandbox.scenario.competition_at((today - sandbox.start_date).days)
    iso = today.isocalendar()
    week = (iso.year, iso.week)
    market = marketplace_for(_country(sandbox, profile_id))
    group_bid = statistics.median(r["comp_bid"] for r in rows) if rows else None
    answered = []
    for expression in expressions:
        match = by_key.get(_expression_key(expression))
        if match is not None:
            base, key = float(match["comp_bid"]), f"target:{match['sim_key']}"
        elif group_bid is not None:
            value = expression.get("value")
            base, key = group_bid, f"group:{ad_group_id}:{expression['type']}:{value}"
        else:
            continue  # an ad group without targets: nothing to price from, no suggestion
        market_bid = base * competition * weekly_noise(sandbox.seed, key, week)
        bid_values = [{"suggestedBid": float(amount)} for amount in bid_amounts(market_bid, market)]
        answered.append({"targetingExpression": expression, "bidValues": bid_values})
    # No impact estimates (v4 has none; in v3 they are optional and would reveal conversion
    # rates the agent must learn from its own reports; v5 analyses are asked for, not sent).
    theme = {"theme": THEME, "bidRecommendationsForTargetingExpressions": answered}
    return json_response(
        200, {"bidRecommendations": [theme]}, api.request_id, media_type=media_type
    )


def _check_supported(
    sandbox: Sandbox, profile_id: str, body: dict[str, Any], expressions: list[dict[str, Any]]
) -> None:
    """The documented 422 for targets the ad group cannot have: an auto-targeting campaign's ad
    group is priced for the four auto expressions only, a manual one for keywords and product
    targets only (Amazon answers such a mix "Failed due to invalid parameters")."""
    found = sandbox.store.query(
        "SELECT data FROM entities WHERE profile_id = ? AND kind = 'campaign' AND entity_id = ?",
        (profile_id, str(body["campaignId"]).strip()),
    )
    auto = json.loads(found[0]["data"]).get("targetingType") == "AUTO"
    wrong = sorted({str(e["type"]) for e in expressions if (str(e["type"]) in _AUTO_TYPES) != auto})
    if wrong:
        kind = "an auto-targeting" if auto else "a manual-targeting"
        raise RequestRejected(
            422, f"Invalid targeting expressions for {kind} ad group: {', '.join(wrong)}"
        )


def _id(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise RequestRejected(400, f"{name} is required")
    return str(value).strip()


def _ad_group(sandbox: Sandbox, profile_id: str, body: dict[str, Any]) -> str:
    """The checked ad group id: the type, both ids, and the ad group inside the campaign."""
    kind = body.get("recommendationType")
    if kind != _RECOMMENDATION_TYPE:
        raise RequestRejected(
            400, f"recommendationType must be {_RECOMMENDATION_TYPE} (the sandbox simulates "
            f"existing ad groups only), got {kind!r}"
        )  # fmt: skip
    campaign_id, ad_group_id = _id(body, "campaignId"), _id(body, "adGroupId")
    # Primary-key lookups: (profile_id, kind, entity_id).
    lookup = "SELECT campaign_id FROM entities WHERE profile_id = ? AND kind = ? AND entity_id = ?"
    if not sandbox.store.query(lookup, (profile_id, "campaign", campaign_id)):
        raise RequestRejected(400, f"campaignId {campaign_id} not found in profile {profile_id}")
    group = sandbox.store.query(lookup, (profile_id, "ad_group", ad_group_id))
    if not group:
        raise RequestRejected(400, f"adGroupId {ad_group_id} not found in profile {profile_id}")
    if group[0]["campaign_id"] != campaign_id:
        raise RequestRejected(400, f"adGroupId {ad_group_id} is not in campaign {campaign_id}")
    return ad_group_id


def _expressions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The checked targeting expressions, echoed back as sent."""
    items = body.get("targetingExpressions")
    if not isinstance(items, list) or not items:
        raise RequestRejected(400, "targetingExpressions must be a non-empty array")
    if len(items) > MAX_EXPRESSIONS:
        raise RequestRejected(
            400, f"targetingExpressions accepts at most {MAX_EXPRESSIONS} items, got {len(items)}"
        )
    for index, item in enumerate(items):
        where = f"targetingExpressions[{index}]"
        if not isinstance(item, dict) or item.get("type") not in _KNOWN_TYPES:
            got = item.get("type") if isinstance(item, dict) else item
            raise RequestRejected(
                400, f"{where}: unknown type {got!r}; use one of {', '.join(_KNOWN_TYPES)}"
            )
        value = item.get("value")
        if item["type"] in _NEEDS_VALUE and (not isinstance(value, str) or not value.strip()):
            raise RequestRejected(400, f"{where}: {item['type']} needs a non-empty string value")
    return items


def _expression_key(expression: dict[str, Any]) -> tuple[str, str | None]:
    """What a requested expression matches among stored rows (see :func:`_row_key`)."""
    kind = str(expression["type"])
    value = expression.get("value")
    if kind in _KEYWORD_TYPES:
        return (f"keyword:{_KEYWORD_TYPES[kind]}", str(value).strip().lower())
    if kind in _AUTO_TYPES:
        return (_AUTO_TYPES[kind], None)
    if kind in _PRODUCT_TYPES:
        return (_PRODUCT_TYPES[kind], str(value).strip().upper())
    return (f"unmatched:{kind}", str(value))


def _row_key(row: Any) -> tuple[str, str | None]:
    """A stored keyword or single-predicate target in the terms of :func:`_expression_key`."""
    if row["kind"] == "keyword":
        return (f"keyword:{row['match_type']}", str(row["text"]).strip().lower())
    predicates = json.loads(row["expression"] or "[]")
    if len(predicates) != 1:
        return ("refined", row["expression"])
    value = predicates[0].get("value")
    return (str(predicates[0].get("type")), None if value is None else str(value).upper())


def _country(sandbox: Sandbox, profile_id: str) -> str:
    return next(p["country"] for p in sandbox.profile_rows() if p["profile_id"] == profile_id)
