"""Product targets and negative product targets through the real client against the sandbox:
created, listed, found again and archived; refused where Amazon refuses them; and what they (and
negative keywords) do to ASIN search terms."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from bidagent.ads import AdsClient, ItemResult
from bidagent.ads.models import AdGroup, Campaign
from bidagent.sandbox import Sandbox
from bidagent.sandbox.market import load_targets, term_factors
from bidagent.vocabulary import is_asin
from tests.ads.conftest import auto_and_manual


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox.open(tmp_path / "sb.db", seed=11, targets=80, history_days=20) as box:
        yield box


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[AdsClient]:
    with AdsClient(
        client_id="amzn1.application-oa2-client.sandbox",
        client_secret="sandbox-secret",
        refresh_token="Atzr|sandbox",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        transport=sandbox.transport(),
        requests_per_second=1000.0,
        sleep=lambda s: None,
    ) as made:
        yield made


@dataclass
class Layout:
    """An auto campaign, one of its ad groups, and its manual sibling's two ad groups for it."""

    profile_id: str
    auto: Campaign
    group: AdGroup
    manual: Campaign
    keywords_group: AdGroup
    asins_group: AdGroup
    asin_term: str  # an ASIN search term one of the group's auto targets serves


def _layout(sandbox: Sandbox, client: AdsClient) -> Layout:
    profile_id = sandbox.profiles[0]
    auto, group, manual = auto_and_manual(client, profile_id)
    siblings = {
        g.name: g for g in client.list_ad_groups(profile_id, campaign_ids=[manual.campaign_id])
    }
    terms = sandbox.store.query(
        "SELECT s.term FROM terms s JOIN entities e ON e.sim_key = s.sim_key "
        "WHERE e.profile_id = ? AND e.ad_group_id = ? AND e.kind = 'target' ORDER BY s.weight DESC",
        (profile_id, group.ad_group_id),
    )
    asin_term = next(r["term"] for r in terms if is_asin(r["term"]))
    return Layout(
        profile_id, auto, group, manual, siblings[group.name], siblings[f"{group.name} ASINs"],
        asin_term,
    )  # fmt: skip


def _target(layout: Layout, group: AdGroup, asin: str, **more: object) -> dict[str, object]:
    return {
        "campaign_id": group.campaign_id,
        "ad_group_id": group.ad_group_id,
        "expression": [{"type": "asinSameAs", "value": asin}],
        "state": "enabled",
        **more,
    }


def test_the_manual_sibling_holds_the_auto_groups_by_name_and_no_target(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """Each auto campaign has an enabled manual sibling with a keyword and an ASIN ad group per
    ad group, advertising the same product at the same default bid, holding no target."""
    layout = _layout(sandbox, client)
    p = layout.profile_id
    auto_groups = client.list_ad_groups(p, campaign_ids=[layout.auto.campaign_id])
    manual_groups = client.list_ad_groups(p, campaign_ids=[layout.manual.campaign_id])
    expected = sorted(
        (name, g.default_bid, "enabled")
        for g in auto_groups
        for name in (g.name, f"{g.name} ASINs")
    )
    assert sorted((g.name, g.default_bid, g.state) for g in manual_groups) == expected
    assert (layout.manual.targeting_type, layout.manual.state) == ("manual", "enabled")
    assert layout.manual.budget == max(Decimal(10), Decimal(round(layout.auto.budget / 2)))
    assert client.list_keywords(p, campaign_ids=[layout.manual.campaign_id]) == []
    assert client.list_targets(p, campaign_ids=[layout.manual.campaign_id]) == []
    ads = sandbox.store.query(
        "SELECT ad_group_id, json_extract(data, '$.asin') AS asin FROM entities "
        "WHERE profile_id = ? AND kind = 'product_ad' AND ad_group_id IN (?, ?, ?)",
        (p, layout.group.ad_group_id, layout.keywords_group.ad_group_id,
         layout.asins_group.ad_group_id),
    )  # fmt: skip
    assert len(ads) == 3 and len({a["asin"] for a in ads}) == 1


def test_a_product_target_is_created_found_by_its_asin_and_archived(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """A harvested ASIN becomes a MANUAL asinSameAs target; it is found again case-insensitively,
    a second one is a duplicate, and archiving it is final."""
    layout = _layout(sandbox, client)
    p, asin = layout.profile_id, layout.asin_term
    item = _target(layout, layout.asins_group, asin, bid=Decimal("0.55"))
    (made,) = client.create(p, "product_target", [item])
    assert (made.outcome, made.entity) == ("applied", {"state": "enabled", "bid": Decimal("0.55")})
    assert made.entity_id is not None
    (listed,) = client.list_targets(p, ids=[made.entity_id])
    assert (listed.ad_group_id, listed.expression, listed.targeting, listed.match_type) == (
        layout.asins_group.ad_group_id,
        [{"type": "ASIN_SAME_AS", "value": asin.upper()}],
        f'asin="{asin.upper()}"',
        "targeting_expression",
    )
    upper = _target(layout, layout.asins_group, asin.upper())
    assert client.find_existing(
        p, "product_target", [upper, _target(layout, layout.group, asin)]
    ) == [
        {"entity_id": made.entity_id, "state": "enabled", "bid": Decimal("0.55")},
        None,
    ]
    (again,) = client.create(p, "product_target", [upper])
    assert (again.outcome, again.code) == ("failed", "DUPLICATE_VALUE")
    (archived,) = client.archive(p, "product_target", [made.entity_id])
    assert archived.outcome == "applied"
    assert client.get_current(p, "product_target", [made.entity_id])[made.entity_id]["state"] == (
        "archived"
    )
    assert client.find_existing(p, "product_target", [upper]) == [None]


def test_negative_targets_at_both_levels_are_created_listed_found_and_archived(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """An ASIN negated in an ad group and in the auto campaign: listed with their expression and
    the spec's filters, found again by it, archived by id."""
    layout = _layout(sandbox, client)
    p, asin = layout.profile_id, layout.asin_term
    group_item = _target(layout, layout.group, asin)
    campaign_item = {k: v for k, v in group_item.items() if k != "ad_group_id"}
    (in_group,) = client.create(p, "negative_target", [group_item])
    (in_campaign,) = client.create(p, "campaign_negative_target", [campaign_item])
    assert (in_group.outcome, in_campaign.outcome) == ("applied", "applied")
    expression = [{"type": "ASIN_SAME_AS", "value": asin.upper()}]
    listed = client.list_negative_targets(p, ad_group_ids=[layout.group.ad_group_id])
    assert [(n.kind, n.negative_id, n.campaign_id, n.ad_group_id, n.expression, n.state)
            for n in listed] == [
        ("negative_target", in_group.entity_id, layout.auto.campaign_id,
         layout.group.ad_group_id, expression, "enabled"),
    ]  # fmt: skip
    at_campaign = client.list_campaign_negative_targets(
        p, campaign_ids=[layout.auto.campaign_id], states=["enabled"]
    )
    assert [(n.kind, n.negative_id, n.ad_group_id, n.expression, n.keyword_text, n.match_type)
            for n in at_campaign] == [
        ("campaign_negative_target", in_campaign.entity_id, None, expression, None, None),
    ]  # fmt: skip
    found = client.find_existing(p, "negative_target", [group_item])
    assert [f and f["entity_id"] for f in found] == [in_group.entity_id]
    found = client.find_existing(p, "campaign_negative_target", [campaign_item])
    assert [f and f["entity_id"] for f in found] == [in_campaign.entity_id]
    (twice,) = client.create(p, "negative_target", [_target(layout, layout.group, asin.upper())])
    assert (twice.outcome, twice.code) == ("failed", "DUPLICATE_VALUE")
    assert [r.outcome for r in client.archive(p, "negative_target", [str(in_group.entity_id)])] == [
        "applied"
    ]
    assert [
        r.outcome
        for r in client.archive(p, "campaign_negative_target", [str(in_campaign.entity_id)])
    ] == ["applied"]
    states = {
        **client.get_current(p, "negative_target", [str(in_group.entity_id)]),
        **client.get_current(p, "campaign_negative_target", [str(in_campaign.entity_id)]),
    }
    assert {k: v["state"] for k, v in states.items()} == {
        in_group.entity_id: "archived", in_campaign.entity_id: "archived",
    }  # fmt: skip
    assert client.list_campaign_negative_targets(p, states=["enabled"]) == []


def _refusal(result: ItemResult) -> tuple[str, str | None, str | None]:
    return result.outcome, result.code, result.details.get("selector")


def test_a_keyword_or_product_target_in_an_auto_ad_group_is_refused_and_nothing_is_made(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """Amazon refuses keywords and manual product targets in an auto campaign's ad groups; the
    sandbox answers the spec's targetingClauseSetupError and creates nothing."""
    layout = _layout(sandbox, client)
    p, group = layout.profile_id, layout.group
    keyword = {
        "campaign_id": group.campaign_id, "ad_group_id": group.ad_group_id,
        "keyword_text": "desk lamp", "match_type": "exact", "bid": Decimal("0.5"),
        "state": "enabled",
    }  # fmt: skip
    (refused_keyword,) = client.create(p, "keyword", [keyword])
    (refused_target,) = client.create(
        p, "product_target", [_target(layout, group, layout.asin_term)]
    )
    why = (
        "failed",
        "TARGETING_TYPE_NOT_ALLOWED_FOR_AUTO_TARGETING_CAMPAIGN",
        "targetingClauseSetupError",
    )
    assert (_refusal(refused_keyword), _refusal(refused_target)) == (why, why)
    assert client.list_keywords(p, ad_group_ids=[group.ad_group_id]) == []
    kinds = {t.match_type for t in client.list_targets(p, ad_group_ids=[group.ad_group_id])}
    assert kinds == {"targeting_expression_predefined"}  # only Amazon's auto targets
    assert sandbox.write_log() == []


def test_an_ad_group_holds_keywords_or_product_targets_not_both(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """The first target of an empty manual ad group decides its type: the other type is refused
    (TYPE_CONFLICT_IN_AD_GROUP), in both directions."""
    layout = _layout(sandbox, client)
    p = layout.profile_id
    kw_group, asin_group = layout.keywords_group, layout.asins_group

    def keyword(group: AdGroup) -> dict[str, object]:
        return {
            "campaign_id": group.campaign_id, "ad_group_id": group.ad_group_id,
            "keyword_text": "desk lamp", "match_type": "exact", "bid": Decimal("0.5"),
            "state": "enabled",
        }  # fmt: skip

    first = client.create(p, "keyword", [keyword(kw_group)])
    first += client.create(p, "product_target", [_target(layout, asin_group, layout.asin_term)])
    assert [r.outcome for r in first] == ["applied", "applied"]
    (target_in_keywords,) = client.create(
        p, "product_target", [_target(layout, kw_group, layout.asin_term)]
    )
    (keyword_in_targets,) = client.create(p, "keyword", [keyword(asin_group)])
    why = ("failed", "TYPE_CONFLICT_IN_AD_GROUP", "targetingClauseSetupError")
    assert (_refusal(target_in_keywords), _refusal(keyword_in_targets)) == (why, why)
    assert [(w.kind, w.field) for w in sandbox.write_log()] == [
        ("keyword", "created"), ("target", "created"),
    ]  # fmt: skip


def test_campaign_negative_targets_need_an_auto_campaign_and_asins_must_be_asins(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """A campaign negative target in a manual campaign is refused (the spec: AUTO campaigns only),
    and an asinSameAs value that is not an ASIN is refused as an invalid expression value."""
    layout = _layout(sandbox, client)
    p = layout.profile_id
    item = {
        "campaign_id": layout.manual.campaign_id,
        "expression": [{"type": "asinSameAs", "value": layout.asin_term}],
        "state": "enabled",
    }
    (manual,) = client.create(p, "campaign_negative_target", [item])
    assert _refusal(manual) == ("failed", "PARENT_ENTITY_FORBIDS_CREATION", "entityStateError")
    (not_asin,) = client.create(p, "negative_target", [_target(layout, layout.group, "yoga mat")])
    assert _refusal(not_asin) == (
        "failed", "TARGETING_EXPRESSION_INVALID_VALUE", "targetingClauseSetupError",
    )  # fmt: skip
    assert sandbox.write_log() == []


def _served(sandbox: Sandbox, profile_id: str, ad_group_id: str, term: str) -> list[bool]:
    """Whether each target of the ad group still serves ``term`` (the traffic model's view)."""
    targets = load_targets(sandbox.store, profile_id)
    _, terms = term_factors(sandbox.store, profile_id, targets)
    rows = terms.filter((pl.col("ad_group_id") == ad_group_id) & (pl.col("term") == term))
    return [not negated for negated in rows["negated"].to_list()]


def test_a_negative_target_stops_an_asin_term_and_a_negative_keyword_does_not(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """A negative keyword spelling the ASIN leaves the product page serving; a negative target on
    it stops it at once, and the next day's search-term report has no row of it there."""
    layout = _layout(sandbox, client)
    p, group, asin = layout.profile_id, layout.group, layout.asin_term
    assert _served(sandbox, p, group.ad_group_id, asin) == [True]
    keyword = {
        "campaign_id": group.campaign_id, "ad_group_id": group.ad_group_id,
        "keyword_text": asin, "match_type": "negative_exact", "state": "enabled",
    }  # fmt: skip
    assert [r.outcome for r in client.create(p, "negative_keyword", [keyword])] == ["applied"]
    assert _served(sandbox, p, group.ad_group_id, asin) == [True]
    made = client.create(p, "negative_target", [_target(layout, group, asin)])
    assert [r.outcome for r in made] == ["applied"]
    assert _served(sandbox, p, group.ad_group_id, asin) == [False]
    today = sandbox.today(p)
    sandbox.advance(days=2)
    rows = client.fetch_report(
        p, "spSearchTerm", today + timedelta(days=1), today + timedelta(days=1)
    )
    assert rows
    assert [
        r for r in rows if str(r["adGroupId"]) == group.ad_group_id and r["searchTerm"] == asin
    ] == []


def test_a_keyword_spelling_an_asin_gets_no_searches_and_a_product_target_takes_the_term(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """Harvesting an ASIN as a keyword buys nothing (nobody types it, the term keeps serving where
    it was); as a product target it takes the term's product-page searches over."""
    layout = _layout(sandbox, client)
    p, asin = layout.profile_id, layout.asin_term
    keyword = {
        "campaign_id": layout.manual.campaign_id, "ad_group_id": layout.keywords_group.ad_group_id,
        "keyword_text": asin, "match_type": "exact", "bid": Decimal("0.5"), "state": "enabled",
    }  # fmt: skip
    (kw,) = client.create(p, "keyword", [keyword])
    assert sandbox.oracle.truth(("keyword", str(kw.entity_id)))["volume"] == 0.0
    assert _served(sandbox, p, layout.group.ad_group_id, asin) == [True]
    (pt,) = client.create(
        p, "product_target", [_target(layout, layout.asins_group, asin, bid=Decimal("0.5"))]
    )
    assert sandbox.oracle.truth(("target", str(pt.entity_id)))["volume"] > 0
    assert _served(sandbox, p, layout.group.ad_group_id, asin) == [False]
    assert _served(sandbox, p, layout.asins_group.ad_group_id, asin) == [True]


def test_harvests_into_the_manual_sibling_get_truths_and_traffic(
    sandbox: Sandbox, client: AdsClient
) -> None:
    """A typed term graduated as an exact keyword and an ASIN as a product target into the manual
    sibling take their terms over from the auto ad group and are served there the next days."""
    layout = _layout(sandbox, client)
    p = layout.profile_id
    terms = sandbox.store.query(
        "SELECT s.term FROM terms s JOIN entities e ON e.sim_key = s.sim_key "
        "WHERE e.ad_group_id = ? AND e.kind = 'target' ORDER BY s.weight DESC",
        (layout.group.ad_group_id,),
    )
    typed = next(r["term"] for r in terms if not is_asin(r["term"]))
    keyword = {
        "campaign_id": layout.manual.campaign_id, "ad_group_id": layout.keywords_group.ad_group_id,
        "keyword_text": typed, "match_type": "exact", "bid": Decimal("2.00"), "state": "enabled",
    }  # fmt: skip
    (kw,) = client.create(p, "keyword", [keyword])
    (pt,) = client.create(
        p,
        "product_target",
        [_target(layout, layout.asins_group, layout.asin_term, bid=Decimal("2.00"))],
    )
    made = {("keyword", str(kw.entity_id)), ("product_target", str(pt.entity_id))}
    assert all(
        sandbox.oracle.truth(("target" if k == "product_target" else k, i))["volume"] > 0
        for k, i in made
    )
    source = _served(sandbox, p, layout.group.ad_group_id, typed)
    assert source and not any(source)
    assert _served(sandbox, p, layout.group.ad_group_id, layout.asin_term) == [False]
    today = sandbox.today(p)
    sandbox.advance(days=4)
    facts = client.fetch_facts(
        p, "spTargeting", today + timedelta(days=1), today + timedelta(days=3)
    )
    shown = (
        facts.filter(pl.col("impressions") > 0).select("entity_kind", "entity_id").unique().rows()
    )
    assert made <= set(shown)
