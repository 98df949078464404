"""SP v3 list and update details held to Amazon's spec: servingStatus enums, the ad-group and
campaign list filters, negative-target expression updates, campaign start dates."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bidagent.sandbox import Sandbox
from bidagent.sandbox.entity_specs import SPECS
from bidagent.sandbox.market import EPOCH
from bidagent.sandbox.sandbox import START_DATE
from tests.sandbox.conftest import AmazonCalls

SPEC = Path(__file__).parents[1] / "contract" / "specs" / "SponsoredProducts_prod_3p.json"
AD_GROUP_TYPE = "application/vnd.spAdGroup.v3+json"
CAMPAIGN_TYPE = "application/vnd.spCampaign.v3+json"
NEGATIVE_TARGET_TYPE = "application/vnd.spNegativeTargetingClause.v3+json"
# The spec's servingStatus enum for each entity kind's extendedData.
ENUMS = {
    "campaign": "SponsoredProductsCampaignServingStatus",
    "ad_group": "SponsoredProductsAdGroupServingStatus",
    "product_ad": "SponsoredProductsAdServingStatus",
}


def _enum(name: str) -> set[str]:
    return set(json.loads(SPEC.read_text())["components"]["schemas"][name]["enum"])


def _list(amazon: AmazonCalls, path: str, media: str, **body: Any) -> Any:
    answer = amazon.sp("POST", f"{path}/list", body, media)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("spec", SPECS, ids=[s.kind for s in SPECS])
def test_serving_status_comes_from_the_specs_enum(amazon: AmazonCalls, spec: Any) -> None:
    """Every listed entity's extendedData.servingStatus is a value of its kind's spec enum."""
    items = _list(amazon, spec.path, spec.media_type, includeExtendedDataFields=True)[spec.key]
    allowed = _enum(ENUMS.get(spec.kind, "SponsoredProductsKeywordServingStatus"))
    assert {i["extendedData"]["servingStatus"] for i in items} <= allowed


def test_ad_groups_filter_by_their_campaigns_targeting_type(amazon: AmazonCalls) -> None:
    """campaignTargetingTypeFilter AUTO and MANUAL split the ad groups by their campaign's
    targetingType; another value is a 400."""
    campaigns = _list(amazon, "/sp/campaigns", CAMPAIGN_TYPE)["campaigns"]
    by_type = {c["campaignId"]: c["targetingType"] for c in campaigns}
    every = _list(amazon, "/sp/adGroups", AD_GROUP_TYPE)["adGroups"]
    auto = _list(amazon, "/sp/adGroups", AD_GROUP_TYPE, campaignTargetingTypeFilter="AUTO")
    manual = _list(amazon, "/sp/adGroups", AD_GROUP_TYPE, campaignTargetingTypeFilter="MANUAL")
    bad = amazon.sp(
        "POST", "/sp/adGroups/list", {"campaignTargetingTypeFilter": "X"}, AD_GROUP_TYPE
    )
    expect = {kind: sorted(g["adGroupId"] for g in every if by_type[g["campaignId"]] == kind)
              for kind in ("AUTO", "MANUAL")}  # fmt: skip
    assert sorted(g["adGroupId"] for g in auto["adGroups"]) == expect["AUTO"] != []
    assert sorted(g["adGroupId"] for g in manual["adGroups"]) == expect["MANUAL"] != []
    assert bad.status_code == 400


def test_the_budget_allocation_filter_is_accepted(amazon: AmazonCalls) -> None:
    """marketplaceBudgetAllocationFilter is checked and, as Amazon documents it "not functional
    yet", lists every campaign; a value outside the enum is a 400."""
    every = _list(amazon, "/sp/campaigns", CAMPAIGN_TYPE)["campaigns"]
    body = {"marketplaceBudgetAllocationFilter": {"include": ["MANUAL"]}}
    filtered = _list(amazon, "/sp/campaigns", CAMPAIGN_TYPE, **body)["campaigns"]
    bad = amazon.sp(
        "POST", "/sp/campaigns/list", {"marketplaceBudgetAllocationFilter": {"include": ["X"]}},
        CAMPAIGN_TYPE,
    )  # fmt: skip
    assert filtered == every
    assert bad.status_code == 400


def test_a_negative_targets_expression_can_be_updated(amazon: AmazonCalls) -> None:
    """PUT /sp/negativeTargets with an expression changes it, as the spec's update allows."""
    group = _list(amazon, "/sp/adGroups", AD_GROUP_TYPE)["adGroups"][0]
    old = [{"type": "ASIN_SAME_AS", "value": "B000000001"}]
    new = [{"type": "ASIN_SAME_AS", "value": "B000000002"}]
    created = amazon.sp(
        "POST", "/sp/negativeTargets",
        {"negativeTargetingClauses": [{"campaignId": group["campaignId"],
         "adGroupId": group["adGroupId"], "expression": old, "state": "ENABLED"}]},
        NEGATIVE_TARGET_TYPE,
    )  # fmt: skip
    (made,) = created.json()["negativeTargetingClauses"]["success"]
    target_id = made["targetId"]
    updated = amazon.sp(
        "PUT", "/sp/negativeTargets",
        {"negativeTargetingClauses": [{"targetId": target_id, "expression": new}]},
        NEGATIVE_TARGET_TYPE,
    )  # fmt: skip
    listed = _list(
        amazon, "/sp/negativeTargets", NEGATIVE_TARGET_TYPE,
        negativeTargetIdFilter={"include": [target_id]},
    )["negativeTargetingClauses"]  # fmt: skip
    assert updated.status_code == 207
    assert updated.json()["negativeTargetingClauses"]["error"] == []
    assert [t["expression"] for t in listed] == [new]


def test_campaigns_start_on_or_before_the_first_day_with_data(
    sandbox: Sandbox, amazon: AmazonCalls
) -> None:
    """Every listed campaign's startDate is on or before the first day of simulated history."""
    (first,) = sandbox.store.query("SELECT MIN(day) AS day FROM facts")
    first_day = EPOCH + timedelta(days=first["day"])
    campaigns = _list(amazon, "/sp/campaigns", CAMPAIGN_TYPE)["campaigns"]
    starts = {date.fromisoformat(c["startDate"]) for c in campaigns}
    assert first_day < START_DATE
    assert max(starts) <= first_day
