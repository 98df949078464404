"""The review queue in headless Debian Chromium against a real server on loopback: the keyboard
shortcuts, the group-by control's htmx swap, and approving part of a held batch with the keys,
applied on the sandbox's fake Ads API and the rest rejected.

Skips when ``/usr/bin/chromium`` or the ``playwright`` package is missing, unless
``BIDAGENT_REQUIRE_BROWSER=1`` (CI sets it), which turns a missing browser into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bidagent.agent.service.health import check_health
from bidagent.console.server import ConsoleServer, build_state
from tests.agent.test_backtest_browser import ARGS, CHROMIUM, _browser_or_skip
from tests.console.conftest import PASSWORD, ConsoleWorld
from tests.console.test_review_queue import _changes, _items, held_batch, live_states


@pytest.fixture
def served(console_world: ConsoleWorld, people: dict[str, str]) -> Iterator[str]:
    """The console over the world, served by uvicorn on a loopback port; its URL."""
    settings = console_world.settings
    state = build_state(
        settings, console_world.agent, lambda: check_health(settings, console_world.agent.engine)
    )
    server = ConsoleServer(state, host="127.0.0.1", port=0).start()
    try:
        yield server.url
    finally:
        server.stop()


def _sign_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{url}/")


def test_the_queue_and_a_partial_approval_by_keyboard(
    served: str, console_world: ConsoleWorld
) -> None:
    """j/k move, x selects, ? shows the shortcuts, the group-by control swaps the queue in place;
    on a held batch, x unticks two changes, r asks first (dismissed: nothing happens) and a
    approves the ticked ones: they are applied on the Ads API, the others rejected; no request
    leaves the console."""
    sync_playwright = _browser_or_skip()
    batch, held = held_batch(console_world, [2, 3, 4, 5])
    requests: list[str] = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            _sign_in(page, served, "approver")
            page.goto(f"{served}/review")
            page.wait_for_load_state("networkidle")
            page.keyboard.press("?")
            help_open = page.eval_on_selector("#shortcuts", "d => d.open")
            for key in ("j", "j", "k", "j", "x"):
                page.keyboard.press(key)
            cursor = page.get_attribute("tr.cursor", "data-item")
            selected = page.inner_text("#selected-count")
            page.select_option("#group-by", "rule")
            page.wait_for_selector('[data-testid="group"]')
            address = page.url
            page.click('[data-key="pause-far-over-target"] summary')
            page.wait_for_selector('[data-key="pause-far-over-target"] tr[data-item]')
            grouped = page.eval_on_selector_all(
                '[data-key="pause-far-over-target"] tr[data-item]', "rows => rows.length"
            )

            page.goto(f"{served}/review/{batch}")
            page.wait_for_load_state("networkidle")
            for key in ("j", "j", "j", "x", "j", "x"):
                page.keyboard.press(key)
            checked = page.inner_text("#checked-count")
            page.once("dialog", lambda dialog: dialog.dismiss())
            page.keyboard.press("r")
            still_open = page.inner_text("#item-status")
            page.once("dialog", lambda dialog: dialog.accept())
            with page.expect_navigation():
                page.keyboard.press("a")
            status = page.inner_text("#item-status")
        finally:
            browser.close()
    items = _items(console_world)
    second = sorted(i for i, item in items.items() if item.status == "open")[1]
    rule_items = sum(1 for i in items.values() if i.rule_name == "pause-far-over-target")
    assert (help_open, cursor, selected) == (True, str(second), "1 selected")
    assert ("by=rule" in address, grouped) == (True, rule_items)
    assert (checked, still_open, status) == ("2 of 4 checked", "open", "approved")
    after = {c.id: c.status for c in _changes(console_world, batch)}
    assert [after[c.id] for c in held] == ["applied", "applied", "rejected", "rejected"]
    assert live_states(console_world, held) == ["paused", "paused", "enabled", "enabled"]
    assert [r for r in requests if not r.startswith(served)] == []
