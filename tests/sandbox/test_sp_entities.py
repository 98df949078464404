"""SP v3 entity endpoints: list paging, 207 updates and creates, archives, errors, the write log."""

from __future__ import annotations

from typing import Any

from bidagent.sandbox import Sandbox
from tests.sandbox.conftest import KEYWORD_TYPE, AmazonCalls

CAMPAIGN_TYPE = "application/vnd.spCampaign.v3+json"
TARGET_TYPE = "application/vnd.spTargetingClause.v3+json"
NEGATIVE_TYPE = "application/vnd.spNegativeKeyword.v3+json"


def _all(amazon: AmazonCalls, path: str, key: str, media: str, **body: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = amazon.sp("POST", path, {**body, **({"nextToken": token} if token else {})}, media)
        assert page.status_code == 200
        items += page.json()[key]
        token = page.json().get("nextToken")
        if not token:
            return items


def test_list_pages_with_next_token(amazon: AmazonCalls) -> None:
    """maxResults pages through every keyword once; totalResults counts them; ids are strings."""
    first = amazon.sp("POST", "/sp/keywords/list", {"maxResults": 7}, KEYWORD_TYPE).json()
    keywords = _all(amazon, "/sp/keywords/list", "keywords", KEYWORD_TYPE, maxResults=7)
    assert len(keywords) == first["totalResults"] == len({k["keywordId"] for k in keywords})
    assert all(
        isinstance(k["keywordId"], str) and isinstance(k["campaignId"], str) for k in keywords
    )
    assert {k["matchType"] for k in keywords} == {"EXACT", "PHRASE", "BROAD"}


def test_list_filters_and_bad_token(amazon: AmazonCalls) -> None:
    """stateFilter and campaignIdFilter narrow the list; a forged nextToken is a 400."""
    campaigns = _all(amazon, "/sp/campaigns/list", "campaigns", CAMPAIGN_TYPE)
    one = campaigns[0]["campaignId"]
    body = {"campaignIdFilter": {"include": [one]}, "stateFilter": {"include": ["ENABLED"]}}
    targets = _all(amazon, "/sp/targets/list", "targetingClauses", TARGET_TYPE, **body)
    assert {t["campaignId"] for t in targets} <= {one}
    bad = amazon.sp("POST", "/sp/keywords/list", {"nextToken": "garbage"}, KEYWORD_TYPE)
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_ARGUMENT")


def test_auto_targets_and_inherited_bids_exist(amazon: AmazonCalls) -> None:
    """Auto campaigns carry the four predefined targets, some without a bid of their own."""
    targets = _all(
        amazon,
        "/sp/targets/list",
        "targetingClauses",
        TARGET_TYPE,
        expressionTypeFilter={"include": ["AUTO"]},
    )
    types = {t["expression"][0]["type"] for t in targets}
    assert types == {
        "QUERY_HIGH_REL_MATCHES",
        "QUERY_BROAD_REL_MATCHES",
        "ASIN_ACCESSORY_RELATED",
        "ASIN_SUBSTITUTE_RELATED",
    }
    assert any("bid" not in t for t in targets)


def test_some_keyword_and_target_ids_collide(amazon: AmazonCalls) -> None:
    """A keyword id equals a target id on purpose: ids are unique per type only."""
    keywords = {k["keywordId"] for k in _all(amazon, "/sp/keywords/list", "keywords", KEYWORD_TYPE)}
    targets = {
        t["targetId"] for t in _all(amazon, "/sp/targets/list", "targetingClauses", TARGET_TYPE)
    }
    assert len(keywords & targets) == 1


def test_update_is_207_with_per_item_results(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """One PUT: a good bid applies, an unknown id and an out-of-range bid fail on their own."""
    keyword = amazon.sp("POST", "/sp/keywords/list", {"maxResults": 1}, KEYWORD_TYPE).json()
    kid = keyword["keywords"][0]["keywordId"]
    body = {
        "keywords": [
            {"keywordId": kid, "bid": 0.77},
            {"keywordId": "404", "bid": 1.0},
            {"keywordId": kid, "bid": 1000.01},
        ]
    }
    response = amazon.sp("PUT", "/sp/keywords", body, KEYWORD_TYPE)
    result = response.json()["keywords"]
    assert response.status_code == 207
    assert result["success"] == [{"index": 0, "keywordId": kid}]
    errors = sorted(result["error"], key=lambda e: e["index"])
    assert errors[0]["errors"][0]["errorValue"]["entityNotFoundError"]["entityType"] == "KEYWORD"
    assert errors[1] == {
        "index": 2,
        "errors": [
            {
                "errorType": "biddingError",
                "errorValue": {
                    "biddingError": {
                        "reason": "BID_OUT_OF_MARKET_PLACE_RANGE",
                        "message": "Bid must be between 0.02 and 1000",
                        "lowerLimit": "0.02",
                        "upperLimit": "1000",
                        "marketplace": "US",
                        "cause": {"location": "$.keywords[2].bid", "trigger": "1000.01"},
                    }
                },
            }
        ],
    }
    log = sandbox.write_log()
    assert [(w.kind, w.entity_id, w.field, w.new) for w in log] == [("keyword", kid, "bid", 0.77)]
    assert log[0].request_id == response.headers["x-amzn-RequestId"]


def test_prefer_representation_returns_the_entity(amazon: AmazonCalls) -> None:
    """With Prefer: return=representation the success item holds the updated entity."""
    campaign = amazon.sp("POST", "/sp/campaigns/list", {"maxResults": 1}, CAMPAIGN_TYPE).json()
    cid = campaign["campaigns"][0]["campaignId"]
    body = {
        "campaigns": [
            {
                "campaignId": cid,
                "budget": {"budget": 123.0, "budgetType": "DAILY"},
                "state": "PAUSED",
            }
        ]
    }
    response = amazon.sp(
        "PUT", "/sp/campaigns", body, CAMPAIGN_TYPE, Prefer="return=representation"
    )
    item = response.json()["campaigns"]["success"][0]
    assert response.headers["Preference-Applied"] == "return=representation"
    assert (item["campaign"]["budget"]["budget"], item["campaign"]["state"]) == (123.0, "PAUSED")


def test_budget_limits_are_item_errors(amazon: AmazonCalls) -> None:
    """A budget under the marketplace minimum fails with budgetError and the limits."""
    cid = amazon.sp("POST", "/sp/campaigns/list", {}, CAMPAIGN_TYPE).json()["campaigns"][0][
        "campaignId"
    ]
    body = {"campaigns": [{"campaignId": cid, "budget": {"budget": 0.5, "budgetType": "DAILY"}}]}
    error = amazon.sp("PUT", "/sp/campaigns", body, CAMPAIGN_TYPE).json()["campaigns"]["error"][0]
    value = error["errors"][0]["errorValue"]["budgetError"]
    assert (value["reason"], value["lowerLimit"], value["upperLimit"]) == (
        "BUDGET_OUT_OF_MARKET_PLACE_RANGE",
        "1",
        "1000000",
    )


def test_wrong_media_type_is_415_and_big_batches_400(amazon: AmazonCalls) -> None:
    """application/json on SP v3 -> 415; more than 1,000 items -> 400 INVALID_ARGUMENT."""
    wrong = amazon.sp("POST", "/sp/keywords/list", {}, "application/json")
    big = amazon.sp(
        "PUT", "/sp/keywords", {"keywords": [{"keywordId": "1", "bid": 1}] * 1001}, KEYWORD_TYPE
    )
    assert (wrong.status_code, wrong.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert (big.status_code, big.json()["code"]) == (400, "INVALID_ARGUMENT")


def test_archive_then_update_is_refused(amazon: AmazonCalls) -> None:
    """/delete archives a keyword; a later update answers ARCHIVED_ENTITY_CANNOT_BE_MODIFIED."""
    kid = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE).json()["keywords"][3][
        "keywordId"
    ]
    gone = amazon.sp(
        "POST", "/sp/keywords/delete", {"keywordIdFilter": {"include": [kid]}}, KEYWORD_TYPE
    )
    again = amazon.sp(
        "PUT", "/sp/keywords", {"keywords": [{"keywordId": kid, "bid": 1.0}]}, KEYWORD_TYPE
    )
    assert gone.json()["keywords"]["success"] == [{"index": 0, "keywordId": kid}]
    reason = again.json()["keywords"]["error"][0]["errors"][0]["errorValue"]["entityStateError"]
    assert reason["reason"] == "ARCHIVED_ENTITY_CANNOT_BE_MODIFIED"


def test_create_keyword_and_negative_then_duplicate(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """A harvested keyword and a negative are created once; the same keyword again is a duplicate."""
    seed = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE).json()["keywords"][0]
    parent = {"campaignId": seed["campaignId"], "adGroupId": seed["adGroupId"]}
    new = {
        **parent,
        "keywordText": "harvested term",
        "matchType": "EXACT",
        "state": "ENABLED",
        "bid": 0.5,
    }
    made = amazon.sp("POST", "/sp/keywords", {"keywords": [new]}, KEYWORD_TYPE)
    twice = amazon.sp("POST", "/sp/keywords", {"keywords": [new]}, KEYWORD_TYPE)
    negative = {**parent, "keywordText": "free", "matchType": "NEGATIVE_PHRASE", "state": "ENABLED"}
    neg = amazon.sp("POST", "/sp/negativeKeywords", {"negativeKeywords": [negative]}, NEGATIVE_TYPE)
    kid = made.json()["keywords"]["success"][0]["keywordId"]
    assert twice.json()["keywords"]["error"][0]["errors"][0]["errorType"] == "duplicateValueError"
    assert "negativeKeywordId" in neg.json()["negativeKeywords"]["success"][0]
    assert [(w.kind, w.field) for w in sandbox.write_log()] == [
        ("keyword", "created"),
        ("negative_keyword", "created"),
    ]
    assert sandbox.oracle.truth(("keyword", kid))["volume"] > 0


def test_a_harvested_keyword_takes_its_term_over(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """Harvesting a search term moves its searches to the new keyword: total demand is unchanged."""
    import polars as pl

    from bidagent.sandbox.market import load_targets, term_factors

    profile = sandbox.profiles[0]

    def served() -> pl.DataFrame:
        targets = load_targets(sandbox.store, profile)
        factors, _ = term_factors(sandbox.store, profile, targets)
        truths = targets.join(factors, on="sim_key", how="left").fill_null(0.0)
        return truths.select(
            "sim_key", "entity_id", searches=pl.col("volume") * pl.col("active_weight")
        )

    keyword = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE).json()["keywords"][0]
    source = sandbox.oracle.truth(("keyword", keyword["keywordId"]))
    term = sandbox.store.query(
        "SELECT term FROM terms WHERE sim_key = ? AND lower(term) NOT IN (SELECT lower(text) "
        "FROM entities WHERE kind = 'keyword' AND ad_group_id = ?) ORDER BY weight DESC",
        (source["sim_key"], keyword["adGroupId"]),
    )[0]["term"]
    before = served()
    new = {
        "campaignId": keyword["campaignId"],
        "adGroupId": keyword["adGroupId"],
        "keywordText": term,
        "matchType": "EXACT",
        "state": "ENABLED",
        "bid": 0.5,
    }
    made = amazon.sp("POST", "/sp/keywords", {"keywords": [new]}, KEYWORD_TYPE)
    kid = made.json()["keywords"]["success"][0]["keywordId"]
    after = served()
    harvested = after.filter(pl.col("entity_id") == kid)["searches"][0]
    assert harvested > 0
    assert round(after["searches"].sum(), 6) == round(before["searches"].sum(), 6)
    source_before = before.filter(pl.col("sim_key") == source["sim_key"])["searches"][0]
    source_after = after.filter(pl.col("sim_key") == source["sim_key"])["searches"][0]
    assert source_after < source_before
