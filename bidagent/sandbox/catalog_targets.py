"""Draw one target of a generated sandbox account: its keyword or expression, truths and terms.

Owns what a single keyword, product target or auto target looks like (text and match type, ASIN
or category expression, auto predicate), the draw of its hidden truths (search volume, weekly
pattern, CTR, CVR, competitors' bid, starting bid) and of the search terms it matches with their
conversion multipliers. Split from :mod:`bidagent.sandbox.catalog`, which owns the account layout
around it (profiles, campaigns, ad groups, product ads, budgets) and calls in here once per
target. Every draw comes from the builder's one ``random.Random``, in a fixed order: changing the
order or the number of draws changes every sandbox generated from a seed, which backtests rely on.
It must not touch storage or simulate traffic.
"""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bidagent.marketplaces import marketplace_for, round_money

if TYPE_CHECKING:
    from bidagent.sandbox.catalog import CatalogBuilder

__all__ = ["AUTO_PREDICATES", "build_target"]

AUTO_PREDICATES = (
    "QUERY_HIGH_REL_MATCHES",
    "QUERY_BROAD_REL_MATCHES",
    "ASIN_ACCESSORY_RELATED",
    "ASIN_SUBSTITUTE_RELATED",
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


def build_target(
    b: CatalogBuilder,
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
