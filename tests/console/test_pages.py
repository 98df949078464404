"""The console's pages over a ledger two real sandbox cycles wrote: the overview's figures and
charts, the kill switch, and a change's page (revert: tests/console/test_revert.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from bidagent.agent.backtest.margin_targets import margin_targets
from bidagent.business_dates import business_date
from bidagent.store import (
    CampaignFactRecord,
    ChangeRecord,
    ControlRecord,
    CycleRecord,
    ProfileRecord,
)
from tests.console.conftest import ConsoleWorld, sign_in, state_of


def _json_block(html: str, element_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html)
    assert match is not None, element_id
    return json.loads(match.group(1))


def _testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match is not None, testid
    return match.group(1).strip()


def _world_facts(world: ConsoleWorld, days: int) -> dict[str, Any]:
    """What the overview should say, computed from the ledger directly."""
    with Session(world.agent.engine) as session:
        cycles = list(session.exec(select(CycleRecord)))
        (profile_id,) = {c.profile_id for c in cycles}
        (profile,) = session.exec(select(ProfileRecord))
        today = business_date(world.agent.now(), profile.timezone)
        start = today - timedelta(days=days - 1)
        facts = list(
            session.exec(
                select(CampaignFactRecord).where(
                    CampaignFactRecord.date >= start, CampaignFactRecord.date <= today
                )
            )
        )
        changed = {
            c.business_date
            for c in cycles
            if session.exec(
                select(func.count()).where(
                    ChangeRecord.cycle_id == c.id, ChangeRecord.status == "applied"
                )
            ).one()
        }
    return {"profile_id": profile_id, "start": start, "today": today, "facts": facts,
            "changed": changed}  # fmt: skip


def test_overview_shows_the_period_figures_and_charts(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """All profiles over 30 days: the tiles sum the synced campaign days, the chart has a column
    per day with markers on the days cycles applied changes, and the profile row shows its last
    cycle."""
    client = console()
    sign_in(client, "viewer")
    html = client.get("/").text
    world = _world_facts(console_world, 30)
    facts = world["facts"]
    spend, sales = sum(f.cost for f in facts), sum(f.sales for f in facts)
    assert _testid(html, "sum-spend") == f"{spend:,.2f}"
    assert _testid(html, "sum-sales") == f"{sales:,.2f}"
    assert _testid(html, "sum-orders") == str(sum(f.orders for f in facts))
    assert _testid(html, "sum-acos") == f"{spend / sales * 100:.1f}%"
    series = _json_block(html, "overview-series")
    assert len(series["days"]) == 30
    by_day = {f.date: 0.0 for f in facts}
    for fact in facts:
        by_day[fact.date] += fact.cost
    assert [s for s in series["spend"] if s is not None] == [
        round(by_day[d], 2) for d in sorted(by_day)
    ]
    marked = {m["day"] for m in series["markers"]}
    assert len(marked) == len(world["changed"]) == 2
    row = re.search(r'data-testid="profile-row" data-profile="(\d+)"', html)
    assert row is not None and row.group(1) == world["profile_id"]
    assert _testid(html, "profile-outcome") == "succeeded"
    assert _testid(html, "profile-data-age") == "1 day"


def test_overview_ranges_and_profile(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """``days`` takes 30, 60 or 90 (anything else reads as 30); one profile's page names it."""
    client = console()
    sign_in(client, "viewer")
    profile_id = _world_facts(console_world, 30)["profile_id"]
    for asked, shown in ((60, 60), (90, 90), (7, 30)):
        html = client.get(f"/?days={asked}&profile={profile_id}").text
        assert len(_json_block(html, "overview-series")["days"]) == shown
    assert "Sandbox Seller US" in client.get(f"/?profile={profile_id}").text


def test_profit_uses_the_sellers_margins(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """On the sandbox, profit is sales x the seller's mean product margin of each campaign minus
    spend, summed over the period."""
    client = console()
    sign_in(client, "viewer")
    world = _world_facts(console_world, 30)
    assert console_world.agent.sandbox is not None
    margins = margin_targets(console_world.agent.sandbox, world["profile_id"], 1.0)
    expected = sum(f.sales * margins[f.campaign_id] - f.cost for f in world["facts"])
    html = client.get("/").text
    assert _testid(html, "sum-profit") == f"{expected:,.2f}"
    assert "Profit is sales × the seller's product margin − spend." in html


def test_without_margins_profit_is_not_shown_and_the_page_says_why(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """Where bidagent knows no margins (a real account), profit is a dash with the reason."""
    client = console()
    state_of(client).margins = None
    sign_in(client, "viewer")
    html = client.get("/").text
    assert _testid(html, "sum-profit") == "–"
    assert "Profit needs product margins, and bidagent knows none" in html
    assert 'id="chart-profit"' not in html


def test_admins_pause_and_resume_through_the_kill_switch(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """An admin's pause is the CLI's: the global switch row names the admin and the reason, the
    banner says paused, /metrics reports it; resume releases it."""
    client = console()
    token = sign_in(client, "admin")
    paused = client.post(
        "/kill-switch", data={"action": "pause", "reason": "promo week", "csrf_token": token}
    )
    assert (paused.status_code, paused.headers["location"]) == (303, "/")
    with Session(console_world.agent.engine) as session:
        row = session.exec(select(ControlRecord)).one()
    assert (row.scope, row.paused, row.reason, row.changed_by) == (
        "global", True, "promo week", "admin",
    )  # fmt: skip
    html = client.get("/").text
    assert 'data-paused="true"' in html and "promo week" in html
    assert 'bidagent_kill_switch_engaged{scope="global"} 1.0' in client.get("/metrics").text
    client.post("/kill-switch", data={"action": "resume", "csrf_token": token})
    assert 'data-paused="false"' in client.get("/").text
    assert 'bidagent_kill_switch_engaged{scope="global"} 0.0' in client.get("/metrics").text


def test_viewers_and_approvers_cannot_pause(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """The kill switch needs the admin role: others get 403 and the switch stays as it was; they
    see no pause button."""
    for role in ("viewer", "approver"):
        client = console()
        token = sign_in(client, role)
        refused = client.post("/kill-switch", data={"action": "pause", "csrf_token": token})
        assert refused.status_code == 403
        assert f"this needs the admin role; {role} is a {role}" in refused.text
        assert 'id="pause-all"' not in client.get("/").text
    with Session(console_world.agent.engine) as session:
        assert list(session.exec(select(ControlRecord))) == []


def test_a_change_page_shows_evidence_rule_and_chart(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """An applied change's page shows its rule file and hash, cycle, evidence and the entity's
    days around it, the change's day marked; a missing id is 404."""
    with Session(console_world.agent.engine) as session:
        change = session.exec(
            select(ChangeRecord)
            .where(ChangeRecord.status == "applied", ChangeRecord.field == "bid")
            .order_by(ChangeRecord.id)  # type: ignore[arg-type]
        ).first()
        assert change is not None and change.cycle_id is not None
        cycle = session.get(CycleRecord, change.cycle_id)
    assert cycle is not None
    client = console()
    sign_in(client, "viewer")
    html = client.get(f"/changes/{change.id}").text
    assert _testid(html, "change-rule") == change.rule_name
    assert _testid(html, "change-rule-file") == change.rule_file
    assert f"<code>{change.rule_hash}</code>" in html
    assert _testid(html, "change-cycle").startswith(f"#{cycle.id} · {cycle.business_date}")
    evidence = re.search(r'data-testid="change-evidence">(.*?)</pre>', html, re.S)
    assert evidence is not None
    assert json.loads(evidence.group(1).replace("&#34;", '"')) == change.evidence
    series = _json_block(html, "entity-series")
    day_epochs = series["days"]
    assert len(day_epochs) >= 15 and day_epochs == sorted(day_epochs)
    assert [m["day"] for m in series["markers"]] == [day_epochs[14]]
    assert 'data-testid="revert-needs-approver"' in html
    missing = client.get("/changes/999999")
    assert (missing.status_code, "There is no change 999999." in missing.text) == (404, True)


def test_an_admin_pauses_one_profile(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Pausing a profile engages its own switch (the global one stays released); a scope that is
    no profile is refused."""
    profile_id = _world_facts(console_world, 30)["profile_id"]
    client = console()
    token = sign_in(client, "admin")
    done = client.post("/kill-switch", data={"action": "pause", "scope": profile_id,
                                             "csrf_token": token})  # fmt: skip
    assert (done.status_code, done.headers["location"]) == (303, f"/?profile={profile_id}")
    metrics = client.get("/metrics").text
    assert f'bidagent_kill_switch_engaged{{scope="{profile_id}"}} 1.0' in metrics
    assert 'bidagent_kill_switch_engaged{scope="global"} 0.0' in metrics
    assert f'data-testid="profile-switch-{profile_id}">Resume<' in client.get("/").text
    refused = client.post("/kill-switch", data={"action": "pause", "scope": "42",
                                                "csrf_token": token})  # fmt: skip
    assert (refused.status_code, "no profile &#39;42&#39; to pause" in refused.text) == (
        403,
        True,
    )
