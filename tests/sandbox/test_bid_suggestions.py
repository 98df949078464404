"""``POST /sp/targets/bid/recommendations`` on the fake API: checks, shape and the value model."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import httpx
import pytest

from bidagent.marketplaces import marketplace_for, round_money
from bidagent.sandbox import Sandbox
from bidagent.sandbox.store import ENTITY_COLUMNS
from bidagent.sandbox.suggestions import weekly_noise
from tests.sandbox.conftest import AmazonCalls, make_calls

PATH = "/sp/targets/bid/recommendations"
MEDIA = "application/vnd.spthemebasedbidrecommendation.v4+json"
AUTO = {
    "QUERY_HIGH_REL_MATCHES": "CLOSE_MATCH",
    "QUERY_BROAD_REL_MATCHES": "LOOSE_MATCH",
    "ASIN_SUBSTITUTE_RELATED": "SUBSTITUTES",
    "ASIN_ACCESSORY_RELATED": "COMPLEMENTS",
}
PRODUCT = {"ASIN_SAME_AS": "PAT_ASIN", "ASIN_CATEGORY_SAME_AS": "PAT_CATEGORY"}


def group_rows(sandbox: Sandbox, ad_group_id: str) -> list[dict[str, Any]]:
    """The stored keywords/targets of one ad group with their hidden truths."""
    rows = sandbox.store.query(
        "SELECT e.campaign_id, e.kind, e.text, e.match_type, e.expression, t.sim_key, t.comp_bid "
        "FROM entities e JOIN truths t ON t.sim_key = e.sim_key WHERE e.ad_group_id = ? "
        "ORDER BY t.sim_key",
        (ad_group_id,),
    )
    return [dict(row) for row in rows]


def expression_of(row: dict[str, Any]) -> dict[str, str]:
    """The recommendation expression of a stored keyword or single-predicate target."""
    if row["kind"] == "keyword":
        return {"type": f"KEYWORD_{row['match_type']}_MATCH", "value": row["text"]}
    (predicate,) = json.loads(row["expression"])
    if predicate["type"] in AUTO:
        return {"type": AUTO[predicate["type"]]}
    return {"type": PRODUCT[predicate["type"]], "value": predicate["value"]}


def expected_bids(market_bid: float) -> list[dict[str, float]]:
    """0.75x, 1x and 1.4x the market bid, on the US cent step within its 0.02..1000 limits."""
    us = marketplace_for("US")
    amounts = [
        min(max(round_money(market_bid * factor, us.step), us.min_bid), us.max_bid)
        for factor in (0.75, 1.0, 1.4)
    ]
    return [{"suggestedBid": float(amount)} for amount in amounts]


def expected_answer(
    sandbox: Sandbox, ad_group_id: str, expressions: list[dict[str, str]], competition: float = 1.0
) -> dict[str, Any]:
    """The whole response the model must give: each expression priced from its own target."""
    rows = {
        json.dumps(expression_of(r), sort_keys=True): r for r in group_rows(sandbox, ad_group_id)
    }
    iso = sandbox.today(sandbox.profiles[0]).isocalendar()
    answered = []
    for expression in expressions:
        row = rows[json.dumps(expression, sort_keys=True)]
        noise = weekly_noise(sandbox.seed, f"target:{row['sim_key']}", (iso.year, iso.week))
        answered.append(
            {
                "targetingExpression": expression,
                "bidValues": expected_bids(row["comp_bid"] * competition * noise),
            }
        )
    return {
        "bidRecommendations": [
            {
                "theme": "CONVERSION_OPPORTUNITIES",
                "bidRecommendationsForTargetingExpressions": answered,
            }
        ]
    }


def first_group(sandbox: Sandbox, kind: str, expression_type: str | None = None) -> str:
    """The first ad group holding a keyword (or a target of ``expression_type``)."""
    sql = "SELECT ad_group_id FROM entities WHERE kind = ?"
    params: list[Any] = [kind]
    if expression_type is not None:
        sql += " AND expression_type = ?"
        params.append(expression_type)
    return str(sandbox.store.query(sql + " ORDER BY seq LIMIT 1", params)[0]["ad_group_id"])


def ask(
    amazon: AmazonCalls, ad_group_id: str, expressions: list[dict[str, Any]], **body: Any
) -> httpx.Response:
    campaign_id = amazon.sandbox.store.query(
        "SELECT campaign_id FROM entities WHERE kind = 'ad_group' AND entity_id = ?",
        (ad_group_id,),
    )[0]["campaign_id"]
    request = {
        "recommendationType": "BIDS_FOR_EXISTING_AD_GROUP",
        "campaignId": campaign_id,
        "adGroupId": ad_group_id,
        "targetingExpressions": expressions,
    } | body
    return amazon.sp("POST", PATH, {k: v for k, v in request.items() if v is not None}, MEDIA)


@pytest.mark.parametrize(
    ("kind", "expression_type"), [("keyword", None), ("target", "MANUAL"), ("target", "AUTO")]
)
def test_existing_targets_are_priced_from_their_competitors_bid(
    sandbox: Sandbox, amazon: AmazonCalls, kind: str, expression_type: str | None
) -> None:
    """Each existing keyword/target gets 0.75x/1x/1.4x its comp_bid x weekly noise, on the step."""
    group = first_group(sandbox, kind, expression_type)
    expressions = [expression_of(row) for row in group_rows(sandbox, group)]
    response = ask(amazon, group, expressions)
    assert (response.status_code, response.headers["content-type"]) == (200, MEDIA)
    assert response.json() == expected_answer(sandbox, group, expressions)
    for item in response.json()["bidRecommendations"][0][
        "bidRecommendationsForTargetingExpressions"
    ]:
        low, median, high = (value["suggestedBid"] for value in item["bidValues"])
        assert low < median < high


def test_every_expression_type_of_the_catalog_is_matched(sandbox: Sandbox) -> None:
    """The generated account holds keywords of three match types, both product and four auto types."""
    types = set()
    for row in sandbox.store.query("SELECT ad_group_id FROM entities WHERE kind = 'ad_group'"):
        types |= {expression_of(r)["type"] for r in group_rows(sandbox, row["ad_group_id"])}
    assert types == {
        "KEYWORD_EXACT_MATCH",
        "KEYWORD_PHRASE_MATCH",
        "KEYWORD_BROAD_MATCH",
        "PAT_ASIN",
        "PAT_CATEGORY",
        "CLOSE_MATCH",
        "LOOSE_MATCH",
        "SUBSTITUTES",
        "COMPLEMENTS",
    }


def test_same_week_same_answer_next_week_drifts(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """Two calls in one ISO week answer alike; a week later the noise is drawn again."""
    group = first_group(sandbox, "keyword")
    expressions = [expression_of(row) for row in group_rows(sandbox, group)]
    first = ask(amazon, group, expressions).json()
    assert ask(amazon, group, expressions).json() == first
    sandbox.advance(days=2)  # Monday -> Wednesday, same week
    assert ask(amazon, group, expressions).json() == first
    sandbox.advance(days=7)
    later = ask(amazon, group, expressions).json()
    assert later == expected_answer(sandbox, group, expressions)
    assert later != first


def test_a_new_expression_gets_the_ad_groups_median(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """A keyword the ad group does not hold is priced from the median comp_bid of its targets."""
    group = first_group(sandbox, "keyword")
    expression = {"type": "KEYWORD_EXACT_MATCH", "value": "a term nobody targets"}
    median = statistics.median(row["comp_bid"] for row in group_rows(sandbox, group))
    iso = sandbox.today(sandbox.profiles[0]).isocalendar()
    key = f"group:{group}:KEYWORD_EXACT_MATCH:a term nobody targets"
    noise = weekly_noise(sandbox.seed, key, (iso.year, iso.week))
    items = ask(amazon, group, [expression]).json()["bidRecommendations"][0][
        "bidRecommendationsForTargetingExpressions"
    ]
    assert items == [
        {"targetingExpression": expression, "bidValues": expected_bids(median * noise)}
    ]


def test_keyword_text_matches_case_insensitively(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """An upper-cased keyword text still finds its keyword (Amazon's keywords ignore case)."""
    group = first_group(sandbox, "keyword")
    expression = expression_of(group_rows(sandbox, group)[0])
    shouted = expression | {"value": expression["value"].upper()}
    answer = ask(amazon, group, [shouted]).json()["bidRecommendations"][0]
    expected = expected_answer(sandbox, group, [expression])["bidRecommendations"][0]
    assert (
        answer["bidRecommendationsForTargetingExpressions"][0]["bidValues"]
        == (expected["bidRecommendationsForTargetingExpressions"][0]["bidValues"])
    )


def test_new_competitor_raises_suggestions_after_the_event(tmp_path: Path) -> None:
    """From day 14 of new_competitor, suggestions are 1.4x: competitors' bids rose."""
    box = Sandbox.open(tmp_path / "s", scenario="new_competitor", targets=40, history_days=2)
    amazon = make_calls(box)
    try:
        group = first_group(box, "keyword")
        expressions = [expression_of(row) for row in group_rows(box, group)]
        assert ask(amazon, group, expressions).json() == expected_answer(box, group, expressions)
        box.advance(days=14)
        after = ask(amazon, group, expressions).json()
        assert after == expected_answer(box, group, expressions, competition=1.4)
        assert after != expected_answer(box, group, expressions, competition=1.0)
    finally:
        amazon.http.close()
        box.close()


def test_weekly_noise_is_lognormal_with_sigma_015() -> None:
    """The draw is exp(N(0, 0.15)): log mean near 0, log deviation near 0.15, fixed per key."""
    logs = [math.log(weekly_noise(7, f"target:{k}", (2025, 23))) for k in range(4000)]
    assert abs(statistics.fmean(logs)) < 0.01
    assert abs(statistics.stdev(logs) - 0.15) < 0.006
    assert weekly_noise(7, "target:1", (2025, 23)) == weekly_noise(7, "target:1", (2025, 23))
    assert weekly_noise(7, "target:1", (2025, 23)) != weekly_noise(7, "target:1", (2025, 24))
    assert weekly_noise(7, "target:1", (2025, 23)) != weekly_noise(8, "target:1", (2025, 23))


def _campaign_of_another_group(sandbox: Sandbox, ad_group_id: str) -> str:
    row = sandbox.store.query(
        "SELECT campaign_id FROM entities WHERE kind = 'campaign' AND campaign_id != "
        "(SELECT campaign_id FROM entities WHERE kind = 'ad_group' AND entity_id = ?) LIMIT 1",
        (ad_group_id,),
    )
    return str(row[0]["campaign_id"])


KEYWORD = {"type": "KEYWORD_EXACT_MATCH", "value": "yoga mat"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"recommendationType": "BIDS_FOR_NEW_AD_GROUP"},
            "recommendationType must be BIDS_FOR_EXISTING_AD_GROUP (the sandbox simulates "
            "existing ad groups only), got 'BIDS_FOR_NEW_AD_GROUP'",
        ),
        ({"campaignId": None}, "campaignId is required"),
        ({"adGroupId": ""}, "adGroupId is required"),
        ({"campaignId": "123"}, "campaignId 123 not found in profile {profile}"),
        ({"adGroupId": "456"}, "adGroupId 456 not found in profile {profile}"),
        ({"campaignId": "OTHER"}, "adGroupId {group} is not in campaign {other}"),
        ({"targetingExpressions": []}, "targetingExpressions must be a non-empty array"),
        (
            {"targetingExpressions": [KEYWORD] * 101},
            "targetingExpressions accepts at most 100 items, got 101",
        ),
        (
            {"targetingExpressions": [KEYWORD, {"type": "EXACT", "value": "x"}]},
            "targetingExpressions[1]: unknown type 'EXACT'; use one of CLOSE_MATCH, COMPLEMENTS, "
            "KEYWORD_BROAD_MATCH, KEYWORD_EXACT_MATCH, KEYWORD_GROUP, KEYWORD_PHRASE_MATCH, "
            "LOOSE_MATCH, PAT_ASIN, PAT_CATEGORY, PAT_CATEGORY_REFINEMENT, SUBSTITUTES",
        ),
        (
            {"targetingExpressions": [{"type": "KEYWORD_PHRASE_MATCH"}]},
            "targetingExpressions[0]: KEYWORD_PHRASE_MATCH needs a non-empty string value",
        ),
        (
            {"targetingExpressions": [{"type": "PAT_ASIN", "value": " "}]},
            "targetingExpressions[0]: PAT_ASIN needs a non-empty string value",
        ),
    ],
)
def test_bad_requests_answer_400(
    sandbox: Sandbox, amazon: AmazonCalls, change: dict[str, Any], message: str
) -> None:
    """Each malformed body is refused whole with the spec's {code, details} and a precise message."""
    group = first_group(sandbox, "keyword")
    other = _campaign_of_another_group(sandbox, group)
    if change.get("campaignId") == "OTHER":
        change = {"campaignId": other}
    response = ask(amazon, group, [KEYWORD], **change)
    assert (response.status_code, response.headers["content-type"], response.json()) == (
        400,
        MEDIA,
        {
            "code": "400",
            "details": message.format(profile=sandbox.profiles[0], group=group, other=other),
        },
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"Content-Type": "application/json"},
            f"Unsupported media type 'application/json'; use {MEDIA}",
        ),
        (
            {"Content-Type": MEDIA, "Accept": "application/vnd.spKeyword.v3+json"},
            f"Unsupported Accept 'application/vnd.spKeyword.v3+json'; use {MEDIA}",
        ),
    ],
)
def test_wrong_media_types_answer_415(
    sandbox: Sandbox, amazon: AmazonCalls, headers: dict[str, str], message: str
) -> None:
    """A generic JSON body or another Accept type is refused with 415 naming the vendor type."""
    response = amazon.http.post(
        amazon.base_url + PATH,
        content=json.dumps({"targetingExpressions": [KEYWORD]}),
        headers=amazon.headers() | headers,
    )
    assert (response.status_code, response.json()) == (415, {"code": "415", "details": message})


def test_another_profiles_ad_group_is_refused(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """Scoped to a second profile, the first profile's ad group is not found, even when the
    second profile has a campaign of the same id (ids are unique per profile only)."""
    group = first_group(sandbox, "keyword")
    campaign = group_rows(sandbox, group)[0]["campaign_id"]
    second = "222222222222222"
    with sandbox.store.transaction() as conn:
        sandbox.store.insert_rows(
            conn,
            "profiles",
            ("profile_id", "country", "name", "seller_id"),
            [(second, "US", "Second Seller", "A2SECOND")],
        )
        sandbox.store.insert_entities(conn, [campaign_row(second, campaign)])
    amazon.profile_id = second
    response = ask(amazon, group, [KEYWORD])
    assert (response.status_code, response.json()["details"]) == (
        400,
        f"adGroupId {group} not found in profile {second}",
    )
    amazon.profile_id = sandbox.profiles[0]
    assert ask(amazon, group, [KEYWORD]).status_code == 200


def campaign_row(profile_id: str, campaign_id: str) -> dict[str, Any]:
    """A bare stored campaign row."""
    return dict.fromkeys(ENTITY_COLUMNS) | {
        "profile_id": profile_id,
        "kind": "campaign",
        "entity_id": campaign_id,
        "campaign_id": campaign_id,
        "state": "ENABLED",
        "name": "Second profile campaign",
        "budget": 10.0,
        "data": "{}",
    }


def test_scope_header_is_required(sandbox: Sandbox, amazon: AmazonCalls) -> None:
    """Without Amazon-Advertising-API-Scope the call is a 401, as every SP call."""
    headers = amazon.headers(MEDIA)
    del headers["Amazon-Advertising-API-Scope"]
    response = amazon.http.post(amazon.base_url + PATH, json={}, headers=headers)
    assert (response.status_code, response.json()["details"]) == (401, "Scope header is missing")


@pytest.mark.parametrize(
    ("kind", "expression_type", "asked", "message"),
    [
        (
            "keyword",
            None,
            {"type": "CLOSE_MATCH"},
            "Invalid targeting expressions for a manual-targeting ad group: CLOSE_MATCH",
        ),
        (
            "target",
            "AUTO",
            {"type": "KEYWORD_EXACT_MATCH", "value": "mug"},
            "Invalid targeting expressions for an auto-targeting ad group: KEYWORD_EXACT_MATCH",
        ),
    ],
)
def test_targets_the_ad_group_cannot_have_answer_422(
    sandbox: Sandbox,
    amazon: AmazonCalls,
    kind: str,
    expression_type: str | None,
    asked: dict[str, str],
    message: str,
) -> None:
    """Auto expressions for a manual ad group, or keywords for an auto one, are the documented
    422 in the vendor media type with {code, details}."""
    group = first_group(sandbox, kind, expression_type)
    response = ask(amazon, group, [asked])
    assert response.status_code == 422
    assert response.headers["content-type"] == MEDIA
    assert response.json() == {"code": "422", "details": message}
