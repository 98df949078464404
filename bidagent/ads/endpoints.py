"""Where the Amazon Ads API lives: regional hosts, LWA token URLs, and the SP v3 entity table.

Owns the facts of digest §1.2, §2.2, §3.1 and §5.4 as data, so the rest of ``ads`` never spells a path,
a media type or a body key twice. It must not perform I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bidagent.vocabulary import EntityKind

__all__ = [
    "API_HOSTS",
    "BID_RECOMMENDATION_MEDIA_TYPE",
    "BID_RECOMMENDATION_PATH",
    "ENTITY_SPECS",
    "REPORT_CREATED_MEDIA_TYPE",
    "REPORT_CREATE_MEDIA_TYPE",
    "REPORT_STATUS_MEDIA_TYPE",
    "TOKEN_URLS",
    "EntityKind",
    "EntitySpec",
]

Region = Literal["NA", "EU", "FE"]

API_HOSTS: dict[str, str] = {
    "NA": "https://advertising-api.amazon.com",
    "EU": "https://advertising-api-eu.amazon.com",
    "FE": "https://advertising-api-fe.amazon.com",
}

TOKEN_URLS: dict[str, str] = {
    "NA": "https://api.amazon.com/auth/o2/token",
    "EU": "https://api.amazon.co.uk/auth/o2/token",
    "FE": "https://api.amazon.co.jp/auth/o2/token",
}

REPORT_CREATE_MEDIA_TYPE = "application/vnd.createasyncreportrequest.v3+json"
# The create call answers in its own type: sending the request type as Accept is not documented.
REPORT_CREATED_MEDIA_TYPE = "application/vnd.createasyncreportresponse.v3+json"
REPORT_STATUS_MEDIA_TYPE = "application/vnd.getasyncreportresponse.v3+json"
# Theme-based bid recommendations (digest §5.4); v3 is deprecated, v5 only adds includeAnalysis.
BID_RECOMMENDATION_PATH = "/sp/targets/bid/recommendations"
BID_RECOMMENDATION_MEDIA_TYPE = "application/vnd.spthemebasedbidrecommendation.v4+json"


@dataclass(frozen=True)
class EntitySpec:
    """How one SP v3 entity type is addressed.

    ``id_field`` is the id inside the entity object; ``success_id_key`` the id key of a 207 success
    item, which differs for negative keywords (``negativeKeywordId`` vs the entity's ``keywordId``)
    and campaign negative targets (``campaignNegativeTargetingClauseId`` vs ``targetId``).
    """

    kind: EntityKind
    path: str
    media_type: str
    body_key: str
    id_field: str
    id_filter: str
    success_id_key: str
    entity_key: str
    # Maximum ids per parent filter (campaignIdFilter/adGroupIdFilter); the own-id filter takes 1000.
    parent_filter_max: int = 100


ENTITY_SPECS: dict[str, EntitySpec] = {
    spec.kind: spec
    for spec in (
        EntitySpec(
            "campaign",
            "/sp/campaigns",
            "application/vnd.spCampaign.v3+json",
            "campaigns",
            "campaignId",
            "campaignIdFilter",
            "campaignId",
            "campaign",
        ),
        EntitySpec(
            "ad_group",
            "/sp/adGroups",
            "application/vnd.spAdGroup.v3+json",
            "adGroups",
            "adGroupId",
            "adGroupIdFilter",
            "adGroupId",
            "adGroup",
        ),
        EntitySpec(
            "keyword",
            "/sp/keywords",
            "application/vnd.spKeyword.v3+json",
            "keywords",
            "keywordId",
            "keywordIdFilter",
            "keywordId",
            "keyword",
        ),
        EntitySpec(
            "product_target",
            "/sp/targets",
            "application/vnd.spTargetingClause.v3+json",
            "targetingClauses",
            "targetId",
            "targetIdFilter",
            "targetId",
            "targetingClause",
        ),
        EntitySpec(
            "negative_keyword",
            "/sp/negativeKeywords",
            "application/vnd.spNegativeKeyword.v3+json",
            "negativeKeywords",
            "keywordId",
            "negativeKeywordIdFilter",
            "negativeKeywordId",
            "negativeKeyword",
        ),
        EntitySpec(
            "campaign_negative_keyword",
            "/sp/campaignNegativeKeywords",
            "application/vnd.spCampaignNegativeKeyword.v3+json",
            "campaignNegativeKeywords",
            "keywordId",
            "campaignNegativeKeywordIdFilter",
            "campaignNegativeKeywordId",
            "campaignNegativeKeyword",
        ),
        EntitySpec(
            "negative_target",
            "/sp/negativeTargets",
            "application/vnd.spNegativeTargetingClause.v3+json",
            "negativeTargetingClauses",
            "targetId",
            "negativeTargetIdFilter",
            "targetId",
            "negativeTargetingClause",
        ),
        EntitySpec(
            "campaign_negative_target",
            "/sp/campaignNegativeTargets",
            "application/vnd.spCampaignNegativeTargetingClause.v3+json",
            "campaignNegativeTargetingClauses",
            "targetId",
            "campaignNegativeTargetIdFilter",
            "campaignNegativeTargetingClauseId",
            # sic: the 207 success item of this one entity names its object in the plural
            "campaignNegativeTargetingClauses",
        ),
    )
}
