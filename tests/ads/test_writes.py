"""SP v3 writes: request bodies, batches of 1,000, the 207 mapped back by index."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from bidagent.ads import EntityUpdate, ItemResult

from .conftest import reply


def test_207_with_mixed_results_maps_by_index(make_client):
    """Success and error items, in any order, land on the request item with that index."""
    response = {"keywords": {
        "success": [{"index": 2, "keywordId": "12", "keyword": {"keywordId": "12", "campaignId": "1",
                     "adGroupId": "2", "keywordText": "a", "matchType": "EXACT", "state": "ENABLED",
                     "bid": 0.45}}],
        "error": [
            {"index": 1, "errors": [{"errorType": "entityNotFoundError", "errorValue": {"entityNotFoundError": {
                "reason": "ENTITY_NOT_FOUND", "message": "Could not find keyword with id 11",
                "entityId": "11", "entityType": "KEYWORD"}}}]},
            {"index": 0, "errors": [{"errorType": "biddingError", "errorValue": {"biddingError": {
                "reason": "BID_OUT_OF_MARKET_PLACE_RANGE", "message": "bid above max",
                "lowerLimit": "0.02", "upperLimit": "1000", "marketplace": "US",
                "cause": {"location": "$.keywords[0].bid", "trigger": "5000"}}}}]},
            {"index": 3, "errors": [{"errorType": "entityStateError", "errorValue": {"entityStateError": {
                "reason": "ARCHIVED_ENTITY_CANNOT_BE_MODIFIED", "message": "archived"}}}]},
        ]}}  # fmt: skip
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(207, response)

    client, _ = make_client(handler)
    results = client.update("1", "keyword", [
        EntityUpdate("10", bid=Decimal("5000")),
        EntityUpdate("11", state="paused"),
        EntityUpdate("12", bid=Decimal("0.45")),
        EntityUpdate("13", bid=Decimal("1"), state="enabled"),
    ])  # fmt: skip
    assert json.loads(seen[0].content) == {"keywords": [
        {"keywordId": "10", "bid": 5000},
        {"keywordId": "11", "state": "PAUSED"},
        {"keywordId": "12", "bid": 0.45},
        {"keywordId": "13", "state": "ENABLED", "bid": 1},
    ]}  # fmt: skip
    assert seen[0].method == "PUT"
    assert seen[0].headers["Prefer"] == "return=representation"
    assert results[0] == ItemResult(
        0, "failed", "10", "BID_OUT_OF_MARKET_PLACE_RANGE", "bid above max",
        {"reason": "BID_OUT_OF_MARKET_PLACE_RANGE", "message": "bid above max", "lowerLimit": "0.02",
         "upperLimit": "1000", "marketplace": "US",
         "cause": {"location": "$.keywords[0].bid", "trigger": "5000"}, "selector": "biddingError"},
    )  # fmt: skip
    assert (results[1].outcome, results[1].code, results[1].entity_id) == (
        "failed",
        "ENTITY_NOT_FOUND",
        "11",
    )
    assert results[2] == ItemResult(
        2, "applied", "12", entity={"state": "enabled", "bid": Decimal("0.45")}
    )
    assert (results[3].outcome, results[3].code) == ("failed", "ARCHIVED_ENTITY_CANNOT_BE_MODIFIED")


def test_item_missing_from_207_is_unknown(make_client):
    """An item the 207 does not mention is unknown, never assumed applied."""
    client, _ = make_client(lambda r: reply(207, {"campaigns": {"success": [], "error": []}}))
    [result] = client.update("1", "campaign", [EntityUpdate("5", budget=Decimal("20"))])
    assert (result.outcome, result.entity_id, result.code) == ("unknown", "5", "NOT_IN_RESPONSE")


def test_updates_are_sent_in_batches_of_1000_with_global_indexes(make_client):
    """2,001 updates go out as 1000 + 1000 + 1, and result indexes run 0..2000."""
    sizes = []

    def handler(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["adGroups"]
        sizes.append(len(items))
        return reply(207, {"adGroups": {"success": [
            {"index": i, "adGroupId": item["adGroupId"]} for i, item in enumerate(items)]}})  # fmt: skip

    client, _ = make_client(handler)
    updates = [EntityUpdate(str(i), default_bid=Decimal("0.5")) for i in range(2001)]
    results = client.update("1", "ad_group", updates)
    assert sizes == [1000, 1000, 1]
    assert [r.index for r in results] == list(range(2001))
    assert [r.entity_id for r in results] == [str(i) for i in range(2001)]
    assert {r.outcome for r in results} == {"applied"}


def test_campaign_budget_body(make_client):
    """A campaign budget is sent as {budget, budgetType: DAILY}."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return reply(207, {"campaigns": {"success": [{"index": 0, "campaignId": "5"}]}})

    client, _ = make_client(handler)
    client.update("1", "campaign", [EntityUpdate("5", budget=Decimal("25.50"), state="paused")])
    assert seen == [{"campaigns": [
        {"campaignId": "5", "state": "PAUSED", "budget": {"budget": 25.5, "budgetType": "DAILY"}}]}]  # fmt: skip


def test_field_a_kind_cannot_take_is_refused_before_sending(make_client):
    """A budget on a keyword, or state archived, is a programming error, not a request."""
    client, api = make_client(lambda r: reply(207, {}))
    with pytest.raises(ValueError, match="cannot take"):
        client.update("1", "keyword", [EntityUpdate("1", budget=Decimal("5"))])
    with pytest.raises(ValueError, match="state must be"):
        client.update("1", "keyword", [EntityUpdate("1", state="archived")])
    assert api.requests == []


def test_create_negative_keywords_and_duplicate(make_client):
    """Creates send our fields in Amazon's spelling; ids come from the success id key."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return reply(207, {"negativeKeywords": {
            "success": [{"index": 0, "negativeKeywordId": "900"}],
            "error": [{"index": 1, "errors": [{"errorType": "duplicateValueError", "errorValue": {
                "duplicateValueError": {"reason": "DUPLICATE_VALUE", "message": "exists"}}}]}]}})  # fmt: skip

    client, _ = make_client(handler)
    results = client.create("1", "negative_keyword", [
        {"campaign_id": "1", "ad_group_id": "2", "keyword_text": "free", "match_type": "negative_exact"},
        {"campaign_id": "1", "ad_group_id": "2", "keyword_text": "cheap", "match_type": "negative_phrase"},
    ])  # fmt: skip
    assert seen == [{"negativeKeywords": [
        {"campaignId": "1", "keywordText": "free", "matchType": "NEGATIVE_EXACT", "state": "ENABLED",
         "adGroupId": "2"},
        {"campaignId": "1", "keywordText": "cheap", "matchType": "NEGATIVE_PHRASE", "state": "ENABLED",
         "adGroupId": "2"},
    ]}]  # fmt: skip
    assert (results[0].outcome, results[0].entity_id) == ("applied", "900")
    assert (results[1].outcome, results[1].code) == ("failed", "DUPLICATE_VALUE")


def test_find_existing_matches_created_keywords_by_natural_key(make_client):
    """After an unknown create, the keyword is found by (ad group, text, match type)."""
    client, _ = make_client(lambda r: reply(200, {"keywords": [{"keywordId": "77", "campaignId": "1",
        "adGroupId": "2", "keywordText": "yoga mat", "matchType": "EXACT", "state": "ENABLED", "bid": 0.5}]}))  # fmt: skip
    found = client.find_existing("1", "keyword", [
        {"campaign_id": "1", "ad_group_id": "2", "keyword_text": "yoga mat", "match_type": "exact"},
        {"campaign_id": "1", "ad_group_id": "2", "keyword_text": "yoga mat", "match_type": "phrase"},
    ])  # fmt: skip
    assert found == [{"entity_id": "77", "state": "enabled", "bid": Decimal("0.5")}, None]


def test_product_and_negative_target_creates_are_spelled_as_the_spec_asks(make_client):
    """asinSameAs becomes ASIN_SAME_AS with the ASIN in capitals, a product target is a MANUAL
    clause with its bid, and a campaign negative target has no ad group; ids come back from each
    kind's own success key (campaignNegativeTargetingClauseId for campaign negative targets)."""
    seen: list[tuple[str, dict]] = []
    answers = {
        "/sp/targets": {"targetingClauses": {"success": [{"index": 0, "targetId": "71"}]}},
        "/sp/negativeTargets": {"negativeTargetingClauses": {"success": [{"index": 0, "targetId": "72"}]}},
        "/sp/campaignNegativeTargets": {"campaignNegativeTargetingClauses": {"success": [
            {"index": 0, "campaignNegativeTargetingClauseId": "73",
             "campaignNegativeTargetingClauses": {"targetId": "73", "campaignId": "1", "state": "ENABLED",
                 "expression": [{"type": "ASIN_SAME_AS", "value": "B0ABCDEFGH"}],
                 "resolvedExpression": [{"type": "ASIN_SAME_AS", "value": "B0ABCDEFGH"}]}}]}},
    }  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return reply(207, answers[request.url.path])

    client, _ = make_client(handler)
    asin = [{"type": "asinSameAs", "value": "b0abcdefgh"}]
    made = [
        *client.create("1", "product_target", [
            {"campaign_id": "1", "ad_group_id": "2", "expression": asin, "bid": Decimal("0.45"),
             "state": "enabled"}]),
        *client.create("1", "negative_target", [
            {"campaign_id": "1", "ad_group_id": "2", "expression": asin, "state": "enabled"}]),
        *client.create("1", "campaign_negative_target", [
            {"campaign_id": "1", "expression": [{"type": "ASIN_BRAND_SAME_AS", "value": "123"}],
             "state": "paused"}]),
    ]  # fmt: skip
    wire = [{"type": "ASIN_SAME_AS", "value": "B0ABCDEFGH"}]
    assert seen == [
        ("/sp/targets", {"targetingClauses": [{"campaignId": "1", "adGroupId": "2", "expression": wire,
            "expressionType": "MANUAL", "state": "ENABLED", "bid": 0.45}]}),
        ("/sp/negativeTargets", {"negativeTargetingClauses": [
            {"campaignId": "1", "adGroupId": "2", "expression": wire, "state": "ENABLED"}]}),
        ("/sp/campaignNegativeTargets", {"campaignNegativeTargetingClauses": [
            {"campaignId": "1", "expression": [{"type": "ASIN_BRAND_SAME_AS", "value": "123"}],
             "state": "PAUSED"}]}),
    ]  # fmt: skip
    assert [(r.outcome, r.entity_id) for r in made] == [
        ("applied", "71"), ("applied", "72"), ("applied", "73"),
    ]  # fmt: skip
    assert made[2].entity == {
        "state": "enabled", "campaign_id": "1", "ad_group_id": None, "keyword_text": None,
        "match_type": None, "expression": [{"type": "ASIN_SAME_AS", "value": "B0ABCDEFGH"}],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "expression", "message"),
    [
        ("negative_target", [{"type": "asinCategorySameAs", "value": "1"}], "cannot take"),
        ("campaign_negative_target", [{"type": "queryHighRelMatches"}], "cannot take"),
        ("product_target", [{"type": "queryHighRelMatches"}], "cannot take"),
        ("product_target", [], "non-empty list"),
    ],
)
def test_an_expression_the_kind_cannot_take_is_refused_before_sending(
    make_client, kind, expression, message
):
    """A negative target is an ASIN or a brand, a created product target is manual: anything
    else is a programming error, raised before a request leaves."""
    client, api = make_client(lambda r: reply(207, {}))
    item = {"campaign_id": "1", "ad_group_id": "2", "expression": expression, "state": "enabled"}
    with pytest.raises(ValueError, match=message):
        client.create("1", kind, [item])
    assert api.requests == []


def test_campaign_level_lists_take_no_ad_group_filter(make_client):
    """Campaign negatives have no ad group: filtering them by one is refused before sending."""
    client, api = make_client(lambda r: reply(200, {}))
    with pytest.raises(ValueError, match="cannot be filtered by ad group"):
        client.list_campaign_negative_targets("1", ad_group_ids=["2"])
    assert api.requests == []
