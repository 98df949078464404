"""The review queue's listings (store/review_queue.py) on SQLite and PostgreSQL: filters, sorts,
pages, groups, an item's campaign and its changes counted by status, all in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bidagent.store import (
    AdGroupRecord,
    CampaignRecord,
    ChangeRecord,
    ProfileRecord,
    ReviewItemRecord,
    TargetRecord,
    session_scope,
)
from bidagent.store.review_queue import (
    SEVERAL_CAMPAIGNS,
    ItemFilter,
    ItemGroup,
    campaign_names,
    change_status_counts_by_item,
    count_items,
    group_items,
    item_campaigns,
    page_items,
)

NOW = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def _world(engine: Engine) -> dict[str, int]:
    """Six items: a batch over two campaigns, a one-campaign approval that recurred, a campaign
    item, a conflict about a synced target, an alert with no campaign, and a closed item."""
    with session_scope(engine) as session:
        session.add(ProfileRecord(profile_id="p1", country_code="US", currency_code="USD",
                                  timezone="UTC", marketplace_id="ATVPDKIKX0DER", synced_at=NOW))  # fmt: skip
        session.flush()
        for cid, name in (("c1", "Shoes"), ("c2", "Hats"), ("c3", "Socks")):
            session.add(CampaignRecord(campaign_id=cid, profile_id="p1", name=name, state="enabled",
                                       targeting_type="manual", synced_at=NOW))  # fmt: skip
        session.flush()

        def item(key: str, **fields: object) -> int:
            values: dict[str, object] = {
                "kind": "approval", "severity": "warning", "profile_id": "p1",
                "rule_name": "cut", "summary": f"item {key}", "dedupe_key": key,
                "first_seen_at": NOW, "last_seen_at": NOW, **fields,
            }  # fmt: skip
            row = ReviewItemRecord(**values)  # type: ignore[arg-type]
            session.add(row)
            session.flush()
            return row.id or 0

        def change(item_id: int, status: str, campaign: str | None) -> None:
            session.add(ChangeRecord(profile_id="p1", entity_kind="keyword", entity_id="kw",
                                     campaign_id=campaign, field="bid", status=status,
                                     review_item_id=item_id, created_at=NOW, updated_at=NOW))  # fmt: skip

        ids = {
            "batch": item("batch", kind="guardrail", severity="critical"),
            "recurred": item("recurred", entity_kind="keyword", entity_id="kw1",
                             entity_name="red shoes", last_seen_at=NOW + timedelta(days=2)),
            "campaign": item("campaign", entity_kind="campaign", entity_id="c3", severity="info"),
            "conflict": item("conflict", kind="conflict", entity_kind="keyword", entity_id="kw9"),
            "alert": item("alert", kind="alert", rule_name=None, summary="spend spike",
                          severity="critical"),
            "closed": item("closed", status="rejected"),
        }  # fmt: skip
        for campaign in ("c1", "c2", "c1"):
            change(ids["batch"], "held", campaign)
        change(ids["recurred"], "superseded", "c1")
        change(ids["recurred"], "held", "c1")
        change(ids["closed"], "rejected", "c2")
        session.add(AdGroupRecord(ad_group_id="g1", profile_id="p1", campaign_id="c2",
                                  name="Hats 1", state="enabled", synced_at=NOW))  # fmt: skip
        session.flush()
        session.add(TargetRecord(kind="keyword", target_id="kw9", profile_id="p1", campaign_id="c2",
                                 ad_group_id="g1", state="enabled", match_type="exact",
                                 synced_at=NOW))  # fmt: skip
    return ids


def test_an_items_campaign_and_its_changes_by_status(engine: Engine) -> None:
    """An item's campaign comes from its entity, its changes or the synced target; its changes
    are counted by status."""
    ids = _world(engine)
    with Session(engine) as session:
        campaigns = item_campaigns(session, list(ids.values()))
        counts = change_status_counts_by_item(session, list(ids.values()))
        names = campaign_names(session, ["c1", "c3", SEVERAL_CAMPAIGNS, "nope"])
    assert campaigns == {
        ids["batch"]: SEVERAL_CAMPAIGNS, ids["recurred"]: "c1", ids["campaign"]: "c3",
        ids["conflict"]: "c2", ids["alert"]: None, ids["closed"]: "c2",
    }  # fmt: skip
    assert counts == {
        ids["batch"]: {"held": 3}, ids["recurred"]: {"held": 1, "superseded": 1},
        ids["closed"]: {"rejected": 1},
    }  # fmt: skip
    assert names == {"c1": "Shoes", "c3": "Socks"}


def test_filters_sorts_and_pages(engine: Engine) -> None:
    """Open items by default; every filter narrows in SQL; sorts and pages as asked."""
    ids = _world(engine)
    open_ids = [ids[k] for k in ("batch", "recurred", "campaign", "conflict", "alert")]
    with Session(engine) as session:

        def listed(where: ItemFilter = ItemFilter(), **kwargs: object) -> list[int]:
            return [r.item.id or 0 for r in page_items(session, where, limit=50, **kwargs)]  # type: ignore[arg-type]

        assert (count_items(session, ItemFilter()), listed()) == (5, open_ids)
        assert listed(ItemFilter(status=None)) == [*open_ids, ids["closed"]]
        assert listed(sort="newest") == open_ids[::-1]
        assert listed(sort="severity") == [ids["batch"], ids["alert"], ids["recurred"],
                                           ids["conflict"], ids["campaign"]]  # fmt: skip
        assert listed(sort="last_seen")[0] == ids["recurred"]
        assert listed(offset=3) == open_ids[3:]
        assert listed(ItemFilter(campaign_id="c2")) == [ids["conflict"]]
        assert listed(ItemFilter(campaign_id="")) == [ids["alert"]]
        assert listed(ItemFilter(campaign_id=SEVERAL_CAMPAIGNS)) == [ids["batch"]]
        assert listed(ItemFilter(rule="")) == [ids["alert"]]
        assert listed(ItemFilter(kind="conflict", severity="warning")) == [ids["conflict"]]
        assert listed(ItemFilter(text="RED SH")) == [ids["recurred"]]
        assert listed(ItemFilter(text="100%_")) == []
        assert count_items(session, ItemFilter(campaign_id="c1")) == 1
        (row,) = page_items(session, ItemFilter(campaign_id="c1"), limit=1)
        assert (row.campaign_id, row.change_counts, row.change_count) == (
            "c1", {"held": 1, "superseded": 1}, 2,
        )  # fmt: skip


def test_groups_count_every_item(engine: Engine) -> None:
    """Each grouping counts the matching items, largest first (severities critical first)."""
    _world(engine)
    with Session(engine) as session:
        assert group_items(session, ItemFilter(), "kind") == [
            ItemGroup("approval", 2), ItemGroup("alert", 1), ItemGroup("conflict", 1),
            ItemGroup("guardrail", 1),
        ]  # fmt: skip
        assert group_items(session, ItemFilter(), "rule") == [
            ItemGroup("cut", 4),
            ItemGroup(None, 1),
        ]
        assert group_items(session, ItemFilter(), "severity") == [
            ItemGroup("critical", 2), ItemGroup("warning", 2), ItemGroup("info", 1),
        ]  # fmt: skip
        assert group_items(session, ItemFilter(), "campaign") == [
            ItemGroup(SEVERAL_CAMPAIGNS, 1), ItemGroup("c1", 1), ItemGroup("c2", 1),
            ItemGroup("c3", 1), ItemGroup(None, 1),
        ]  # fmt: skip
        assert group_items(session, ItemFilter(kind="approval"), "campaign") == [
            ItemGroup("c1", 1), ItemGroup("c3", 1),
        ]  # fmt: skip
