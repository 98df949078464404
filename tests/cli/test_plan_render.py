"""The plan's text: values as people read them, entity labels and the closing line's totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bidagent.cli.plan_render import closing_line, entity_label, show_value
from bidagent.marketplaces import format_money


def _view(**fields: Any) -> dict[str, Any]:
    base = {
        "profile_id": "p", "action": "change", "campaign_id": "c1", "campaign": "Boards",
        "ad_group_id": None, "ad_group": None, "entity_kind": "campaign", "entity_id": "c1",
        "target": None, "match_type": None, "field": "budget", "old": "50.00", "new": "60.00",
        "step": 0.2, "currency": "USD", "rule": "budget-up", "status": "planned",
    }  # fmt: skip
    return {**base, **fields}


def test_values_read_as_percents_money_and_counts() -> None:
    """Ratios (windowed too) are percents, money is in the currency, counts are whole."""
    assert show_value("acos", 0.391257, "USD") == "39.1%"
    assert show_value("prev_acos_14d", 0.05, "USD") == "5.0%"
    assert show_value("cost_7d", 1234.5, "USD") == "$1,234.50"
    assert show_value("bid", Decimal("138"), "JPY") == "¥138"
    assert show_value("orders", 24.0, "USD") == "24"
    assert show_value("roas", 2.5, "EUR") == "2.5"
    assert format_money(Decimal("-3.1"), "SEK", signed=True) == "-SEK 3.10"


def test_the_closing_line_counts_actions_and_sums_the_daily_budget() -> None:
    """Creations, changes and pauses to send, holds, and the budget moved per currency; held or
    superseded budget changes move nothing."""
    views = [
        _view(),
        _view(old="10.00", new="42.00", entity_id="c2"),
        _view(old="20.00", new="5.00", status="held"),
        _view(action="create", field="negative_keyword", entity_kind="search_term", old=None,
              new=None, step=None),
        _view(action="pause", field="state", old="enabled", new="paused", step=None),
        _view(action="archive", field="state", old="enabled", new="archived", step=None),
        _view(status="superseded"),
    ]  # fmt: skip
    assert closing_line(views, ("planned",)) == (
        "Plan: 1 to create, 2 to change, 1 to pause, 1 to archive; 1 held for review; "
        "daily budget +$42.00"
    )
    # After a cycle, changes still planned were held back by the kill switch.
    assert closing_line(views, ("applied",), lead="Applied", past=True) == (
        "Applied: 0 created, 0 changed, 0 paused; 1 held for review; 0 failed; "
        "5 not sent (kill switch)"
    )


def test_labels_say_what_is_touched_or_created() -> None:
    """A keyword by text and match type, an auto target by its expression, a creation by what
    it adds (an ASIN unquoted)."""
    keyword = _view(entity_kind="keyword", target="mini board", match_type="exact", field="bid")
    auto = _view(entity_kind="product_target", target="close-match",
                 match_type="targeting_expression_predefined", field="bid")  # fmt: skip
    negative = _view(
        action="create", field="negative_keyword", target="free", match_type="negative_exact"
    )
    asin = _view(
        action="create", field="negative_target", target="asin B0ABCDEFGH", match_type=None
    )
    assert [entity_label(v) for v in (keyword, auto, negative, asin)] == [
        'keyword "mini board" exact',
        "auto target close-match",
        'negative keyword "free" negative_exact',
        "negative target asin B0ABCDEFGH",
    ]
