"""The review queue's pages (/review, /review/{id}) through the real app: listing, grouping,
paging, folding superseded re-proposals, roles and CSRF, bulk decisions, and approving part of a
held batch against the sandbox's fake Ads API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session, select
from starlette.testclient import TestClient

from bidagent.ads import EntityUpdate
from bidagent.agent.review.items import raise_review
from bidagent.store import ChangeRecord, ReviewItemRecord, session_scope
from bidagent.store.review_items import changes_of
from tests.console.conftest import ConsoleWorld, sign_in

BATCH = 1  # the world's blast-radius batch: negative keywords of negate-wasting-search-terms


def _items(world: ConsoleWorld) -> dict[int, ReviewItemRecord]:
    with Session(world.agent.engine) as session:
        return {i.id or 0: i for i in session.exec(select(ReviewItemRecord))}


def _changes(world: ConsoleWorld, item_id: int) -> list[ChangeRecord]:
    with Session(world.agent.engine) as session:
        return changes_of(session, item_id)


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-item="(\d+)"', html)]


def held_batch(world: ConsoleWorld, item_ids: list[int]) -> tuple[int, list[ChangeRecord]]:
    """A blast-radius batch holding the (still applicable) held proposals the world's cycles
    made for ``item_ids``, moved into one new item: its id and its changes."""
    with session_scope(world.agent.engine) as session:
        batch = raise_review(
            session, kind="guardrail", severity="warning", rule_name="pause-far-over-target",
            summary="pause-far-over-target: blast radius: whole batch held",
            dedupe_key=f"guardrail:test-batch:{item_ids}", now=world.agent.now(),
            hold_expiry=timedelta(days=3),
        )  # fmt: skip
        found = [c for i in item_ids for c in changes_of(session, i) if c.status == "held"]
        moved = sorted(found, key=lambda c: c.id or 0)
        for change in moved:
            change.review_item_id = batch.id
            session.add(change)
    return batch.id or 0, moved


def live_states(world: ConsoleWorld, changes: list[ChangeRecord]) -> list[str]:
    """The state each change's entity has on the (fake) Ads API now."""
    client = world.agent.client
    return [
        client.get_current(c.profile_id, c.entity_kind, [c.entity_id])[c.entity_id]["state"]  # type: ignore[arg-type]
        for c in changes
    ]


def test_the_queue_needs_a_sign_in(console: Callable[..., TestClient]) -> None:
    """Signed out, the queue and an item's page send the browser to the login form."""
    client = console()
    assert [(r.status_code, r.headers["location"]) for r in
            (client.get("/review?by=rule"), client.get("/review/1"))] == [
        (302, "/login?next=%2Freview%3Fby%3Drule"), (302, "/login?next=%2Freview%2F1"),
    ]  # fmt: skip


def test_the_queue_lists_open_items_with_held_counts_and_folds_superseded(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Every open item is a row, oldest first, with its held changes counted and its superseded
    re-proposals folded into a count."""
    client = console()
    sign_in(client, "viewer")
    html = client.get("/review").text
    items = _items(console_world)
    assert _row_ids(html) == sorted(i for i, item in items.items() if item.status == "open")
    for item_id in _row_ids(html):
        statuses = [c.status for c in _changes(console_world, item_id)]
        held = re.search(rf'data-testid="held-{item_id}">(\d+)', html)
        assert held is not None and int(held.group(1)) == statuses.count("held")
        folded = re.search(rf'data-testid="superseded-{item_id}"[^>]*>(\d+) superseded', html)
        assert (int(folded.group(1)) if folded else 0) == statuses.count("superseded")
    assert 'data-testid="bulk"' not in html  # a viewer gets no decision controls


def test_grouping_by_rule_campaign_and_severity_counts_every_item(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Each grouping's counts add up to the open items; a group's partial lists its items; an
    htmx request for the queue gets the queue alone."""
    client = console()
    sign_in(client, "viewer")
    open_items = [i for i in _items(console_world).values() if i.status == "open"]
    for by in ("kind", "rule", "campaign", "severity"):
        html = client.get(f"/review?by={by}").text
        counts = [int(n) for n in re.findall(r'data-testid="group-count">(\d+)<', html)]
        assert sum(counts) == len(open_items), by
    by_rule = client.get("/review?by=rule").text
    groups = dict(re.findall(r'data-key="([^"]*)".*?hx-get="([^"]+)"', by_rule, re.S))
    rule = "pause-far-over-target"
    part = client.get(groups[rule].replace("&amp;", "&"))
    assert "<html" not in part.text
    assert _row_ids(part.text) == sorted(i.id or 0 for i in open_items if i.rule_name == rule)
    swapped = client.get(
        "/review?by=severity", headers={"HX-Request": "true", "HX-Target": "queue"}
    )
    assert ("<html" in swapped.text, 'data-testid="group"' in swapped.text) == (False, True)


def test_the_queue_pages_through_many_items(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Past 50 open items the queue shows 50 and pages on; filters narrow it in SQL."""
    now = console_world.agent.now()
    with session_scope(console_world.agent.engine) as session:
        added = [
            raise_review(session, kind="alert", severity="critical", summary=f"spike {n}",
                         dedupe_key=f"alert:spike:{n}", now=now).id
            for n in range(60)
        ]  # fmt: skip
    client = console()
    sign_in(client, "viewer")
    first = client.get("/review").text
    assert 'data-total="69"' in first and len(_row_ids(first)) == 50
    second = client.get("/review/list?page=2").text
    assert _row_ids(second) == added[41:]
    critical = client.get("/review?severity=critical&sort=newest").text
    assert _row_ids(critical) == added[::-1][:50]
    assert _row_ids(client.get("/review?q=spike%2059").text) == [added[-1]]
    assert _row_ids(client.get("/review?rule=-&kind=alert&page=2").text) == added[50:]


def test_an_item_page_folds_superseded_changes_behind_a_toggle(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A recurring item shows its held change and an "N superseded" toggle whose partial lists
    the older proposals."""
    item_id = next(i for i in _items(console_world) if i != BATCH and
                   [c.status for c in _changes(console_world, i)] == ["superseded", "held"])  # fmt: skip
    old, new = _changes(console_world, item_id)
    client = console()
    sign_in(client, "viewer")
    html = client.get(f"/review/{item_id}").text
    held = html[html.index('id="held-changes"') : html.index('id="superseded"')]
    assert re.findall(r'data-change="(\d+)"', held) == [str(new.id)]
    assert "1 superseded</summary>" in html
    folded = client.get(f"/review/{item_id}/superseded").text
    assert re.findall(r'data-change="(\d+)"', folded) == [str(old.id)]


def test_the_page_documents_its_keyboard_shortcuts(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """Both pages list the shortcuts and load the script that handles them."""
    client = console()
    sign_in(client, "approver")
    for path in ("/review", f"/review/{BATCH}"):
        html = client.get(path).text
        help_text = html[html.index('id="shortcuts"') :]
        keys = re.findall(r"<kbd>(.)</kbd>", help_text)
        assert {"j", "k", "x", "a", "r", "?"} <= set(keys), path
        assert '<script src="/static/review.js" defer></script>' in html
    script = client.get("/static/review.js").text
    assert all(f'case "{key}"' in script for key in ("j", "k", "x", "a", "r", "?"))


def test_a_viewer_cannot_decide_and_a_post_without_csrf_is_refused(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A viewer's decisions are 403; an approver's POST without the CSRF token is 403 too; the
    item stays open."""
    viewer, approver = console(), console()
    viewer_token = sign_in(viewer, "viewer")
    sign_in(approver, "approver")
    form = {"decision": "reject", "item_ids": [2]}
    refusals = [
        viewer.post("/review/decide", data={**form, "csrf_token": viewer_token}),
        viewer.post(
            "/review/2/decide",
            data={"action": "reject", "shown_ids": [2], "csrf_token": viewer_token},
        ),
        approver.post("/review/decide", data=form),
        approver.post("/review/2/decide", data={"action": "reject"}),
    ]
    assert [r.status_code for r in refusals] == [403, 403, 403, 403]
    assert "this needs the approver role; viewer is a viewer" in refusals[0].text
    assert "CSRF token is missing or wrong" in refusals[2].text
    assert _items(console_world)[2].status == "open"


def test_bulk_reject_decides_every_selected_item_and_shows_what_became_of_them(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Rejecting two selected items with a note rejects both (by the approver), then the queue
    shows them as just decided."""
    client = console()
    token = sign_in(client, "approver")
    response = client.post("/review/decide", data={
        "decision": "reject", "item_ids": [2, 3], "note": "not now", "csrf_token": token,
        "back": "/review?by=rule&decided=9",
    })  # fmt: skip
    assert (response.status_code, response.headers["location"]) == (
        303, "/review?by=rule&decided=2%2C3",
    )  # fmt: skip
    items = _items(console_world)
    assert [(items[i].status, items[i].decided_by, items[i].note) for i in (2, 3)] == [
        ("rejected", "approver", "not now")
    ] * 2
    held_rows = [c for i in (2, 3) for c in _changes(console_world, i) if c.status != "superseded"]
    assert {(c.status, c.reason) for c in held_rows} == {
        ("rejected", "rejected by approver: not now")
    }
    shown = client.get(response.headers["location"]).text
    assert re.findall(r'data-testid="decided-(\d+)" data-status="(\w+)"', shown) == [
        ("2", "rejected"), ("3", "rejected"),
    ]  # fmt: skip


def test_a_batch_that_cannot_be_decided_decides_nothing(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Resolving items that hold changes is refused (409) with the reason; nothing changes."""
    client = console()
    token = sign_in(client, "approver")
    response = client.post("/review/decide", data={
        "decision": "resolve", "item_ids": [3, 4], "csrf_token": token,
    })  # fmt: skip
    assert response.status_code == 409
    assert "review item 3 holds 1 change(s): approve or reject it" in response.text
    assert [_items(console_world)[i].status for i in (3, 4)] == ["open", "open"]


def test_approving_part_of_a_held_batch_applies_those_in_the_sandbox_and_rejects_the_rest(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """On a batch's page, the checked pauses are sent to the (fake) Ads API and the unchecked
    ones rejected; the item is approved by the approver."""
    batch, held = held_batch(console_world, [2, 3, 4, 5])
    chosen = held[:2]
    assert live_states(console_world, held) == ["enabled"] * 4
    client = console()
    token = sign_in(client, "approver")
    page = client.get(f"/review/{batch}").text
    assert re.findall(r'name="shown_ids" value="(\d+)"', page) == [str(c.id) for c in held]
    response = client.post(f"/review/{batch}/decide", data={
        "action": "approve", "change_ids": [c.id for c in chosen],
        "shown_ids": [c.id for c in held], "note": "two only", "csrf_token": token,
    })  # fmt: skip
    assert (response.status_code, response.headers["location"]) == (303, f"/review/{batch}")
    after = {c.id: c for c in _changes(console_world, batch)}
    assert [(after[c.id].status, after[c.id].actor, after[c.id].reason) for c in held] == [
        ("applied", "approval", None),
        ("applied", "approval", None),
        ("rejected", "rule", "rejected by approver: two only"),
        ("rejected", "rule", "rejected by approver: two only"),
    ]
    assert live_states(console_world, held) == ["paused", "paused", "enabled", "enabled"]
    item = _items(console_world)[batch]
    assert (item.status, item.decided_by, item.note) == ("approved", "approver", "two only")
    page = client.get(f"/review/{batch}").text
    assert 'data-testid="held-changes"' not in page and 'data-testid="decide"' not in page


def test_approving_refuses_a_change_whose_entity_moved_and_says_why(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Approving from the queue goes through the CLI's path: a keyword paused on the Ads API
    meanwhile is not sent, its change fails as entity_moved, and the item's note says why."""
    first, second = (
        next(c for c in _changes(console_world, i) if c.status == "held") for i in (2, 3)
    )
    console_world.agent.client.update(
        second.profile_id, second.entity_kind,  # type: ignore[arg-type]
        [EntityUpdate(entity_id=second.entity_id, state="paused")],
    )  # fmt: skip
    client = console()
    token = sign_in(client, "approver")
    response = client.post("/review/decide", data={
        "decision": "approve", "item_ids": [2, 3], "csrf_token": token,
    })  # fmt: skip
    assert response.status_code == 303
    rows = {c.id: c for i in (2, 3) for c in _changes(console_world, i)}
    reason = "not applied: expected 'enabled', it is now 'paused'"
    assert [(rows[c.id].status, rows[c.id].error_code) for c in (first, second)] == [
        ("applied", None), ("failed", "entity_moved"),
    ]  # fmt: skip
    items = _items(console_world)
    assert [(items[i].status, items[i].note) for i in (2, 3)] == [
        ("approved", None), ("approved", f"change {second.id} refused: {reason}"),
    ]  # fmt: skip
    shown = client.get(response.headers["location"]).text
    assert f"change {second.id} refused: {reason}".replace("'", "&#39;") in shown


def test_a_held_change_the_page_did_not_show_is_never_rejected_unseen(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """When the item holds a change the form did not list, the decision is refused (409) and
    everything stays held."""
    held = [c for c in _changes(console_world, BATCH) if c.status == "held"]
    assert len(held) > 2
    client = console()
    token = sign_in(client, "approver")
    response = client.post(f"/review/{BATCH}/decide", data={
        "action": "approve", "change_ids": [held[0].id], "shown_ids": [c.id for c in held[:-1]],
        "csrf_token": token,
    })  # fmt: skip
    assert response.status_code == 409
    assert f"changes {held[-1].id} of review item {BATCH} are neither approved nor rejected" in (
        response.text
    )
    assert {c.status for c in _changes(console_world, BATCH)} == {"held"}
    assert _items(console_world)[BATCH].status == "open"


def test_a_change_set_is_marked_and_decided_whole_from_the_page(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Members of a change set are marked alike, and approving one with its partner unticked
    applies both: the set goes whole."""
    batch, held = held_batch(console_world, [2, 3, 4])
    with session_scope(console_world.agent.engine) as session:
        for change in held[:2]:
            row = session.get(ChangeRecord, change.id)
            setattr(row, "change_set", "graduate:test")  # noqa: B010 - a column of a parallel branch
            session.add(row)
    client = console()
    token = sign_in(client, "approver")
    page = client.get(f"/review/{batch}").text
    assert page.count('data-set="graduate:test"') == 2 and page.count(">set 1</span>") == 2
    client.post(f"/review/{batch}/decide", data={
        "action": "approve", "change_ids": [held[0].id], "shown_ids": [c.id for c in held],
        "csrf_token": token,
    })  # fmt: skip
    after = {c.id: c.status for c in _changes(console_world, batch)}
    assert [after[c.id] for c in held] == ["applied", "applied", "rejected"]
