"""The JSON API (/api/...) through the real app: sign-in (401), API tokens and roles, CSRF for
cookie sessions only, reads in the CLI's own shapes, decisions (partial approval included) and a
revert against the sandbox's fake Ads API, and the OpenAPI document served without a CDN."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bidagent.agent.change_json import CHANGE_KEYS
from bidagent.agent.review.items import ITEM_KEYS
from bidagent.cli.app import app as cli_app
from bidagent.console.users import issue_token
from bidagent.store import ChangeRecord, ReviewItemRecord
from bidagent.store.types import utcnow
from tests.console.conftest import ConsoleWorld, sign_in, state_of
from tests.console.test_review_queue import held_batch, live_states


def _token(world: ConsoleWorld, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(world.agent.engine, name, now=utcnow())}"}


def _cli(world: ConsoleWorld, *args: str) -> Any:
    config = world.root / "bidagent.toml"
    return CliRunner().invoke(cli_app, ["--config", str(config), *args])


def _item(world: ConsoleWorld, item_id: int) -> ReviewItemRecord:
    with Session(world.agent.engine) as session:
        item = session.get(ReviewItemRecord, item_id)
    assert item is not None
    return item


def _changes_of(world: ConsoleWorld, item_id: int) -> list[ChangeRecord]:
    with Session(world.agent.engine) as session:
        query = select(ChangeRecord).where(ChangeRecord.review_item_id == item_id)
        return list(session.exec(query.order_by(col(ChangeRecord.id))))


def _api_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every operation the OpenAPI document lists, path parameters filled with 1."""
    paths = client.get("/api/openapi.json").json()["paths"]
    return [
        (method.upper(), re.sub(r"\{[a-z_]+\}", "1", path))
        for path, operations in sorted(paths.items())
        for method in sorted(operations)
    ]


def test_every_api_route_answers_401_when_signed_out(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """Every API route, read or decision, answers 401 to a request from nobody, and 401 to an
    unknown token; only the OpenAPI document is public."""
    client = console()
    routes = _api_routes(client)
    assert len(routes) == 15
    for method, path in routes:
        response = client.request(method, path, json={})
        assert (method, path, response.status_code, response.json()) == (
            method, path, 401, {"detail": "sign in first"},
        )  # fmt: skip
        forged = client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
        assert (method, path, forged.status_code) == (method, path, 401)


def test_reads_have_the_cli_shapes(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """The item listing is `bidagent review list --format json` plus the queue's keys, one
    item is `review show` (without its superseded changes), and the change log pages on."""
    client, auth = console(public_url="https://console.example/"), _token(console_world, "viewer")
    listing = client.get("/api/review-items?limit=500", headers=auth).json()
    cli = json.loads(
        _cli(console_world, "review", "list", "--limit", "0", "--format", "json").stdout
    )
    assert [list(i)[: len(ITEM_KEYS)] for i in listing["items"]] == [list(ITEM_KEYS)] * len(cli)
    assert [{k: i[k] for k in ITEM_KEYS} for i in listing["items"]] == cli
    assert (listing["total"], listing["items"][1]["url"]) == (9, "https://console.example/review/2")
    page = client.get("/api/review-items?rule=pause-far-over-target&sort=newest&limit=2&offset=1",
                      headers=auth).json()  # fmt: skip
    assert (page["total"], [i["id"] for i in page["items"]]) == (8, [8, 7])
    one = client.get("/api/review-items/2", headers=auth).json()
    shown = json.loads(_cli(console_world, "review", "show", "2", "--format", "json").stdout)
    assert [list(c)[: len(CHANGE_KEYS)] for c in one["changes"]] == [list(CHANGE_KEYS)]
    assert [{k: c[k] for k in CHANGE_KEYS} for c in one["changes"]] == [
        c for c in shown["changes"] if c["status"] != "superseded"
    ]
    assert one["change_counts"] == {"held": 1, "superseded": 1}
    first = client.get("/api/changes?review_item=1&limit=50", headers=auth).json()
    rest = client.get(f"/api/changes?review_item=1&limit=50&before_id={first['next_before_id']}",
                      headers=auth).json()  # fmt: skip
    ids = [c["id"] for c in first["changes"] + rest["changes"]]
    held = _changes_of(console_world, 1)
    assert (first["total"], rest["next_before_id"], len(held) > 50) == (len(held), None, True)
    assert ids == sorted((c.id for c in held), reverse=True)
    change = client.get(f"/api/changes/{ids[0]}", headers=auth).json()
    assert (change["id"], change["review_item_id"], change["status"]) == (ids[0], 1, "held")
    assert client.get("/api/changes/999999", headers=auth).status_code == 404
    assert client.get("/api/review-items/999999", headers=auth).status_code == 404


def test_the_overview_summary(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """/api/overview names each profile's last cycle and what waits for people."""
    client, auth = console(), _token(console_world, "viewer")
    body = client.get("/api/overview", headers=auth).json()
    assert [
        (p["last_cycle_id"], p["last_cycle_outcome"], p["paused"]) for p in body["profiles"]
    ] == [(2, "succeeded", False)]
    assert (body["open_items"], body["open_items_by_kind"]) == (9, {"approval": 8, "guardrail": 1})
    assert body["now"] == state_of(client).clock().isoformat()
    assert client.get("/api/overview?profile=nope", headers=auth).status_code == 404


def test_a_viewer_gets_403_on_every_decision(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A viewer's token reads but cannot approve, reject, resolve, decide a batch or revert."""
    client, auth = console(), _token(console_world, "viewer")
    posts = [
        ("/api/review-items/2/approve", {}), ("/api/review-items/2/reject", {}),
        ("/api/review-items/2/resolve", {}),
        ("/api/review-items/decide", {"decision": "reject", "item_ids": [2]}),
        ("/api/changes/5/revert", {}),
    ]  # fmt: skip
    answers = [client.post(path, json=body, headers=auth) for path, body in posts]
    assert [(a.status_code, a.json()) for a in answers] == [
        (403, {"detail": "this needs the approver role; viewer is a viewer"})
    ] * 5
    assert _item(console_world, 2).status == "open"


def test_cookie_sessions_need_the_csrf_header_and_tokens_do_not(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A signed-in browser's API POST without X-CSRF-Token is refused; with it, or with a bearer
    token and no cookie at all, the decision is made."""
    browser = console()
    csrf = sign_in(browser, "approver")
    refused = browser.post("/api/review-items/2/reject", json={"note": "x"})
    assert (refused.status_code, "CSRF token is missing or wrong" in refused.text) == (403, True)
    assert _item(console_world, 2).status == "open"
    done = browser.post("/api/review-items/2/reject", json={}, headers={"X-CSRF-Token": csrf})
    script = console().post("/api/review-items/3/reject", json={},
                            headers=_token(console_world, "approver"))  # fmt: skip
    assert [(r.status_code, r.json()["status"]) for r in (done, script)] == [(200, "rejected")] * 2
    assert [_item(console_world, i).decided_by for i in (2, 3)] == ["approver", "approver"]


def test_partial_approval_over_the_api_applies_the_chosen_changes(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """``changes`` approves those of the item through the apply path and rejects the rest; a
    pick the item cannot honour is 409 and decides nothing."""
    batch, held = held_batch(console_world, [2, 3, 4])
    client, auth = console(), _token(console_world, "approver")
    bad = client.post(f"/api/review-items/{batch}/approve", headers=auth,
                      json={"changes": [held[0].id, 999]})  # fmt: skip
    assert (bad.status_code, bad.json()) == (409, {
        "detail": f"change 999 is not one of review item {batch}'s; nothing was decided"
    })  # fmt: skip
    answer = client.post(f"/api/review-items/{batch}/approve", headers=auth,
                         json={"changes": [held[1].id], "note": "only the second"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "item_id": batch, "decision": "approve", "status": "approved", "refused": False,
        "outcomes": [
            {"change_id": held[1].id, "status": "applied", "reason": None},
            {"change_id": held[0].id, "status": "rejected",
             "reason": "rejected by approver: only the second"},
            {"change_id": held[2].id, "status": "rejected",
             "reason": "rejected by approver: only the second"},
        ],
    }  # fmt: skip
    assert live_states(console_world, held) == ["enabled", "paused", "enabled"]
    again = client.post(f"/api/review-items/{batch}/reject", headers=auth, json={})
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"review item {batch} is already approved by approver")


def test_a_batch_decision_is_all_or_nothing(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """/api/review-items/decide decides every item or, naming why, none."""
    client, auth = console(), _token(console_world, "approver")
    refused = client.post("/api/review-items/decide", headers=auth,
                          json={"decision": "reject", "item_ids": [4, 404]})  # fmt: skip
    assert (refused.status_code, refused.json()["detail"]) == (
        409, "review item 404 does not exist; nothing was decided",
    )  # fmt: skip
    assert _item(console_world, 4).status == "open"
    done = client.post("/api/review-items/decide", headers=auth,
                       json={"decision": "reject", "item_ids": [4, 5], "note": "later"})  # fmt: skip
    assert [(d["item_id"], d["status"]) for d in done.json()["decisions"]] == [
        (4, "rejected"), (5, "rejected"),
    ]  # fmt: skip


def test_a_revert_over_the_api_puts_the_bid_back_and_records_the_user(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Reverting an applied bid sends the old value to the (fake) Ads API as a revert change
    requested by the user; reverting it again is skipped; a held change has nothing to revert."""
    with Session(console_world.agent.engine) as session:
        applied = list(session.exec(select(ChangeRecord).where(
            ChangeRecord.status == "applied", ChangeRecord.field == "bid",
            ChangeRecord.entity_kind == "keyword",
        ).order_by(col(ChangeRecord.id).desc())))  # fmt: skip
    change = applied[0]
    client, auth = console(), _token(console_world, "approver")
    answer = client.post(f"/api/changes/{change.id}/revert", headers=auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["reverted"], body["skipped"], body["summary"]) == (
        True, None, "reverted 1 of 1 asked, failed 0, skipped 0",
    )  # fmt: skip
    with Session(console_world.agent.engine) as session:
        original = session.get(ChangeRecord, change.id)
        undo = session.get(ChangeRecord, body["outcomes"][0]["change_id"])
    assert original is not None and undo is not None
    assert (original.status, undo.actor, undo.reverts_change_id, undo.evidence) == (
        "reverted", "revert", change.id, {"reverts": change.id, "requested_by": "approver"},
    )  # fmt: skip
    live = console_world.agent.client.get_current(change.profile_id, "keyword", [change.entity_id])
    assert Decimal(str(live[change.entity_id]["bid"])) == Decimal(change.old_value or "")
    twice = client.post(f"/api/changes/{change.id}/revert", headers=auth).json()
    assert (twice["reverted"], twice["skipped"]) == (False, "already reverted")
    held = _changes_of(console_world, 1)[0]
    assert client.post(f"/api/changes/{held.id}/revert", headers=auth).json() == {
        "detail": f"change {held.id} is held: nothing to revert"
    }


def test_the_openapi_document_is_served_and_no_cdn_page_is(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """/api/openapi.json describes every API route; /docs and /redoc (Swagger UI and ReDoc load
    their assets from a CDN) are not served."""
    client = console()
    document = client.get("/api/openapi.json").json()
    assert sorted(document["paths"]) == [
        "/api/changes", "/api/changes/{change_id}", "/api/changes/{change_id}/revert",
        "/api/cycles", "/api/cycles/{cycle_id}", "/api/me",
        "/api/overview", "/api/review-items", "/api/review-items/decide",
        "/api/review-items/{item_id}", "/api/review-items/{item_id}/approve",
        "/api/review-items/{item_id}/reject", "/api/review-items/{item_id}/resolve",
        "/api/rules", "/api/rules/{name}",
    ]  # fmt: skip
    assert list(document["components"]["schemas"]["ItemOut"]["properties"])[: len(ITEM_KEYS)] == (
        list(ITEM_KEYS)
    )
    assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [404] * 3
