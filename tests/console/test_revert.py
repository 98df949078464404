"""Reverting from a change's page: through the CLI's revert path, against the sandbox's fake
Ads API, with the approver recorded; viewers may not."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlmodel import Session, select
from starlette.testclient import TestClient

from bidagent.agent.service.kill_switch import pause
from bidagent.store import ChangeRecord
from bidagent.store.types import utcnow
from tests.console.conftest import ConsoleWorld, sign_in


def _applied_bid_change(world: ConsoleWorld) -> ChangeRecord:
    with Session(world.agent.engine) as session:
        change = session.exec(
            select(ChangeRecord)
            .where(ChangeRecord.status == "applied", ChangeRecord.field == "bid",
                   ChangeRecord.entity_kind == "keyword")
            .order_by(ChangeRecord.id.desc())  # type: ignore[union-attr]
        ).first()  # fmt: skip
    assert change is not None
    return change


def _live_bid(world: ConsoleWorld, change: ChangeRecord) -> Decimal:
    current = world.agent.client.get_current(change.profile_id, "keyword", [change.entity_id])
    return Decimal(str(current[change.entity_id]["bid"]))


def _rows(world: ConsoleWorld, **where: object) -> list[ChangeRecord]:
    with Session(world.agent.engine) as session:
        query = select(ChangeRecord)
        for name, value in where.items():
            query = query.where(getattr(ChangeRecord, name) == value)
        return list(session.exec(query))


def test_an_approver_reverts_a_change_in_the_sandbox(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """The revert puts the old bid back live, marks the original reverted and writes a revert
    change that names the approver as who asked."""
    change = _applied_bid_change(console_world)
    assert _live_bid(console_world, change) == Decimal(change.new_value or "")
    client = console()
    token = sign_in(client, "approver")
    response = client.post(f"/changes/{change.id}/revert", data={"csrf_token": token})
    assert response.status_code == 200
    assert "reverted 1 of 1 asked, failed 0, skipped 0" in response.text
    assert _live_bid(console_world, change) == Decimal(change.old_value or "")
    (original,) = _rows(console_world, id=change.id)
    (undo,) = _rows(console_world, reverts_change_id=change.id)
    assert (original.status, original.reason) == ("reverted", f"reverted by change {undo.id}")
    assert (undo.status, undo.actor, undo.old_value, undo.new_value) == (
        "applied", "revert", change.new_value, change.old_value,
    )  # fmt: skip
    assert undo.evidence == {"reverts": change.id, "requested_by": "approver"}
    page = client.get(f"/changes/{change.id}").text
    assert 'data-testid="reverted-by"' in page and 'id="revert-button"' not in page


def test_a_second_revert_says_already_reverted(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """Reverting the same change twice sends nothing the second time and says why (409)."""
    change = _applied_bid_change(console_world)
    client = console()
    token = sign_in(client, "admin")
    assert (
        client.post(f"/changes/{change.id}/revert", data={"csrf_token": token}).status_code == 200
    )
    again = client.post(f"/changes/{change.id}/revert", data={"csrf_token": token})
    assert again.status_code == 409
    assert "skipped 1 (already reverted: 1)" in again.text
    assert len(_rows(console_world, reverts_change_id=change.id)) == 1


def test_a_paused_agent_sends_no_revert(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """With the kill switch engaged, the revert is written but not sent; the page says it failed
    and the live bid keeps the rule's value."""
    change = _applied_bid_change(console_world)
    pause(console_world.agent.engine, reason="freeze", by="cli", now=utcnow())
    client = console()
    token = sign_in(client, "approver")
    response = client.post(f"/changes/{change.id}/revert", data={"csrf_token": token})
    assert response.status_code == 409
    assert "reverted 0 of 1 asked, failed 1, skipped 0" in response.text
    assert _live_bid(console_world, change) == Decimal(change.new_value or "")
    (original,) = _rows(console_world, id=change.id)
    assert original.status == "applied"


def test_a_viewer_cannot_revert(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A viewer's POST to revert is 403, and nothing is written or sent."""
    change = _applied_bid_change(console_world)
    before = len(_rows(console_world))
    client = console()
    token = sign_in(client, "viewer")
    refused = client.post(f"/changes/{change.id}/revert", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "this needs the approver role; viewer is a viewer" in refused.text
    assert len(_rows(console_world)) == before
    assert _live_bid(console_world, change) == Decimal(change.new_value or "")


def test_a_revert_without_the_csrf_token_is_refused(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """An approver's revert POST without the CSRF token is 403 and sends nothing."""
    change = _applied_bid_change(console_world)
    client = console()
    sign_in(client, "approver")
    assert client.post(f"/changes/{change.id}/revert").status_code == 403
    assert _rows(console_world, reverts_change_id=change.id) == []
