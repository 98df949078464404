"""Change rows to client calls: each row maps to one Update or Create, and dispatch follows it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

import pytest

from bidagent.ads import EntityUpdate
from bidagent.agent.cycle.change_requests import api_call, change_request, live_value
from bidagent.store import ChangeRecord
from bidagent.vocabulary import Archive, Create, Update


def _row(entity_kind: str, field: str, **more: Any) -> ChangeRecord:
    return ChangeRecord(
        id=7, profile_id="p1", entity_kind=entity_kind, entity_id="e1", field=field, **more
    )


_NEGATIVE = {
    "campaign_id": "c1",
    "ad_group_id": "g1",
    "keyword_text": "cheap",
    "match_type": "EXACT",
}
# The payloads the engine writes for an ASIN search term's product target and negative target.
_PRODUCT = {"asin": "b0abcdefgh", "bid": "0.55", "campaign_id": "c2", "ad_group_id": "g2"}
_ASIN_NEGATIVE = {
    "asin": "b0abcdefgh",
    "level": "ad_group",
    "campaign_id": "c1",
    "ad_group_id": "g1",
}


@pytest.mark.parametrize(
    ("row", "call"),
    [
        (_row("keyword", "bid"), Update("keyword")),
        (_row("product_target", "state"), Update("product_target")),
        (_row("campaign", "budget"), Update("campaign")),
        (_row("ad_group", "default_bid"), Update("ad_group")),
        (_row("search_term", "negative_keyword", payload=_NEGATIVE), Create("negative_keyword")),
        (_row("search_term", "negative_keyword", payload={**_NEGATIVE, "level": "campaign"}),
         Create("campaign_negative_keyword")),
        (_row("search_term", "keyword", payload={**_NEGATIVE, "bid": "0.50"}), Create("keyword")),
        (_row("search_term", "product_target", payload=_PRODUCT), Create("product_target")),
        (_row("search_term", "negative_target", payload=_ASIN_NEGATIVE), Create("negative_target")),
        (_row("search_term", "negative_target", payload={**_ASIN_NEGATIVE, "level": "campaign"}),
         Create("campaign_negative_target")),
        (_row("search_term", "negative_target", payload={**_ASIN_NEGATIVE, "level": None}),
         Create("negative_target")),
        (_row("negative_target", "state", new_value="archived"), Archive("negative_target")),
        (_row("campaign_negative_target", "state", new_value="archived"),
         Archive("campaign_negative_target")),
        (_row("product_target", "state", new_value="archived"), Archive("product_target")),
    ],
)  # fmt: skip
def test_each_row_maps_to_one_api_call(row: ChangeRecord, call: Update | Create | Archive) -> None:
    """Updates carry the entity's kind; negatives and harvests are creations at the payload's
    level; archiving a created entity is an archive of its kind."""
    assert api_call(row) == call


def test_a_row_that_is_neither_an_update_nor_a_creation_is_refused() -> None:
    """A search term's state cannot be updated: the message names the change."""
    with pytest.raises(ValueError, match="change 7: cannot update a search_term"):
        api_call(_row("search_term", "state"))


def test_change_request_follows_the_call() -> None:
    """An update becomes an EntityUpdate; a campaign-level creation drops the ad group."""
    assert change_request(_row("keyword", "bid", new_value="0.45")) == EntityUpdate(
        entity_id="e1", bid=Decimal("0.45")
    )
    row = _row("search_term", "negative_keyword", payload={**_NEGATIVE, "level": "campaign"})
    assert change_request(row) == {
        "campaign_id": "c1", "keyword_text": "cheap", "match_type": "exact", "state": "enabled",
    }  # fmt: skip


def test_asin_creations_become_asin_same_as_items() -> None:
    """A product target carries its bid, a negative target none; the ASIN goes in capitals and a
    campaign-level negative target drops the ad group."""
    product = change_request(_row("search_term", "product_target", payload=_PRODUCT))
    negative = change_request(_row("search_term", "negative_target", payload=_ASIN_NEGATIVE))
    campaign = change_request(
        _row("search_term", "negative_target", payload={**_ASIN_NEGATIVE, "level": "campaign"})
    )
    expression = [{"type": "asinSameAs", "value": "B0ABCDEFGH"}]
    assert [product, negative, campaign] == [
        {"campaign_id": "c2", "ad_group_id": "g2", "expression": expression,
         "bid": Decimal("0.55"), "state": "enabled"},
        {"campaign_id": "c1", "ad_group_id": "g1", "expression": expression, "state": "enabled"},
        {"campaign_id": "c1", "expression": expression, "state": "enabled"},
    ]  # fmt: skip


class _Client:
    """Records which read each call dispatches to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def get_current(self, profile_id: str, kind: str, ids: Sequence[str]) -> dict[str, Any]:
        self.calls.append(("get_current", kind))
        return {"e1": {"bid": "0.450"}}

    def find_existing(
        self, profile_id: str, kind: str, items: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any] | None]:
        self.calls.append(("find_existing", kind))
        return [{"entity_id": "n9"}]


def test_live_value_dispatches_on_the_call() -> None:
    """Update reads current values by id; Create looks the created entity up by its text."""
    client = _Client()
    update = live_value(cast(Any, client), "p1", Update("keyword"), [
        _row("keyword", "bid", old_value="1.00", new_value="0.45")
    ])  # fmt: skip
    create = live_value(cast(Any, client), "p1", Create("negative_keyword"), [
        _row("search_term", "negative_keyword", payload=_NEGATIVE)
    ])  # fmt: skip
    assert client.calls == [("get_current", "keyword"), ("find_existing", "negative_keyword")]
    assert [(v.text, v.matches_new, v.matches_old, v.remote_id) for v in update + create if v] == [
        ("0.450", True, False, None),
        ("exists", True, False, "n9"),
    ]
