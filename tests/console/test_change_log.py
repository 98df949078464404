"""The console's change log: each filter keeps exactly the ledger rows it names, rows carry
their campaign, ad group, keyword or target and % step, and paging walks every row once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bidagent.store import AdGroupRecord, CampaignRecord, ChangeRecord, TargetRecord
from tests.console.conftest import ConsoleWorld, sign_in


def _all(world: ConsoleWorld) -> list[ChangeRecord]:
    with Session(world.agent.engine) as session:
        return list(session.exec(select(ChangeRecord)))


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="change-row" data-change-id="(\d+)"', html)]


def _count(html: str) -> str:
    match = re.search(r'data-testid="change-count">([^<]*)<', html)
    assert match is not None
    return match.group(1)


@pytest.fixture
def viewer(console: Callable[..., TestClient], people: dict[str, str]) -> TestClient:
    client = console()
    sign_in(client, "viewer")
    return client


def test_the_unfiltered_log_is_newest_first_with_the_total(
    viewer: TestClient, console_world: ConsoleWorld
) -> None:
    """No filter: the first 50 changes by id, newest first, and "rows 1–50 of M"."""
    rows = sorted(_all(console_world), key=lambda c: c.id or 0, reverse=True)
    html = viewer.get("/changes").text
    assert _ids(html) == [c.id for c in rows[:50]]
    assert _count(html) == f"rows 1–50 of {len(rows):,}"


@pytest.mark.parametrize(
    ("param", "pick"),
    [
        ("campaign", lambda c: c.campaign_id),
        ("ad_group", lambda c: c.ad_group_id),
        ("rule", lambda c: c.rule_name),
        ("field", lambda c: c.field),
        ("status", lambda c: c.status),
        ("actor", lambda c: c.actor),
        ("profile", lambda c: c.profile_id),
    ],
)
def test_each_filter_keeps_exactly_its_rows(
    viewer: TestClient, console_world: ConsoleWorld, param: str, pick: Callable[..., str | None]
) -> None:
    """Filtering by one value of a column lists exactly the ledger's changes with that value."""
    rows = _all(console_world)
    value = pick(max(rows, key=lambda c: c.id or 0))
    assert value is not None
    expected = sorted(
        (c.id for c in rows
         if pick(c) == value or (param in ("campaign", "ad_group") and c.entity_id == value
                                  and c.entity_kind == param)),
        reverse=True,
    )  # fmt: skip
    html = viewer.get("/changes", params={param: value, "limit": 500}).text
    assert _ids(html) == expected
    assert _count(html) == f"rows 1–{len(expected)} of {len(expected)}"


def test_date_range_and_text_filters(viewer: TestClient, console_world: ConsoleWorld) -> None:
    """``from``/``until`` keep the changes written on those UTC days; ``q`` matches a rule's
    name case-insensitively; nothing matching says so."""
    rows = _all(console_world)
    day = min(c.created_at for c in rows if c.created_at).date()
    start = datetime.combine(day, time(0), tzinfo=UTC)
    on_day = sorted((c.id for c in rows if start <= c.created_at < start + timedelta(days=1)),
                    reverse=True)  # fmt: skip
    html = viewer.get("/changes", params={"from": day.isoformat(), "until": day.isoformat(),
                                          "limit": 500}).text  # fmt: skip
    assert _ids(html) == on_day and 0 < len(on_day) < len(rows)
    rule = next(c.rule_name for c in rows if c.rule_name)
    matched = sorted((c.id for c in rows if rule in (c.rule_name or "") or rule in (c.reason or "")
                      or rule in (c.entity_name or "")), reverse=True)  # fmt: skip
    assert _ids(viewer.get("/changes", params={"q": rule.upper(), "limit": 500}).text) == matched
    empty = viewer.get("/changes", params={"q": "no such text anywhere"}).text
    assert _ids(empty) == [] and 'data-testid="no-changes"' in empty
    assert viewer.get("/changes", params={"from": "", "until": ""}).status_code == 200
    bad = viewer.get("/changes", params={"from": "yesterday"})
    assert bad.status_code == 422


def test_paging_walks_every_row_once(viewer: TestClient, console_world: ConsoleWorld) -> None:
    """Following "older" from the first page visits every change once, newest first, each page
    saying where it is."""
    total = len(_all(console_world))
    seen: list[int] = []
    url: str | None = "/changes?limit=40"
    while url is not None:
        html = viewer.get(url).text
        ids = _ids(html)
        assert _count(html) == f"rows {len(seen) + 1:,}–{len(seen) + len(ids):,} of {total:,}"
        seen += ids
        older = re.search(r'id="page-older" data-testid="page-older"', html)
        link = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#change-table" '
                         r'hx-swap="outerHTML" hx-push-url="true" id="page-older"', html)  # fmt: skip
        url = link.group(1).replace("&amp;", "&") if older and link else None
    assert seen == sorted((c.id or 0 for c in _all(console_world)), reverse=True)


def test_htmx_gets_the_table_alone(viewer: TestClient) -> None:
    """A request htmx sends (the filter form, the pager) gets the table, not the whole page."""
    html = viewer.get("/changes?status=applied", headers={"HX-Request": "true"}).text
    assert html.lstrip().startswith('<section id="change-table"')
    assert "<html" not in html


def test_rows_name_campaign_ad_group_keyword_and_step(
    viewer: TestClient, console_world: ConsoleWorld
) -> None:
    """A keyword bid change's row shows its campaign and ad group names, keyword text, match
    type, old -> new and the step in percent."""
    with Session(console_world.agent.engine) as session:
        change = session.exec(
            select(ChangeRecord)
            .where(ChangeRecord.entity_kind == "keyword", ChangeRecord.field == "bid")
            .order_by(ChangeRecord.id.desc())  # type: ignore[union-attr]
        ).first()
        assert change is not None
        campaign = session.get(CampaignRecord, change.campaign_id)
        group = session.get(AdGroupRecord, change.ad_group_id)
        target = session.get(TargetRecord, ("keyword", change.entity_id))
    assert campaign and group and target and change.old_value and change.new_value
    html = viewer.get(f"/changes?campaign={change.campaign_id}&limit=500").text
    row = re.search(rf'data-change-id="{change.id}".*?</tr>', html, re.S)
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row.group(0), re.S)
    ]
    step = (Decimal(change.new_value) - Decimal(change.old_value)) / Decimal(change.old_value)
    assert cells[2:10] == [
        campaign.name, group.name, target.keyword_text, target.match_type, "bid",
        f"{change.old_value} → {change.new_value}", f"{float(step) * 100:+.1f}%",
        change.rule_name,
    ]  # fmt: skip
