"""``AdsClient.bid_suggestions``: expressions sent, requests split, answers read strictly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bidagent.ads import AdsClient, BidSuggestion, Target
from bidagent.ads.suggestions import targeting_expression
from bidagent.errors import ApiError
from bidagent.marketplaces import marketplace_for
from bidagent.sandbox import Sandbox
from bidagent.sandbox.faults import EndpointFaults, FaultConfig
from bidagent.sandbox.suggestions import suggested_range, weekly_noise
from tests.ads.conftest import Api, FakeClock, reply

PATH = "/sp/targets/bid/recommendations"
MEDIA = "application/vnd.spthemebasedbidrecommendation.v4+json"


def target(kind: str = "product_target", **fields: Any) -> Target:
    """A target of ad group 22 in campaign 11 (fields override)."""
    base = Target(
        kind=kind,
        target_id="1",
        campaign_id="11",
        ad_group_id="22",
        state="enabled",
        bid=Decimal("0.5"),
        match_type="exact" if kind == "keyword" else "targeting_expression",
        keyword_text=None,
        targeting=None,
        expression=None,
    )
    return replace(base, **fields)


def keyword(text: str | None, match_type: str, **fields: Any) -> Target:
    return target("keyword", keyword_text=text, match_type=match_type, **fields)


def product(*predicates: dict[str, str], **fields: Any) -> Target:
    return target(expression=list(predicates), **fields)


def test_each_kind_of_target_maps_to_its_expression() -> None:
    """Keywords, the four auto predicates (either spelling), one ASIN and one category map;
    refinements, expanded ASINs, brands alone and keywords without text have no type."""
    targets = [
        keyword("yoga mat", "exact"),
        keyword("yoga mat", "phrase"),
        keyword("yoga mat", "broad"),
        product({"type": "QUERY_HIGH_REL_MATCHES"}, match_type="targeting_expression_predefined"),
        product({"type": "queryBroadRelMatches"}),
        product({"type": "ASIN_SUBSTITUTE_RELATED"}),
        product({"type": "asinAccessoryRelated"}),
        product({"type": "ASIN_SAME_AS", "value": "B0ABCDEFGH"}),
        product({"type": "ASIN_CATEGORY_SAME_AS", "value": "12345678"}),
        product(
            {"type": "ASIN_CATEGORY_SAME_AS", "value": "12345678"},
            {"type": "ASIN_BRAND_SAME_AS", "value": "987"},
        ),
        product({"type": "ASIN_EXPANDED_FROM", "value": "B0ABCDEFGH"}),
        product({"type": "ASIN_BRAND_SAME_AS", "value": "987"}),
        product(),
        keyword(None, "exact"),
        keyword("yoga mat", "negative_exact"),
    ]
    assert [targeting_expression(t) for t in targets] == [
        {"type": "KEYWORD_EXACT_MATCH", "value": "yoga mat"},
        {"type": "KEYWORD_PHRASE_MATCH", "value": "yoga mat"},
        {"type": "KEYWORD_BROAD_MATCH", "value": "yoga mat"},
        {"type": "CLOSE_MATCH"},
        {"type": "LOOSE_MATCH"},
        {"type": "SUBSTITUTES"},
        {"type": "COMPLEMENTS"},
        {"type": "PAT_ASIN", "value": "B0ABCDEFGH"},
        {"type": "PAT_CATEGORY", "value": "12345678"},
        None,
        None,
        None,
        None,
        None,
        None,
    ]


# Against the sandbox ---------------------------------------------------------------------


class Recording(httpx.BaseTransport):
    """The sandbox transport, keeping each bid recommendation request body."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == PATH:
            self.attempts += 1
            self.bodies.append(json.loads(request.read()))
        return self.inner.handle_request(request)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox.open(tmp_path_factory.mktemp("sb") / "sb.db", seed=5, targets=120) as box:
        yield box


Connect = Callable[..., tuple[AdsClient, Recording]]


@pytest.fixture
def connect(sandbox: Sandbox, clock: FakeClock) -> Iterator[Connect]:
    clients: list[AdsClient] = []

    def build(faults: FaultConfig | None = None) -> tuple[AdsClient, Recording]:
        recording = Recording(sandbox.transport(faults))
        client = AdsClient(
            client_id="amzn1.application-oa2-client.sandbox",
            client_secret="sandbox-secret",
            refresh_token="Atzr|sandbox",
            base_url=sandbox.base_url,
            token_url=sandbox.token_url,
            transport=recording,
            requests_per_second=1000.0,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
        clients.append(client)
        return client, recording

    yield build
    for client in clients:
        client.close()


def all_targets(client: AdsClient, profile_id: str) -> list[Target]:
    return client.list_keywords(profile_id) + client.list_targets(profile_id)


def model_suggestions(sandbox: Sandbox, targets: list[Target]) -> list[BidSuggestion]:
    """What the sandbox's model gives each target when its own expression reaches the sandbox.

    Amazon answers per expression, so targets sharing one in an ad group (the generated account
    has a duplicate keyword) all get the price of the oldest of them.
    """
    truths = {
        (row["kind"], row["entity_id"]): row
        for row in sandbox.oracle.truths().iter_rows(named=True)
    }

    def truth(item: Target) -> dict[str, Any]:
        return truths[("keyword" if item.kind == "keyword" else "target", item.target_id)]

    def slot(item: Target) -> tuple[str, str]:
        return (item.ad_group_id, json.dumps(targeting_expression(item)).lower())

    oldest: dict[tuple[str, str], dict[str, Any]] = {}
    for item in sorted(targets, key=lambda t: truth(t)["sim_key"]):
        oldest.setdefault(slot(item), truth(item))
    iso = sandbox.today(sandbox.profiles[0]).isocalendar()
    out = []
    for item in targets:
        priced = oldest[slot(item)]
        noise = weekly_noise(sandbox.seed, f"target:{priced['sim_key']}", (iso.year, iso.week))
        bids = suggested_range(priced["comp_bid"] * noise, marketplace_for("US"))
        out.append(BidSuggestion(item.kind, item.target_id, bids.low, bids.median, bids.high))
    return out


def test_suggestions_for_every_target_of_an_account(sandbox: Sandbox, connect: Connect) -> None:
    """Every synced keyword and target gets the sandbox's range for its own expression, in
    input order, with one request per ad group."""
    client, recording = connect()
    profile_id = sandbox.profiles[0]
    targets = all_targets(client, profile_id)
    suggestions = client.bid_suggestions(profile_id, targets)
    assert suggestions == model_suggestions(sandbox, targets)
    groups = {(t.campaign_id, t.ad_group_id) for t in targets}
    assert len(recording.bodies) == len(groups) > 3
    assert {(b["campaignId"], b["adGroupId"]) for b in recording.bodies} == groups
    assert all(s.low < s.median < s.high for s in suggestions)


def test_request_body_per_ad_group(sandbox: Sandbox, connect: Connect) -> None:
    """One ad group's targets go in one body with their expressions; a refinement is left out
    of both the request and the result."""
    client, recording = connect()
    profile_id = sandbox.profiles[0]
    targets = [t for t in all_targets(client, profile_id) if t.kind == "product_target"]
    group = targets[0].ad_group_id
    members = [t for t in targets if t.ad_group_id == group]
    refined = product(
        {"type": "ASIN_CATEGORY_SAME_AS", "value": "12345678"},
        {"type": "ASIN_PRICE_LESS_THAN", "value": "20"},
        target_id="777",
        campaign_id=members[0].campaign_id,
        ad_group_id=group,
    )
    suggestions = client.bid_suggestions(profile_id, [*members, refined])
    assert recording.bodies == [
        {
            "recommendationType": "BIDS_FOR_EXISTING_AD_GROUP",
            "campaignId": members[0].campaign_id,
            "adGroupId": group,
            "targetingExpressions": [targeting_expression(t) for t in members],
        }
    ]
    assert [s.target_id for s in suggestions] == [t.target_id for t in members]


def test_more_than_100_expressions_take_two_requests(sandbox: Sandbox, connect: Connect) -> None:
    """150 keywords of one ad group are sent as 100 and 50; all 150 come back, in order."""
    client, recording = connect()
    profile_id = sandbox.profiles[0]
    anchor = client.list_keywords(profile_id)[0]
    probes = [
        replace(anchor, target_id=str(900000 + i), keyword_text=f"probe term {i}")
        for i in range(150)
    ]
    suggestions = client.bid_suggestions(profile_id, probes)
    assert [len(b["targetingExpressions"]) for b in recording.bodies] == [100, 50]
    assert [b["targetingExpressions"][0]["value"] for b in recording.bodies] == [
        "probe term 0",
        "probe term 100",
    ]
    assert [s.target_id for s in suggestions] == [p.target_id for p in probes]


def test_duplicate_expressions_are_sent_once(sandbox: Sandbox, connect: Connect) -> None:
    """Two targets with one expression (an archived twin) share one slot and one answer."""
    client, recording = connect()
    profile_id = sandbox.profiles[0]
    live = client.list_keywords(profile_id)[0]
    twin = replace(live, target_id="424242", state="archived")
    first, second = client.bid_suggestions(profile_id, [live, twin])
    assert len(recording.bodies[0]["targetingExpressions"]) == 1
    assert (second.target_id, second.low, second.median, second.high) == (
        "424242",
        first.low,
        first.median,
        first.high,
    )


def test_no_targets_no_requests(connect: Connect) -> None:
    """An empty list, or only targets without a type, sends nothing."""
    client, recording = connect()
    refined_only = [product({"type": "ASIN_EXPANDED_FROM", "value": "B0ABCDEFGH"})]
    assert client.bid_suggestions("1", []) == []
    assert client.bid_suggestions("1", refined_only) == []
    assert recording.attempts == 0


def test_a_429_is_retried(sandbox: Sandbox, connect: Connect, clock: FakeClock) -> None:
    """A throttled request waits Retry-After and is sent again (it changes nothing)."""
    faults = FaultConfig(endpoints={f"POST {PATH}": EndpointFaults(script=("throttle",))})
    client, recording = connect(faults)
    profile_id = sandbox.profiles[0]
    item = client.list_keywords(profile_id)[0]
    assert client.bid_suggestions(profile_id, [item]) == model_suggestions(sandbox, [item])
    assert recording.attempts == 2
    assert clock.sleeps and clock.sleeps[-1] >= 1.0


def test_a_refused_request_raises(sandbox: Sandbox, connect: Connect) -> None:
    """An ad group outside its campaign is a 400: ApiError with the sandbox's reason, no retry."""
    client, recording = connect()
    profile_id = sandbox.profiles[0]
    item = replace(client.list_keywords(profile_id)[0], campaign_id="1")
    with pytest.raises(ApiError) as caught:
        client.bid_suggestions(profile_id, [item])
    assert caught.value.status == 400
    assert f"campaignId 1 not found in profile {profile_id}" in str(caught.value)
    assert recording.attempts == 1


# Against hand-written answers --------------------------------------------------------------


def recommendations(*themes: tuple[str, list[Any]]) -> dict[str, Any]:
    return {
        "bidRecommendations": [
            {"theme": name, "bidRecommendationsForTargetingExpressions": items, "impactMetrics": {}}
            for name, items in themes
        ]
    }


def item(expression: dict[str, Any], *bids: Any) -> dict[str, Any]:
    return {"targetingExpression": expression, "bidValues": [{"suggestedBid": b} for b in bids]}


EXACT = {"type": "KEYWORD_EXACT_MATCH", "value": "yoga mat"}
KW = keyword("yoga mat", "exact", target_id="5")


def mock_client(make_client: Callable[..., tuple[AdsClient, Api]], body: Any) -> AdsClient:
    client, _ = make_client(lambda request: reply(200, body, {"content-type": MEDIA}))
    return client


def test_the_conversion_theme_is_preferred(make_client: Callable[..., Any]) -> None:
    """CONVERSION_OPPORTUNITIES is read even when another theme comes first; money is Decimal."""
    body = recommendations(
        ("PRIME_DAY", [item(EXACT, 1.0, 2.0, 3.0)]),
        ("CONVERSION_OPPORTUNITIES", [item({**EXACT, "value": "Yoga Mat"}, 0.61, 0.82, 1.13)]),
    )
    assert mock_client(make_client, body).bid_suggestions("1", [KW]) == [
        BidSuggestion("keyword", "5", Decimal("0.61"), Decimal("0.82"), Decimal("1.13"))
    ]


def test_without_the_conversion_theme_the_first_is_read(make_client: Callable[..., Any]) -> None:
    """An answer with other themes only takes the first one; an expression not answered is
    left out."""
    body = recommendations(("PRIME_DAY", [item(EXACT, 1, 2, 3)]), ("OTHER", [item(EXACT, 4, 5, 6)]))
    other = keyword("another term", "exact", target_id="6")
    assert mock_client(make_client, body).bid_suggestions("1", [KW, other]) == [
        BidSuggestion("keyword", "5", Decimal("1"), Decimal("2"), Decimal("3"))
    ]


def test_fewer_values_map_to_part_of_the_range(make_client: Callable[..., Any]) -> None:
    """Two bidValues are low and high, one is the median, none leaves the target out; the
    missing parts are None."""
    others = [keyword(text, "exact", target_id=str(i)) for i, text in [(6, "a"), (7, "b"), (8, "c")]]  # fmt: skip
    body = recommendations(
        (
            "CONVERSION_OPPORTUNITIES",
            [
                item(EXACT, 0.5, 0.6, 0.9),
                item({**EXACT, "value": "a"}, 0.4, 0.8),
                item({**EXACT, "value": "b"}, 0.7),
                item({**EXACT, "value": "c"}),
            ],
        )
    )
    assert mock_client(make_client, body).bid_suggestions("1", [KW, *others]) == [
        BidSuggestion("keyword", "5", Decimal("0.5"), Decimal("0.6"), Decimal("0.9")),
        BidSuggestion("keyword", "6", Decimal("0.4"), None, Decimal("0.8")),
        BidSuggestion("keyword", "7", None, Decimal("0.7"), None),
    ]


GROUP = "POST /sp/targets/bid/recommendations: ad group 22 (campaign 11)"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "response has no 'bidRecommendations' list"),
        ([], "response has no 'bidRecommendations' list"),
        ({"bidRecommendations": [1]}, "a 'bidRecommendations' entry is not an object"),
        (
            {"bidRecommendations": [{"theme": "CONVERSION_OPPORTUNITIES"}]},
            "theme 'CONVERSION_OPPORTUNITIES' has no 'bidRecommendationsForTargetingExpressions' list",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [{"bidValues": []}])),
            "recommendation 0 has no 'targetingExpression' with a type",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [item(EXACT, 0.5, 0.6, 0.7, 0.8)])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): expected 0 to 3 bidValues, got 4",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [{"targetingExpression": EXACT}])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): expected 0 to 3 bidValues, "
            "got no list of",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [item(EXACT, 0.5, "0.6", 0.7)])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): suggestedBid is not a number: '0.6'",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [item(EXACT, 0.5, None, 0.7)])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): suggestedBid is not a number: None",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [item(EXACT, 0, 0.6, 0.7)])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): suggestedBid is not positive: 0",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [item(EXACT, 0.9, 0.6, 0.7)])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): bidValues not in ascending "
            "order: [Decimal('0.9'), Decimal('0.6'), Decimal('0.7')]",
        ),
        (
            recommendations(("CONVERSION_OPPORTUNITIES", [item(EXACT, 0.7, 0.6)])),
            "recommendation 0 (KEYWORD_EXACT_MATCH yoga mat): bidValues not in ascending "
            "order: [Decimal('0.7'), Decimal('0.6')]",
        ),
    ],
)
def test_a_malformed_answer_names_the_ad_group(
    make_client: Callable[..., Any], body: Any, problem: str
) -> None:
    """Missing keys, more than three values, non-numbers and disorder raise ApiError, never
    KeyError."""
    with pytest.raises(ApiError) as caught:
        mock_client(make_client, body).bid_suggestions("1", [KW])
    assert str(caught.value) == f"{GROUP}: {problem}"


def test_a_non_json_answer_names_the_ad_group(make_client: Callable[..., Any]) -> None:
    """A 200 whose body is not JSON raises ApiError naming the ad group."""
    client, _ = make_client(lambda request: httpx.Response(200, content=b"<html>"))
    with pytest.raises(ApiError) as caught:
        client.bid_suggestions("1", [KW])
    assert str(caught.value) == f"{GROUP}: response is not JSON"


def test_headers_and_media_type(make_client: Callable[..., Any]) -> None:
    """The call carries the vendor media type both ways and the profile scope."""
    client, api = make_client(
        lambda request: reply(200, recommendations(("CONVERSION_OPPORTUNITIES", [])))
    )
    assert client.bid_suggestions("123", [KW]) == []
    (request,) = api.requests
    assert (request.method, request.url.path) == ("POST", PATH)
    assert {
        name: request.headers[name]
        for name in ("Content-Type", "Accept", "Amazon-Advertising-API-Scope")
    } == {"Content-Type": MEDIA, "Accept": MEDIA, "Amazon-Advertising-API-Scope": "123"}
