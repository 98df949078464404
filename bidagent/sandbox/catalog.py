"""Generate a fresh sandbox account: its profiles and layout, and each target's hidden truths.

Owns the shape of a generated account (profiles, campaign types, ad groups, product ads with price
and margin, budgets that cap some campaigns, the id collision between a keyword and a target, the
manual sibling of each auto campaign that harvests graduate into) and the one
``random.Random(seed)`` every draw comes from, so a seed always yields the same account.
Each keyword or target, with its truths and search terms, is drawn by
:mod:`bidagent.sandbox.catalog_targets`. It must not touch storage or simulate traffic: it returns
plain rows for :mod:`bidagent.sandbox.store`.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bidagent.marketplaces import marketplace_for, round_money
from bidagent.sandbox.catalog_targets import AUTO_PREDICATES, build_target
from bidagent.sandbox.scenarios import Scenario

__all__ = ["ASIN_GROUP_SUFFIX", "AUTO_PREDICATES", "MANUAL_SUFFIX", "Catalog", "build_catalog"]

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
_ASIN_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass
class Catalog:
    """Rows of one generated account, ready for the store."""

    profiles: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    truths: list[dict[str, Any]] = field(default_factory=list)
    terms: list[tuple[int, str, float, float]] = field(default_factory=list)


class CatalogBuilder:
    """The draw state of one account: its random stream, ids in use and the rows made so far."""

    def __init__(self, seed: int, scenario: Scenario) -> None:
        self.seed = seed
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
    builder = CatalogBuilder(seed, scenario)
    countries = scenario.countries
    per_profile = max(1, targets // len(countries))
    for index, country in enumerate(countries):
        count = per_profile if index < len(countries) - 1 else targets - per_profile * index
        _build_profile(builder, country, max(1, count), start_date)
    _collide_ids(builder.catalog)
    _add_manual_siblings(builder)
    return builder.catalog


def _build_profile(b: CatalogBuilder, country: str, targets: int, start_date: str) -> None:
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
    b: CatalogBuilder, profile_id: str, country: str, kind: str, quota: int, serial: int, start: str
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
            expected_spend += build_target(
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


# What a manual sibling's ad groups for product targets are called: "<source ad group> ASINs".
ASIN_GROUP_SUFFIX = " ASINs"
MANUAL_SUFFIX = " Manual"


def _add_manual_siblings(b: CatalogBuilder) -> None:
    """Give each AUTO campaign the manual campaign a seller graduates its search terms into.

    ``SP Auto 0007`` gets ``SP Auto 0007 Manual`` (enabled, MANUAL, a small budget: half the
    auto campaign's, at least 10 and the marketplace minimum, so a harvested bid fits) holding,
    per ad group of the auto campaign, an ad group of the same name for keywords and one named
    ``<name> ASINs`` for product targets (Amazon keeps keywords and product targets in separate
    ad groups), each advertising the same product at the same default bid, with no targets yet.
    Built after every other draw, from a stream of its own (``random.Random(f"{seed}:manual")``)
    for the ids only, so the rest of a seed's account is what it was before siblings existed.
    """
    rng = random.Random(f"{b.seed}:manual")

    def new_id() -> str:
        while True:
            value = rng.randrange(10**13, 10**15)
            if value not in b.used_ids:
                b.used_ids.add(value)
                return str(value)

    rows = list(b.catalog.entities)
    groups_of: dict[str, list[dict[str, Any]]] = {}
    product_of: dict[str, dict[str, Any]] = {}
    for e in rows:
        if e["kind"] == "ad_group":
            groups_of.setdefault(e["campaign_id"], []).append(e)
        elif e["kind"] == "product_ad":
            product_of.setdefault(e["ad_group_id"], e)
    autos = [
        e
        for e in rows
        if e["kind"] == "campaign" and json.loads(e["data"]).get("targetingType") == "AUTO"
    ]
    for auto in autos:
        profile_id = auto["profile_id"]
        country = next(p["country"] for p in b.catalog.profiles if p["profile_id"] == profile_id)
        market = marketplace_for(country)
        campaign_id = new_id()
        data = json.loads(auto["data"])
        b.entity(
            profile_id,
            "campaign",
            campaign_id,
            campaign_id=campaign_id,
            name=f"{auto['name']}{MANUAL_SUFFIX}",
            budget=float(max(market.min_budget, Decimal(max(10, round(auto["budget"] / 2))))),
            data=json.dumps({"targetingType": "MANUAL", "startDate": data.get("startDate")}),
        )
        groups = groups_of.get(auto["entity_id"], [])
        for group in groups:
            product = product_of[group["entity_id"]]
            for name in (group["name"], f"{group['name']}{ASIN_GROUP_SUFFIX}"):
                ad_group_id = new_id()
                b.entity(
                    profile_id,
                    "ad_group",
                    ad_group_id,
                    campaign_id=campaign_id,
                    ad_group_id=ad_group_id,
                    name=name,
                    bid=group["bid"],
                )
                b.entity(
                    profile_id,
                    "product_ad",
                    new_id(),
                    campaign_id=campaign_id,
                    ad_group_id=ad_group_id,
                    data=product["data"],
                )


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
