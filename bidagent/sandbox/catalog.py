"""Generate a fresh sandbox account: profiles, entities and each target's hidden truths.

Owns the shape of a generated account (campaign types, ad groups, keywords of every match type,
product and auto targets, product ads with price and margin, search terms under each target) and
the draw of the truths (search volume, weekly pattern, CTR, CVR, competitors' bids). Everything
comes from one ``random.Random(seed)`` so a seed always yields the same account. It must not touch
storage or simulate traffic: it returns plain rows for :mod:`bidagent.sandbox.store`.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bidagent.marketplaces import marketplace_for, round_money
from bidagent.sandbox.scenarios import Scenario

__all__ = ["AUTO_PREDICATES", "Catalog", "build_catalog"]

AUTO_PREDICATES = (
    "QUERY_HIGH_REL_MATCHES",
    "QUERY_BROAD_REL_MATCHES",
    "ASIN_ACCESSORY_RELATED",
    "ASIN_SUBSTITUTE_RELATED",
)
_NOUNS = (
    "yoga mat",
    "water bottle",
    "phone case",
    "desk lamp",
    "coffee grinder",
    "dog leash",
    "running shoes",
    "garden hose",
    "backpack",
    "kitchen scale",
    "bath towel",
    "tea kettle",
    "bike light",
    "notebook",
    "throw pillow",
    "cutting board",
    "wall clock",
    "laptop stand",
    "hair dryer",
    "lunch box",
    "shower head",
    "candle",
    "plant pot",
    "travel mug",
)
_MODIFIERS = (
    "best",
    "cheap",
    "large",
    "small",
    "premium",
    "organic",
    "portable",
    "black",
    "white",
    "for women",
    "for men",
    "for kids",
    "set",
    "2 pack",
    "stainless",
    "eco",
    "heavy duty",
    "waterproof",
    "wireless",
    "mini",
    "xl",
    "gift",
    "travel",
    "professional",
    "bamboo",
)
_ASIN_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass
class Catalog:
    """Rows of one generated account, ready for the store."""

    profiles: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    truths: list[dict[str, Any]] = field(default_factory=list)
    terms: list[tuple[int, str, float, float]] = field(default_factory=list)


class _Builder:
    def __init__(self, seed: int, scenario: Scenario) -> None:
        self.rng = random.Random(seed)
        self.scenario = scenario
        self.catalog = Catalog()
        self.used_ids: set[int] = set()
        self.sim_key = 0

    def new_id(self) -> str:
        while True:
            value = self.rng.randrange(10**13, 10**15)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return str(value)

    def asin(self) -> str:
        return "B0" + "".join(self.rng.choice(_ASIN_CHARS) for _ in range(8))

    def entity(self, profile_id: str, kind: str, entity_id: str, **cols: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "profile_id": profile_id,
            "kind": kind,
            "entity_id": entity_id,
            "campaign_id": None,
            "ad_group_id": None,
            "state": "ENABLED",
            "bid": None,
            "budget": None,
            "name": None,
            "text": None,
            "match_type": None,
            "expression": None,
            "expression_type": None,
            "data": "{}",
            "sim_key": None,
        }
        row.update(cols)
        self.catalog.entities.append(row)
        return row


def build_catalog(seed: int, scenario: Scenario, targets: int, start_date: str) -> Catalog:
    """Generate an account of about ``targets`` targets per the scenario (ids are decimal strings)."""
    builder = _Builder(seed, scenario)
    countries = scenario.countries
    per_profile = max(1, targets // len(countries))
    for index, country in enumerate(countries):
        count = per_profile if index < len(countries) - 1 else targets - per_profile * index
        _build_profile(builder, country, max(1, count), start_date)
    _collide_ids(builder.catalog)
    return builder.catalog


def _build_profile(b: _Builder, country: str, targets: int, start_date: str) -> None:
    market = marketplace_for(country)
    profile_id = str(b.rng.randrange(10**14, 10**15))
    b.catalog.profiles.append(
        {
            "profile_id": profile_id,
            "country": country,
            "name": f"Sandbox Seller {country}",
            "seller_id": "A" + "".join(b.rng.choice(_ASIN_CHARS) for _ in range(13)),
        }
    )
    # Half the targets are keywords, a quarter product targets, a quarter auto targets.
    plan = [("keyword", targets // 2), ("product", targets // 4)]
    plan.append(("auto", targets - sum(n for _, n in plan)))
    serial = 0
    for campaign_kind, quota in plan:
        while quota > 0:
            serial += 1
            quota -= _build_campaign(
                b, profile_id, market.country_code, campaign_kind, quota, serial, start_date
            )


def _build_campaign(
    b: _Builder, profile_id: str, country: str, kind: str, quota: int, serial: int, start: str
) -> int:
    rng = b.rng
    market = marketplace_for(country)
    campaign_id = b.new_id()
    targeting = "AUTO" if kind == "auto" else "MANUAL"
    label = {"keyword": "Keywords", "product": "Product Targets", "auto": "Auto"}[kind]
    campaign = b.entity(
        profile_id,
        "campaign",
        campaign_id,
        campaign_id=campaign_id,
        state="ENABLED",
        name=f"SP {label} {serial:04d}",
        budget=0.0,
        data=json.dumps({"targetingType": targeting, "startDate": start}),
    )
    made = 0
    expected_spend = 0.0
    for group in range(rng.randint(1, 3)):
        if made >= quota:
            break
        noun = rng.choice(_NOUNS)
        price = round(math.exp(rng.uniform(math.log(9), math.log(90))), 2)
        margin = round(rng.uniform(0.15, 0.45), 2)
        ad_group_id = b.new_id()
        default_bid = float(round_money(Decimal(str(rng.uniform(0.3, 1.5))), market.step))
        b.entity(
            profile_id,
            "ad_group",
            ad_group_id,
            campaign_id=campaign_id,
            ad_group_id=ad_group_id,
            name=f"{noun.title()} {group + 1}",
            bid=default_bid,
        )
        asin = b.asin()
        b.entity(
            profile_id,
            "product_ad",
            b.new_id(),
            campaign_id=campaign_id,
            ad_group_id=ad_group_id,
            data=json.dumps(
                {"sku": f"SKU-{asin[2:]}", "asin": asin, "price": price, "margin": margin}
            ),
        )
        size = 4 if kind == "auto" else rng.randint(8, 30)
        size = min(size, quota - made) if kind != "auto" else size
        for index in range(size):
            expected_spend += _build_target(
                b,
                profile_id,
                market.country_code,
                kind,
                campaign_id,
                ad_group_id,
                noun,
                index,
                price,
                margin,
                default_bid,
            )
        made += size
    # Some campaigns are budget-capped (budget below what their targets would spend), some not.
    budget = max(5.0, round(expected_spend * rng.uniform(0.6, 2.5)))
    campaign["budget"] = float(min(budget, float(market.max_budget)))
    return made


def _build_target(
    b: _Builder,
    profile_id: str,
    country: str,
    kind: str,
    campaign_id: str,
    ad_group_id: str,
    noun: str,
    index: int,
    price: float,
    margin: float,
    default_bid: float,
) -> float:
    """Add one keyword or target with its truths and search terms; return its expected spend."""
    rng = b.rng
    market = marketplace_for(country)
    entity_id = b.new_id()
    sim_key = b.sim_key
    b.sim_key += 1
    comp_bid = math.exp(rng.gauss(math.log(0.8), 0.5))
    # Value per click relative to the market decides whether a target can be profitable at all.
    value_ratio = math.exp(rng.gauss(math.log(1.1), 0.6))
    cvr = min(0.4, max(0.004, comp_bid * value_ratio / (price * margin)))
    volume = math.exp(rng.gauss(math.log(500), 1.1))
    ctr = math.exp(rng.gauss(math.log(0.005), 0.5))
    modifiers = rng.sample(_MODIFIERS, 3)
    cols: dict[str, Any] = {
        "campaign_id": campaign_id,
        "ad_group_id": ad_group_id,
        "sim_key": sim_key,
    }
    if kind == "keyword":
        match = ("EXACT", "PHRASE", "BROAD")[index % 3]
        text = f"{modifiers[0]} {noun}" if index % 4 else noun
        if index >= 4:
            text = f"{text} {modifiers[1]}"
        cols.update(text=text, match_type=match)
        entity_kind = "keyword"
        if match == "EXACT":
            ctr *= 1.6
        terms = _keyword_terms(rng, text, match, modifiers)
    elif kind == "product":
        asin = b.asin()
        ptype, value = (
            ("ASIN_SAME_AS", asin)
            if index % 5
            else ("ASIN_CATEGORY_SAME_AS", str(rng.randrange(10**6, 10**8)))
        )
        cols.update(
            expression=json.dumps([{"type": ptype, "value": value}]), expression_type="MANUAL"
        )
        entity_kind = "target"
        terms = [(b.asin().lower(), rng.uniform(0.2, 1.0), _mult(rng)) for _ in range(3)]
        terms.append((asin.lower(), 1.5, _mult(rng)))
    else:
        predicate = AUTO_PREDICATES[index % 4]
        cols.update(expression=json.dumps([{"type": predicate}]), expression_type="AUTO")
        entity_kind = "target"
        ctr *= 0.7
        terms = _keyword_terms(rng, noun, "BROAD", modifiers)
        terms.append((b.asin().lower(), rng.uniform(0.2, 1.0), _mult(rng)))
    bid = comp_bid * math.exp(rng.gauss(0.0, 0.35)) * b.scenario.start_bid_factor
    bid = min(max(bid, float(market.min_bid)), float(market.max_bid))
    rounded = float(round_money(Decimal(repr(bid)), market.step))
    # A quarter of auto targets carry no bid of their own: they inherit the ad group default.
    inherit = kind == "auto" and rng.random() < 0.25
    effective = default_bid if inherit else rounded
    b.entity(profile_id, entity_kind, entity_id, bid=None if inherit else rounded, **cols)
    b.catalog.truths.append(
        {
            "sim_key": sim_key,
            "profile_id": profile_id,
            "kind": entity_kind,
            "entity_id": entity_id,
            "volume": volume,
            "ctr": ctr,
            "cvr": cvr,
            "comp_bid": comp_bid,
            "price": price,
            "margin": margin,
            "weekly_amp": rng.uniform(0.0, 0.3),
            "weekly_peak": rng.uniform(0.0, 7.0),
        }
    )
    total = sum(w for _, w, _ in terms)
    mean_mult = sum(w * m for _, w, m in terms) / total
    for term, weight, mult in terms:
        # Normalised so the weighted mean multiplier is 1: the target's CVR is the truth.
        scale = mult / mean_mult if mean_mult > 0 else 1.0
        b.catalog.terms.append((sim_key, term, weight / total, scale))
    share = effective**3 / (effective**3 + comp_bid**3)
    return volume * share * ctr * min(0.95 * effective, 0.55 * comp_bid + 0.4 * effective)


def _mult(rng: random.Random) -> float:
    """A search term's conversion multiplier: some never convert, some convert very well."""
    draw = rng.random()
    if draw < 0.22:
        return 0.0
    if draw < 0.34:
        return rng.uniform(2.0, 3.5)
    return rng.uniform(0.5, 1.5)


def _keyword_terms(
    rng: random.Random, text: str, match: str, modifiers: list[str]
) -> list[tuple[str, float, float]]:
    if match == "EXACT":
        return [(text, 1.0, _mult(rng) or 1.0), (text + "s", 0.15, _mult(rng))]
    terms = [(text, 1.0, _mult(rng) or 1.0)]
    for modifier in [*modifiers[1:], rng.choice(_MODIFIERS)]:
        variant = f"{text} {modifier}" if match == "PHRASE" else f"{modifier} {text}"
        if variant not in {t for t, _, _ in terms}:
            terms.append((variant, rng.uniform(0.1, 0.8), _mult(rng)))
    return terms


def _collide_ids(catalog: Catalog) -> None:
    """Give the first keyword the id of the first product target: ids are unique per type only."""
    keyword = next((e for e in catalog.entities if e["kind"] == "keyword"), None)
    target = next((e for e in catalog.entities if e["kind"] == "target"), None)
    if keyword is None or target is None or keyword["profile_id"] != target["profile_id"]:
        return
    for truth in catalog.truths:
        if truth["sim_key"] == keyword["sim_key"]:
            truth["entity_id"] = target["entity_id"]
    keyword["entity_id"] = target["entity_id"]
