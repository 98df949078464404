"""Field checks Amazon applies to any SP v3 write: bids, states and daily budgets.

Owns the per-field rules shared by creates and updates: a bid is a number inside the marketplace
range and not above its campaign's budget; a state is ENABLED, PAUSED or PROPOSED (ARCHIVED only
through ``/delete``); a budget is DAILY, inside the marketplace range and not below the bids it
funds. Each refusal is an :class:`~bidagent.sandbox.sp_batch.ItemError` with Amazon's reason and
location. Split from :mod:`bidagent.sandbox.sp_write`. It must not write storage or build answers.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from bidagent.marketplaces import Marketplace
from bidagent.sandbox.sp_batch import ItemError, fetch

__all__ = ["campaign_budget", "check_bid", "check_budget", "check_state"]

WRITABLE_STATES = ("ENABLED", "PAUSED", "PROPOSED")


def check_bid(value: Any, market: Marketplace, location: str, budget: float | None) -> float:
    """A bid as Amazon checks it: a number inside the marketplace range, not above the budget."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemError(
            "malformedValueError",
            "PATTERN_NOT_MATCHED",
            "bid must be a number",
            cause={"location": location, "trigger": json.dumps(value)},
        )
    if not market.min_bid <= Decimal(repr(float(value))) <= market.max_bid:
        raise ItemError(
            "biddingError",
            "BID_OUT_OF_MARKET_PLACE_RANGE",
            f"Bid must be between {market.min_bid} and {market.max_bid}",
            lowerLimit=str(market.min_bid),
            upperLimit=str(market.max_bid),
            marketplace=market.country_code,
            cause={"location": location, "trigger": str(value)},
        )
    if budget is not None and float(value) > budget:
        raise ItemError(
            "biddingError",
            "BID_GT_BUDGET",
            "Bid cannot be greater than the budget",
            upperLimit=str(budget),
            cause={"location": location, "trigger": str(value)},
        )
    return float(value)


def check_state(value: Any, location: str) -> str:
    """A writable state (ENABLED, PAUSED, PROPOSED); ARCHIVED only through ``/delete``."""
    if value not in WRITABLE_STATES:
        raise ItemError(
            "rangeError",
            "INVALID_ENUM_VALUE",
            f"Invalid state {value!r}",
            allowed=list(WRITABLE_STATES),
            cause={"location": location, "trigger": str(value)},
        )
    return str(value)


def campaign_budget(
    conn: sqlite3.Connection, profile_id: str, campaign_id: str | None
) -> float | None:
    """The daily budget of a campaign (``None`` if unknown)."""
    row = fetch(conn, profile_id, "campaign", campaign_id or "")
    return None if row is None else float(row["budget"])


def check_budget(
    conn: sqlite3.Connection, row: Any, value: Any, market: Marketplace, location: str
) -> float:
    """A campaign's new daily budget as Amazon checks it (``row`` is the stored campaign)."""
    if not isinstance(value, dict) or "budget" not in value or "budgetType" not in value:
        raise ItemError(
            "missingValueError",
            "MISSING_VALUE",
            "budget needs budget and budgetType",
            cause={"location": location},
        )
    if value["budgetType"] != "DAILY":
        raise ItemError(
            "rangeError",
            "INVALID_ENUM_VALUE",
            "budgetType must be DAILY",
            allowed=["DAILY"],
            cause={"location": location + ".budgetType"},
        )
    amount = value["budget"]
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise ItemError(
            "malformedValueError",
            "PATTERN_NOT_MATCHED",
            "budget must be a number",
            cause={"location": location + ".budget"},
        )
    if not market.min_budget <= Decimal(repr(float(amount))) <= market.max_budget:
        raise ItemError(
            "budgetError",
            "BUDGET_OUT_OF_MARKET_PLACE_RANGE",
            f"Budget must be between {market.min_budget} and {market.max_budget}",
            lowerLimit=str(market.min_budget),
            upperLimit=str(market.max_budget),
            cause={"location": location + ".budget", "trigger": str(amount)},
        )
    top = conn.execute(
        "SELECT MAX(bid) FROM entities WHERE profile_id = ? AND campaign_id = ? "
        "AND kind IN ('keyword', 'target', 'ad_group') AND state != 'ARCHIVED'",
        (row["profile_id"], row["entity_id"]),
    ).fetchone()[0]
    if top is not None and float(amount) < top:
        raise ItemError(
            "budgetError",
            "BUDGET_LT_KEYWORD_BIDS",
            "Budget cannot be lower than existing bids",
            lowerLimit=str(top),
            cause={"location": location + ".budget", "trigger": str(amount)},
        )
    return float(amount)
