"""The client's normalised view of Amazon entities, and the values we send back.

Owns the translation between Amazon's SP v3 shapes (camelCase, upper-case enums, string ids,
float money) and ours (snake_case, lower-case enums, ``str`` ids, ``Decimal`` money), in both
directions, and each entity's mapping onto its store record (``to_record``). It must not do I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from bidagent.ads.ids import normalise_id, optional_id

__all__ = [
    "NEGATIVE_TARGET_KINDS",
    "AdGroup",
    "Campaign",
    "EntityUpdate",
    "ItemResult",
    "Negative",
    "Profile",
    "Target",
    "money",
    "money_out",
    "predicate_type",
]

Outcome = Literal["applied", "failed", "unknown"]
# The negative kinds that carry an expression instead of keyword text.
NEGATIVE_TARGET_KINDS = frozenset({"negative_target", "campaign_negative_target"})

# How reports spell auto and product targets (digest §3.6), keyed by expression predicate type.
_AUTO_NAMES = {
    "QUERY_HIGH_REL_MATCHES": "close-match",
    "QUERY_BROAD_REL_MATCHES": "loose-match",
    "ASIN_SUBSTITUTE_RELATED": "substitutes",
    "ASIN_ACCESSORY_RELATED": "complements",
}
_MANUAL_NAMES = {
    "ASIN_SAME_AS": "asin",
    "ASIN_EXPANDED_FROM": "asin-expanded",
    "ASIN_CATEGORY_SAME_AS": "category",
    "ASIN_BRAND_SAME_AS": "brand",
    "KEYWORD_GROUP_SAME_AS": "keyword-group",
}


def money(value: Any) -> Decimal | None:
    """Amazon's float money as a ``Decimal`` with the digits Amazon meant (0.35, not 0.3499...)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not an amount: {value!r}")
    return Decimal(str(value))


def money_out(value: Decimal) -> float | int:
    """A ``Decimal`` as the JSON number Amazon expects (an int when whole, e.g. JPY bids)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _lower(value: Any) -> str:
    return str(value).lower() if value is not None else "other"


def predicate_type(name: str) -> str:
    """Our ``asinSameAs`` (or Amazon's own ``ASIN_SAME_AS``) as Amazon's upper snake case."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)).upper()


def render_expression(expression: list[dict[str, Any]] | None) -> str | None:
    """An expression as reports render it: ``close-match``, ``asin="B0..."``, ``category="..."``."""
    if not expression:
        return None
    parts = []
    for predicate in expression:
        kind = str(predicate.get("type", ""))
        if kind in _AUTO_NAMES:
            parts.append(_AUTO_NAMES[kind])
            continue
        name = _MANUAL_NAMES.get(kind, kind.lower().replace("_", "-"))
        value = predicate.get("value")
        parts.append(name if value is None else f'{name}="{value}"')
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Profile:
    """An advertising profile (``GET /v2/profiles``)."""

    profile_id: str
    country_code: str
    currency_code: str
    timezone: str
    marketplace_id: str | None
    account_type: str | None
    name: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Profile:
        info = data.get("accountInfo") or {}
        return cls(
            profile_id=normalise_id(data["profileId"]),
            country_code=str(data.get("countryCode", "")),
            currency_code=str(data.get("currencyCode", "")),
            timezone=str(data.get("timezone", "UTC")),
            marketplace_id=info.get("marketplaceStringId"),
            account_type=None if info.get("type") is None else str(info["type"]).lower(),
            name=info.get("name"),
        )

    def to_record(self, synced_at: dt.datetime) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "name": self.name,
            "country_code": self.country_code,
            "currency_code": self.currency_code,
            "timezone": self.timezone,
            "marketplace_id": self.marketplace_id,
            "account_type": self.account_type,
            "synced_at": synced_at,
        }


@dataclass(frozen=True, slots=True)
class Campaign:
    """An SP campaign."""

    campaign_id: str
    name: str
    state: str
    targeting_type: str
    budget: Decimal | None
    budget_type: str | None
    portfolio_id: str | None
    bidding_strategy: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Campaign:
        budget = data.get("budget") or {}
        bidding = data.get("dynamicBidding") or {}
        return cls(
            campaign_id=normalise_id(data["campaignId"]),
            name=str(data.get("name", "")),
            state=_lower(data.get("state")),
            targeting_type=_lower(data.get("targetingType")),
            budget=money(budget.get("budget")),
            budget_type=None if budget.get("budgetType") is None else _lower(budget["budgetType"]),
            portfolio_id=optional_id(data.get("portfolioId")),
            bidding_strategy=None if not bidding.get("strategy") else _lower(bidding["strategy"]),
        )

    def live(self) -> dict[str, Any]:
        """The fields a change can touch, for read-back."""
        return {"state": self.state, "budget": self.budget}

    def to_record(self, profile_id: str, synced_at: dt.datetime) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "profile_id": profile_id,
            "name": self.name,
            "state": self.state,
            "targeting_type": self.targeting_type,
            "budget": self.budget,
            "budget_type": self.budget_type,
            "portfolio_id": self.portfolio_id,
            "bidding_strategy": self.bidding_strategy,
            "synced_at": synced_at,
        }


@dataclass(frozen=True, slots=True)
class AdGroup:
    """An SP ad group."""

    ad_group_id: str
    campaign_id: str
    name: str
    state: str
    default_bid: Decimal | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AdGroup:
        return cls(
            ad_group_id=normalise_id(data["adGroupId"]),
            campaign_id=normalise_id(data["campaignId"]),
            name=str(data.get("name", "")),
            state=_lower(data.get("state")),
            default_bid=money(data.get("defaultBid")),
        )

    def live(self) -> dict[str, Any]:
        return {"state": self.state, "default_bid": self.default_bid}

    def to_record(self, profile_id: str, synced_at: dt.datetime) -> dict[str, Any]:
        return {
            "ad_group_id": self.ad_group_id,
            "profile_id": profile_id,
            "campaign_id": self.campaign_id,
            "name": self.name,
            "state": self.state,
            "default_bid": self.default_bid,
            "synced_at": synced_at,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """A keyword (``kind="keyword"``) or product/auto target (``kind="product_target"``)."""

    kind: str
    target_id: str
    campaign_id: str
    ad_group_id: str
    state: str
    bid: Decimal | None
    match_type: str
    keyword_text: str | None
    targeting: str | None
    expression: list[dict[str, Any]] | None

    @classmethod
    def from_keyword(cls, data: dict[str, Any]) -> Target:
        text = data.get("keywordText")
        return cls(
            kind="keyword",
            target_id=normalise_id(data["keywordId"]),
            campaign_id=normalise_id(data["campaignId"]),
            ad_group_id=normalise_id(data["adGroupId"]),
            state=_lower(data.get("state")),
            bid=money(data.get("bid")),
            match_type=_lower(data.get("matchType")),
            keyword_text=text,
            targeting=text,
            expression=None,
        )

    @classmethod
    def from_target(cls, data: dict[str, Any]) -> Target:
        expression = data.get("expression") or None
        shown = data.get("resolvedExpression") or expression
        auto = str(data.get("expressionType", "")).upper() == "AUTO"
        return cls(
            kind="product_target",
            target_id=normalise_id(data["targetId"]),
            campaign_id=normalise_id(data["campaignId"]),
            ad_group_id=normalise_id(data["adGroupId"]),
            state=_lower(data.get("state")),
            bid=money(data.get("bid")),
            match_type="targeting_expression_predefined" if auto else "targeting_expression",
            keyword_text=None,
            targeting=render_expression(shown),
            expression=expression,
        )

    def live(self) -> dict[str, Any]:
        return {"state": self.state, "bid": self.bid}

    def to_record(self, profile_id: str, synced_at: dt.datetime) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target_id": self.target_id,
            "profile_id": profile_id,
            "campaign_id": self.campaign_id,
            "ad_group_id": self.ad_group_id,
            "state": self.state,
            "bid": self.bid,
            "match_type": self.match_type,
            "keyword_text": self.keyword_text,
            "targeting": self.targeting,
            "expression": self.expression,
            "synced_at": synced_at,
        }


@dataclass(frozen=True, slots=True)
class Negative:
    """A negative keyword (``negative_keyword``, ``campaign_negative_keyword``: text and match
    type) or negative product target (``negative_target``, ``campaign_negative_target``: an
    ``expression`` such as ``[{"type": "ASIN_SAME_AS", "value": "B0..."}]``, no text or match
    type), at ad-group or campaign level."""

    kind: str
    negative_id: str
    campaign_id: str
    ad_group_id: str | None
    keyword_text: str | None
    match_type: str | None
    state: str
    expression: list[dict[str, Any]] | None = None

    @classmethod
    def from_api(cls, kind: str, data: dict[str, Any]) -> Negative:
        if kind in NEGATIVE_TARGET_KINDS:
            return cls(
                kind=kind,
                negative_id=normalise_id(data["targetId"]),
                campaign_id=normalise_id(data["campaignId"]),
                ad_group_id=optional_id(data.get("adGroupId")),
                keyword_text=None,
                match_type=None,
                state=_lower(data.get("state")),
                expression=list(data.get("expression") or []),
            )
        return cls(
            kind=kind,
            negative_id=normalise_id(data["keywordId"]),
            campaign_id=normalise_id(data["campaignId"]),
            ad_group_id=optional_id(data.get("adGroupId")),
            keyword_text=data.get("keywordText"),
            match_type=None if data.get("matchType") is None else _lower(data["matchType"]),
            state=_lower(data.get("state")),
        )

    def live(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "campaign_id": self.campaign_id,
            "ad_group_id": self.ad_group_id,
            "keyword_text": self.keyword_text,
            "match_type": self.match_type,
            "expression": self.expression,
        }

    def to_record(self, profile_id: str, synced_at: dt.datetime) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "negative_id": self.negative_id,
            "profile_id": profile_id,
            "campaign_id": self.campaign_id,
            "ad_group_id": self.ad_group_id,
            "keyword_text": self.keyword_text,
            "match_type": self.match_type,
            "expression": self.expression,
            "state": self.state,
            "synced_at": synced_at,
        }


@dataclass(frozen=True, slots=True)
class EntityUpdate:
    """One absolute change to send: never relative, so a resend cannot compound (docs/architecture.md §3)."""

    entity_id: str
    bid: Decimal | None = None
    state: str | None = None
    budget: Decimal | None = None
    default_bid: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to item ``index`` of a write.

    ``applied``: Amazon accepted it (``entity`` holds the live values when returned).
    ``failed``: Amazon refused it and nothing changed (``code`` is Amazon's reason, e.g.
    ``BID_OUT_OF_MARKET_PLACE_RANGE``, with limits in ``details``; ``THROTTLED`` means the retry
    budget ran out on 429s and the item may be resent later as is).
    ``unknown``: the request may have been applied (timeout, reset, 5xx): read back first.
    """

    index: int
    outcome: Outcome
    entity_id: str | None
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    entity: dict[str, Any] | None = None
