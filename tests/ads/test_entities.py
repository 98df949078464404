"""SP v3 lists: headers, media types, filters, paging, normalisation."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx

from bidagent.ads import AdGroup, Campaign, Negative, Target

from .conftest import BASE_URL, reply


def test_list_pages_through_next_token_with_headers(make_client):
    """Campaign listing follows nextToken in the body and sends the v3 headers."""
    pages = [
        {"campaigns": [{"campaignId": "1", "name": "SP a", "state": "ENABLED",
                        "targetingType": "MANUAL", "budget": {"budget": 10.5, "budgetType": "DAILY"},
                        "dynamicBidding": {"strategy": "LEGACY_FOR_SALES"}}],
         "nextToken": "t2"},
        {"campaigns": [{"campaignId": "2", "name": "SP b", "state": "PAUSED", "targetingType": "AUTO",
                        "budget": {"budget": 5, "budgetType": "DAILY"}, "portfolioId": "77"}]},
    ]  # fmt: skip
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return reply(200, pages[len(bodies) - 1])

    client, api = make_client(handler)
    campaigns = client.list_campaigns("42", states=["enabled", "paused"])
    assert campaigns == [
        Campaign(
            "1", "SP a", "enabled", "manual", Decimal("10.5"), "daily", None, "legacy_for_sales"
        ),
        Campaign("2", "SP b", "paused", "auto", Decimal("5"), "daily", "77", None),
    ]
    assert bodies == [
        {"stateFilter": {"include": ["ENABLED", "PAUSED"]}},
        {"stateFilter": {"include": ["ENABLED", "PAUSED"]}, "nextToken": "t2"},
    ]
    request = api.requests[0]
    assert str(request.url) == BASE_URL + "/sp/campaigns/list"
    assert request.headers["Amazon-Advertising-API-Scope"] == "42"
    assert request.headers["Amazon-Advertising-API-ClientId"] == "amzn1.application-oa2-client.test"
    assert request.headers["Content-Type"] == "application/vnd.spCampaign.v3+json"
    assert request.headers["Accept"] == "application/vnd.spCampaign.v3+json"


def test_profiles_have_no_scope_and_string_ids(make_client):
    """GET /v2/profiles sends no scope header and turns numeric profile ids into strings."""
    client, api = make_client(lambda r: reply(200, [{
        "profileId": 3593702223426540, "countryCode": "US", "currencyCode": "USD",
        "timezone": "America/Los_Angeles",
        "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "type": "seller", "name": "Shop"}}]))  # fmt: skip
    [profile] = client.list_profiles()
    assert profile.profile_id == "3593702223426540"
    assert profile.to_record(synced_at=None)["account_type"] == "seller"
    assert "Amazon-Advertising-API-Scope" not in api.requests[0].headers
    assert api.requests[0].url.path == "/v2/profiles"


def test_id_filter_is_split_at_1000(make_client):
    """2,500 ids become three list queries of 1000, 1000 and 500 ids."""
    sizes = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(json.loads(request.content)["keywordIdFilter"]["include"]))
        return reply(200, {"keywords": []})

    client, _ = make_client(handler)
    client.list_keywords("1", ids=[str(i) for i in range(2500)])
    assert sizes == [1000, 1000, 500]


def test_keywords_targets_and_negatives_are_normalised(make_client):
    """Keywords, auto/product targets and negatives map onto our lower-case, str-id records."""
    answers = {
        "/sp/keywords/list": {"keywords": [{"keywordId": "10", "campaignId": "1", "adGroupId": "2",
            "keywordText": "yoga mat", "matchType": "EXACT", "state": "ENABLED", "bid": 0.35}]},
        "/sp/targets/list": {"targetingClauses": [
            {"targetId": "20", "campaignId": "1", "adGroupId": "2", "state": "PAUSED",
             "expressionType": "AUTO", "expression": [{"type": "QUERY_HIGH_REL_MATCHES"}]},
            {"targetId": "21", "campaignId": "1", "adGroupId": "2", "state": "ENABLED", "bid": 1,
             "expressionType": "MANUAL", "expression": [{"type": "ASIN_SAME_AS", "value": "B0ABC"}]}]},
        "/sp/negativeKeywords/list": {"negativeKeywords": [{"keywordId": "30", "campaignId": "1",
            "adGroupId": "2", "keywordText": "free", "matchType": "NEGATIVE_EXACT", "state": "ENABLED"}]},
        "/sp/campaignNegativeKeywords/list": {"campaignNegativeKeywords": [{"keywordId": "31",
            "campaignId": "1", "keywordText": "used", "matchType": "NEGATIVE_PHRASE", "state": "ENABLED"}]},
        "/sp/adGroups/list": {"adGroups": [{"adGroupId": "2", "campaignId": "1", "name": "g",
            "state": "ENABLED", "defaultBid": 0.75}]},
    }  # fmt: skip
    client, _ = make_client(lambda r: reply(200, answers[r.url.path]))
    assert client.list_keywords("1") == [
        Target(
            "keyword",
            "10",
            "1",
            "2",
            "enabled",
            Decimal("0.35"),
            "exact",
            "yoga mat",
            "yoga mat",
            None,
        )
    ]
    assert client.list_targets("1") == [
        Target("product_target", "20", "1", "2", "paused", None, "targeting_expression_predefined",
               None, "close-match", [{"type": "QUERY_HIGH_REL_MATCHES"}]),
        Target("product_target", "21", "1", "2", "enabled", Decimal("1"), "targeting_expression",
               None, 'asin="B0ABC"', [{"type": "ASIN_SAME_AS", "value": "B0ABC"}]),
    ]  # fmt: skip
    assert client.list_negative_keywords("1") == [
        Negative("negative_keyword", "30", "1", "2", "free", "negative_exact", "enabled")
    ]
    assert client.list_campaign_negative_keywords("1") == [
        Negative("campaign_negative_keyword", "31", "1", None, "used", "negative_phrase", "enabled")
    ]
    assert client.list_ad_groups("1") == [AdGroup("2", "1", "g", "enabled", Decimal("0.75"))]


def test_get_current_returns_live_values_by_id(make_client):
    """Read-back lists by id and returns bid and state per keyword id."""
    client, _ = make_client(lambda r: reply(200, {"keywords": [{"keywordId": "10", "campaignId": "1",
        "adGroupId": "2", "keywordText": "a", "matchType": "BROAD", "state": "PAUSED", "bid": 0.4}]}))  # fmt: skip
    assert client.get_current("1", "keyword", ["10", "11"]) == {
        "10": {"state": "paused", "bid": Decimal("0.4")}
    }
