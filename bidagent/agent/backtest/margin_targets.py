"""Target ACoS per campaign from product margins, as an operator who knows their margins sets it.

A seller knows what each product earns: its margin is the break-even ACoS, the ACoS at which an
ad-driven sale makes nothing. One flat target ACoS for every product over-spends on thin-margin
products and under-spends on rich ones, so operators set each campaign's target ACoS
(``campaign_target_acos`` in a profile's settings) to a fraction of its products' margin. This
module does the same for a backtest: it reads the margins the sandbox's seller has on file (the
price and margin each product ad carries, which are the seller's own figures, not hidden truths
of the market) and builds the profile settings a backtest arm runs with.

It must not read the oracle's hidden truths (CVR, competitors' bids, volume) and must not write
anything.
"""

from __future__ import annotations

import json
from collections import defaultdict

from bidagent.errors import AgentError
from bidagent.sandbox import Sandbox
from bidagent.settings import ProfileSettings

__all__ = ["margin_target_profile", "margin_targets"]

# Target ACoS stays inside the settings' own bounds (> 0, <= 10); a floor keeps a product listed
# at a zero margin from getting a target that no bid could meet.
_MIN_TARGET = 0.01


def margin_targets(box: Sandbox, profile_id: str, fraction: float) -> dict[str, float]:
    """Campaign id -> ``fraction`` x the mean margin of the products the campaign advertises.

    Campaigns without a product ad on file get no entry, so they keep the profile's target ACoS.
    """
    if not 0 < fraction <= 10:
        raise AgentError(f"margin target fraction must be in (0, 10], not {fraction}")
    margins: dict[str, list[float]] = defaultdict(list)
    rows = box.store.query(
        "SELECT campaign_id, data FROM entities WHERE kind = 'product_ad' AND profile_id = ?",
        (profile_id,),
    )
    for row in rows:
        margin = json.loads(row["data"] or "{}").get("margin")
        if margin is not None:
            margins[str(row["campaign_id"])].append(float(margin))
    return {
        campaign: round(max(fraction * sum(values) / len(values), _MIN_TARGET), 4)
        for campaign, values in sorted(margins.items())
    }


def margin_target_profile(box: Sandbox, profile_id: str, fraction: float) -> ProfileSettings:
    """The profile settings of an operator who set every campaign's target ACoS from its margin."""
    return ProfileSettings(
        profile_id=profile_id, campaign_target_acos=margin_targets(box, profile_id, fraction)
    )
