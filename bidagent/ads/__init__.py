"""The Amazon Ads API boundary: auth (LWA), SP v3 entities, reporting v3, errors and retries.

Nothing else in bidagent speaks HTTP to Amazon. The engine never imports this package; the agent
does, through :class:`AdsClient`. Errors raised are those of :mod:`bidagent.errors`
(``AdsError`` → ``AuthError``, ``ThrottledError``, ``ApiError``, ``MalformedResponse``,
``ReportFailed``, ``ReportTimeout``).
"""

from bidagent.ads.client import AdsClient
from bidagent.ads.ids import normalise_id
from bidagent.ads.models import (
    AdGroup,
    Campaign,
    EntityUpdate,
    ItemResult,
    Negative,
    Profile,
    Target,
)
from bidagent.ads.report_rows import parse_report
from bidagent.ads.reports import split_range
from bidagent.ads.suggestions import BidSuggestion

__all__ = [
    "AdGroup",
    "AdsClient",
    "BidSuggestion",
    "Campaign",
    "EntityUpdate",
    "ItemResult",
    "Negative",
    "Profile",
    "Target",
    "normalise_id",
    "parse_report",
    "split_range",
]
