"""The JSON API's decisions and the CLI's leave the same ledger rows: twin items decided one way
each (approve, reject, approve part of a batch) end with the same statuses, decider, note,
decision time and, change by change, the same status, actor, reason and error code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bidagent.cli.app import app as cli_app
from bidagent.console.users import issue_token
from bidagent.store.review_items import changes_of, item_by_id
from bidagent.store.types import utcnow
from tests.console.conftest import ConsoleWorld
from tests.console.test_review_queue import held_batch


def _ledger(world: ConsoleWorld, item_id: int) -> tuple[Any, ...]:
    """What the ledger says of an item and its changes, without ids and entities."""
    with Session(world.agent.engine) as session:
        item = item_by_id(session, item_id)
        assert item is not None
        changes = [
            (c.status, c.actor, c.reason, c.error_code, c.finished_at is not None)
            for c in changes_of(session, item_id)
        ]
    return item.status, item.decided_by, item.note, item.decided_at, changes


def test_the_api_and_the_cli_write_the_same_ledger_rows(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Approve, reject and partial approval by the API (as the token's user) and by the CLI
    (``--by`` the same name) on twin items: the ledger rows agree field by field."""
    config = console_world.root / "bidagent.toml"

    def cli(*args: str) -> None:
        result = CliRunner().invoke(cli_app, ["--config", str(config), "review", *args,
                                              "--by", "approver", "--note", "twins"])  # fmt: skip
        assert result.exit_code == 0, result.output

    token = issue_token(console_world.agent.engine, "approver", now=utcnow())
    client = console()

    def api(path: str, body: dict[str, Any]) -> None:
        response = client.post(path, json={**body, "note": "twins"},
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["refused"] is False

    # Items 2, 4, 5 and 6 each hold one proposal and a superseded one; the batches take the
    # proposals of 3 and 7, and of 8 and 9.
    cli("approve", "2")
    api("/api/review-items/4/approve", {})
    cli("reject", "5")
    api("/api/review-items/6/reject", {})
    by_cli, cli_held = held_batch(console_world, [3, 7])
    by_api, api_held = held_batch(console_world, [8, 9])
    cli("approve", str(by_cli), "--changes", str(cli_held[1].id))
    api(f"/api/review-items/{by_api}/approve", {"changes": [api_held[1].id]})
    for twins in ((2, 4), (5, 6), (by_cli, by_api)):
        one, other = (_ledger(console_world, i) for i in twins)
        assert one == other, twins
    status, decided_by, note, _when, changes = _ledger(console_world, by_api)
    assert (status, decided_by, note, changes) == (
        "approved", "approver", "twins",
        [("rejected", "rule", "rejected by approver: twins", None, True),
         ("applied", "approval", None, None, True)],
    )  # fmt: skip
    assert _ledger(console_world, 6)[0:3] == ("rejected", "approver", "twins")
