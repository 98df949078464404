"""The web console as its users meet it: headless Debian Chromium (through Playwright) and httpx
against a real ``bidagent console`` process on loopback, over a copy of the console world (two
sandbox days of real cycles, users of every role). One server and one browser serve the module;
each test gets a fresh browser context (no cookies carried over).

What the server did is read from its files, not from its pages: the ledger through the store,
the sandbox's state from its SQLite file (read-only). With ``BIDAGENT_SCREENSHOTS=1`` the
overview and review queue tests also write the README's screenshots to ``docs/images/``.

Skips when ``/usr/bin/chromium`` or the ``playwright`` package is missing, unless
``BIDAGENT_REQUIRE_BROWSER=1`` (CI sets it), which turns a missing browser into a failure.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from typing import Any

import httpx
from fastapi.routing import APIRoute
from sqlmodel import Session, col, select

from bidagent.console.pages import ROUTERS
from bidagent.store import ChangeRecord, ReviewItemRecord
from bidagent.store.kill_switch import paused_scopes
from tests.agent.test_backtest_browser import REPO
from tests.console.conftest import PASSWORD, LiveConsole, Tab, sign_in_page

# Read at import time: per-test isolation removes every BIDAGENT_* variable before tests run.
SCREENSHOTS = os.environ.get("BIDAGENT_SCREENSHOTS", "") not in ("", "0")
IMAGES = REPO / "docs" / "images"
SINGLE = 2  # an approval item of the world's, holding one pause of pause-far-over-target
# What a person sees of each chart: drawn by uPlot, on a canvas with pixels painted.
_CHARTS = """() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
  const canvas = el.querySelector('canvas');
  let painted = 0;
  if (canvas) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted++; } }
  }
  return {chart: el.dataset.chart, drawn: el.dataset.drawn, canvas: !!canvas, painted: painted > 500};
})"""


def _stayed_home(tab: Tab, live_console: LiveConsole) -> list[str]:
    """The requests that left the console (none should: every asset is vendored)."""
    return [url for url in tab.requests if not url.startswith(live_console.url + "/")]


def _changes(live_console: LiveConsole, **where: Any) -> list[ChangeRecord]:
    with Session(live_console.engine) as session:
        query = select(ChangeRecord).order_by(col(ChangeRecord.id))
        for name, value in where.items():
            query = query.where(getattr(ChangeRecord, name) == value)
        return list(session.exec(query))


def _item(live_console: LiveConsole, item_id: int) -> ReviewItemRecord:
    with Session(live_console.engine) as session:
        item = session.get(ReviewItemRecord, item_id)
    assert item is not None
    return item


def _sandbox(live_console: LiveConsole, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of the sandbox's state file, read-only, as the server left them."""
    uri = f"file:{live_console.root / 'sandbox.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def _live_states(live_console: LiveConsole, changes: list[ChangeRecord]) -> list[str]:
    """The state each change's entity has on the sandbox's account now."""
    return [
        state
        for c in changes
        for (state,) in _sandbox(live_console, "SELECT state FROM entities WHERE profile_id = ? "
                                 "AND entity_id = ?", c.profile_id, c.entity_id)
    ]  # fmt: skip


def _shoot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / name))


def test_signing_in_shows_the_overview_with_its_charts_drawn(
    live_console: LiveConsole, tab: Tab
) -> None:
    """Signed out, / sends the browser to the login form; the password signs in and back to the
    overview, whose spend/sales, ACoS/orders and profit charts are drawn on canvases; nothing
    is loaded from anywhere but the console."""
    sign_in_page(tab, live_console, "admin")
    page = tab.page
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(e => e.dataset.drawn)"
    )
    charts = page.evaluate(_CHARTS)
    assert charts == [{"chart": kind, "drawn": "true", "canvas": True, "painted": True}
                      for kind in ("money", "acos", "profit")]  # fmt: skip
    assert page.get_attribute("#kill-switch", "data-paused") == "false"
    _shoot(page, "console-overview.png")
    assert _stayed_home(tab, live_console) == []


def _filtered_campaign(live_console: LiveConsole) -> tuple[str, list[int]]:
    """The campaign with most changes that still fit on one page (50), with a bid change among
    them; and its change ids, newest first."""
    by_campaign: dict[str, list[ChangeRecord]] = {}
    for change in _changes(live_console):
        if change.campaign_id:
            by_campaign.setdefault(change.campaign_id, []).append(change)
    fits = [(len(cs), cid) for cid, cs in by_campaign.items()
            if len(cs) < 50 and any(c.field == "bid" and c.status == "applied" for c in cs)]  # fmt: skip
    campaign = max(fits)[1]
    return campaign, sorted((c.id or 0 for c in by_campaign[campaign]), reverse=True)


def test_the_change_log_filters_to_one_campaign_and_a_change_shows_chart_and_evidence(
    live_console: LiveConsole, tab: Tab
) -> None:
    """Typing a campaign id into the filter swaps the table in place (htmx, URL pushed) to that
    campaign's changes alone; opening one of its bid changes shows the entity's days as a drawn
    chart with the change's day marked, and the evidence the ledger holds."""
    campaign, expected = _filtered_campaign(live_console)
    sign_in_page(tab, live_console, "viewer", "/changes")
    page = tab.page
    every = page.eval_on_selector_all(
        "tr[data-change-id]", "rs => rs.map(r => r.dataset.campaignId)"
    )
    page.evaluate("() => { window.notReloaded = true; }")
    page.fill("#filter-campaign", campaign)
    page.click("#filter-apply")
    page.wait_for_url(f"**/changes?campaign={campaign}")
    page.wait_for_selector(f'tr[data-change-id="{expected[0]}"]')
    shown = page.eval_on_selector_all(
        "tr[data-change-id]",
        "rs => rs.map(r => [Number(r.dataset.changeId), r.dataset.campaignId])",
    )
    assert len(set(every)) > 1  # the whole log spans several campaigns
    assert shown == [[change_id, campaign] for change_id in expected]
    assert page.inner_text("#change-count") == f"rows 1–{len(expected)} of {len(expected)}"
    assert page.evaluate("() => window.notReloaded") is True

    bid = next(
        c for c in _changes(live_console, campaign_id=campaign, field="bid", status="applied")
    )
    with page.expect_navigation():
        page.click(f'tr[data-change-id="{bid.id}"] a[data-testid="change-link"]')
    page.wait_for_selector('#chart-entity[data-drawn="true"]')
    charts = page.evaluate(_CHARTS)
    series = json.loads(page.text_content("#entity-series") or "")
    evidence = json.loads(page.inner_text("#change-evidence"))
    assert charts == [{"chart": "entity", "drawn": "true", "canvas": True, "painted": True}]
    assert [m["day"] for m in series["markers"]] == [series["days"][14]]
    assert evidence == bid.evidence and evidence
    assert page.inner_text('[data-testid="change-rule"]') == bid.rule_name
    assert _stayed_home(tab, live_console) == []


def test_approving_part_of_a_held_batch_applies_those_in_the_sandbox(
    live_console: LiveConsole, tab: Tab
) -> None:
    """On a held batch of five pauses an approver unticks three and approves the rest
    (confirming): the two are paused on the sandbox's account, the three rejected with the
    note and still enabled, the item approved by the approver."""
    held = _changes(live_console, review_item_id=live_console.batch, status="held")
    assert _live_states(live_console, held) == ["ENABLED"] * 5
    sign_in_page(tab, live_console, "approver", "/review")
    page = tab.page
    page.wait_for_selector("tr[data-item]")
    _shoot(page, "console-review.png")
    page.goto(f"{live_console.url}/review/{live_console.batch}")
    for change in held[1::2] + held[4:]:
        page.uncheck(f'[data-testid="check-{change.id}"]')
    checked = page.inner_text("#checked-count")
    page.fill("#decide-note", "the others next week")
    asked: list[str] = []

    def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    with page.expect_navigation():
        page.click("#approve-checked")
    assert (checked, page.inner_text("#item-status")) == ("2 of 5 checked", "approved")
    assert asked == ["Approve the checked changes and reject the rest of this item?"]
    assert page.inner_text('[data-testid="item-counts"]') == "2 applied, 3 rejected"
    after = _changes(live_console, review_item_id=live_console.batch)
    rejected = "rejected by approver: the others next week"
    assert [(c.id, c.status, c.reason) for c in after] == [
        (c.id, *(("applied", None) if i in (0, 2) else ("rejected", rejected)))
        for i, c in enumerate(held)
    ]
    states = _live_states(live_console, after)
    assert states == ["PAUSED", "ENABLED", "PAUSED", "ENABLED", "ENABLED"]
    item = _item(live_console, live_console.batch)
    assert (item.status, item.decided_by) == ("approved", "approver")
    assert _stayed_home(tab, live_console) == []


def test_reverting_a_change_from_its_page_puts_the_old_bid_back(
    live_console: LiveConsole, tab: Tab
) -> None:
    """An approver's revert button puts a rule's bid back on the sandbox's keyword, marks the
    change reverted and records the revert as asked by the approver."""
    change = _changes(live_console, field="bid", status="applied", entity_kind="keyword")[-1]

    def live_bid() -> Decimal:
        ((bid,),) = _sandbox(live_console, "SELECT bid FROM entities WHERE kind = 'keyword' "
                             "AND entity_id = ?", change.entity_id)  # fmt: skip
        return Decimal(str(bid))

    assert live_bid() == Decimal(change.new_value or "")
    sign_in_page(tab, live_console, "approver", f"/changes/{change.id}")
    page = tab.page
    with page.expect_navigation():
        page.click("#revert-button")
    result = (page.inner_text("#revert-result"), page.inner_text("#change-status"))
    assert result == ("reverted 1 of 1 asked, failed 0, skipped 0", "reverted")
    assert page.query_selector("#revert-button") is None
    assert live_bid() == Decimal(change.old_value or "")
    (original,) = _changes(live_console, id=change.id)
    (undo,) = _changes(live_console, reverts_change_id=change.id)
    assert (original.status, original.reason) == ("reverted", f"reverted by change {undo.id}")
    assert (undo.status, undo.actor, undo.old_value, undo.new_value, undo.evidence) == (
        "applied", "revert", change.new_value, change.old_value,
        {"reverts": change.id, "requested_by": "approver"},
    )  # fmt: skip


def test_an_admin_pauses_and_resumes_from_the_overview(live_console: LiveConsole, tab: Tab) -> None:
    """Pause all (with a reason) engages the ledger's global kill switch and the banner says
    so; Resume all releases it."""
    sign_in_page(tab, live_console, "admin")
    page = tab.page
    page.fill("#pause-reason", "checking the new rules")
    with page.expect_navigation():
        page.click("#pause-all")
    paused = (
        page.get_attribute("#kill-switch", "data-paused"),
        page.inner_text("#kill-switch-state"),
    )
    with Session(live_console.engine) as session:
        switch = {s: (r.reason, r.changed_by) for s, r in paused_scopes(session).items()}
    with page.expect_navigation():
        page.click("#resume-all")
    resumed = page.get_attribute("#kill-switch", "data-paused")
    with Session(live_console.engine) as session:
        after = paused_scopes(session)
    assert paused[0] == "true"
    assert re.fullmatch(r"Paused: nothing is sent to Amazon \(by admin: checking the new rules,"
                        r" .+\)\.", paused[1]), paused[1]  # fmt: skip
    assert switch == {"global": ("checking the new rules", "admin")}
    assert (resumed, after) == ("false", {})


@contextmanager
def _signed_in(live_console: LiveConsole, name: str) -> Iterator[httpx.Client]:
    """An httpx client signed in through the login form."""
    with httpx.Client(base_url=live_console.url, timeout=30) as client:
        token = _csrf(client.get("/login").text)
        form = {"name": name, "password": PASSWORD, "csrf_token": token, "next": "/"}
        assert client.post("/login", data=form).status_code == 303
        yield client


def _csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert match is not None
    return match.group(1)


def test_a_viewer_cannot_approve_and_a_post_without_the_csrf_token_is_refused(
    live_console: LiveConsole,
) -> None:
    """A viewer's approval (form or API, CSRF token included) is 403; an approver's approval
    and an admin's pause without the token are 403 too; the item stays open, its change held
    and the sandbox's target enabled."""
    (change,) = _changes(live_console, review_item_id=SINGLE, status="held")
    form = {"action": "approve", "change_ids": [change.id], "shown_ids": [change.id]}
    with _signed_in(live_console, "viewer") as viewer:
        token = _csrf(viewer.get(f"/review/{SINGLE}").text)
        page = viewer.post(f"/review/{SINGLE}/decide", data={**form, "csrf_token": token})
        api = viewer.post(f"/api/review-items/{SINGLE}/approve", json={},
                          headers={"X-CSRF-Token": token})  # fmt: skip
    refusal = "this needs the approver role; viewer is a viewer"
    assert (page.status_code, refusal in page.text) == (403, True)
    assert (api.status_code, api.json()) == (403, {"detail": refusal})
    with (
        _signed_in(live_console, "approver") as approver,
        _signed_in(live_console, "admin") as admin,
    ):
        forged = approver.post(f"/review/{SINGLE}/decide", data=form)
        wrong = approver.post(f"/review/{SINGLE}/decide", data={**form, "csrf_token": "0" * 32})
        pause = admin.post("/kill-switch", data={"action": "pause", "scope": "global"})
    csrf = "the CSRF token is missing or wrong: reload the page and try again"
    assert [(r.status_code, csrf in r.text) for r in (forged, wrong, pause)] == [(403, True)] * 3
    assert (_item(live_console, SINGLE).status, _changes(live_console, id=change.id)[0].status) == (
        "open", "held",
    )  # fmt: skip
    with Session(live_console.engine) as session:
        assert paused_scopes(session) == {}
    assert _live_states(live_console, [change]) == ["ENABLED"]


def _page_routes() -> list[tuple[str, str]]:
    """Every page route that needs a sign-in (not the login form, sign-out or the probes),
    path parameters filled with 1."""
    public = {"/login", "/logout", "/healthz", "/metrics"}
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for router in ROUTERS for route in router.routes
        if isinstance(route, APIRoute) and route.path not in public
        for method in route.methods or ()
    )  # fmt: skip


def test_signed_out_every_page_gets_the_login_form_and_every_api_route_401(
    live_console: LiveConsole,
) -> None:
    """A signed-out browser (holding a session's CSRF token, so the token is not the reason)
    lands on the login form from every page route, GET or POST, with the page to come back to;
    every route of the API's OpenAPI document answers 401."""
    with httpx.Client(base_url=live_console.url, timeout=30, follow_redirects=True) as client:
        token = _csrf(client.get("/login").text)
        landed = []
        for method, path in _page_routes():
            data = {"csrf_token": token} if method == "POST" else None
            response = client.request(method, path, data=data)
            landed.append((method, path, response.status_code, response.url.path,
                           'id="login-form"' in response.text, response.url.params.get("next")))  # fmt: skip
        document = client.get("/api/openapi.json").json()
        api = [
            (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
            for path, operations in sorted(document["paths"].items()) for method in operations
        ]  # fmt: skip
        answers = [(m, p, client.request(m, p, json={}).status_code) for m, p in api]
    assert len(landed) == 16 and len(api) == 15
    assert landed == [(m, p, 200, "/login", True, p) for m, p in _page_routes()]
    assert answers == [(m, p, 401) for m, p in api]
