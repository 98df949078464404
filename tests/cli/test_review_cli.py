"""``bidagent review``: listing, showing and deciding review items from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from bidagent.agent.review.items import CHANGE_KEYS, ITEM_KEYS, get_item, raise_review
from bidagent.cli import review as review_cli
from bidagent.cli.app import app
from bidagent.settings import Settings
from bidagent.store import ChangeRecord, make_engine, session_scope, upgrade_database

NOW = datetime.now(UTC)  # the agent's clock, pinned below so items are seeded relative to it


@dataclass(frozen=True)
class Outcome:
    change_id: int
    status: str
    reason: str | None = None


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Engine]:
    # The CLI decides on the agent's clock (the sandbox's, by default); pin it to NOW.
    monkeypatch.setattr(review_cli, "agent_now", lambda _settings: NOW)
    config = tmp_path / "bidagent.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/x.db"\n')
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    upgrade_database(engine)
    return config, engine


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Live bids by entity id; approvals go through a stand-in for the apply path that uses them."""
    values: dict[str, str] = {}

    @contextmanager
    def fake_applier(_settings: Settings, engine: Engine) -> Iterator[Any]:
        def apply(change_ids: list[int], *, actor: str) -> list[Outcome]:
            outcomes = []
            with session_scope(engine) as session:
                for change_id in change_ids:
                    row = session.get(ChangeRecord, change_id)
                    assert row is not None
                    now = values.get(row.entity_id, row.old_value)
                    moved = now != row.old_value
                    row.status = "failed" if moved else "applied"
                    row.reason = f"not applied: it is now {now!r}" if moved else None
                    session.add(row)
                    outcomes.append(
                        Outcome(change_id, "refused" if moved else "applied", row.reason)
                    )
            return outcomes

        yield apply

    monkeypatch.setattr(review_cli, "open_applier", fake_applier)
    return values


def _item(
    engine: Engine,
    key: str,
    *entity_ids: str,
    kind: str = "approval",
    seen: datetime = NOW,
    severity: str = "warning",
) -> int:
    with session_scope(engine) as session:
        item = raise_review(
            session,
            kind=kind,
            severity=severity,
            summary=f"held {key}",
            dedupe_key=key,
            profile_id="p1",
            rule_name="bleeding-keywords",
            evidence={"clicks": 20},
            now=seen,
            hold_expiry=timedelta(days=3),
        )
        for entity_id in entity_ids:
            session.add(
                ChangeRecord(
                    profile_id="p1", entity_kind="keyword", entity_id=entity_id, field="bid",
                    old_value="1.00", new_value="0.40", rule_name="bleeding-keywords",
                    status="held", review_item_id=item.id, created_at=seen, updated_at=seen,
                )
            )  # fmt: skip
        return item.id or 0


def _run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), "review", *args])


def test_list_json_is_stable_and_shows_open_items_by_default(setup: tuple[Path, Engine]) -> None:
    """`review list --format json` prints open items with exactly the documented keys."""
    config, engine = setup
    first = _item(engine, "a", "kw1", "kw2")
    second = _item(engine, "b", kind="alert")
    assert _run(config, "resolve", str(second)).exit_code == 0
    result = _run(config, "list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [list(row) for row in rows] == [list(ITEM_KEYS)]
    assert [(r["id"], r["status"], r["change_count"], r["evidence"]) for r in rows] == [
        (first, "open", 2, {"clicks": 20})
    ]
    everything = json.loads(_run(config, "list", "--status", "all", "--format", "json").stdout)
    assert [(r["id"], r["status"]) for r in everything] == [(first, "open"), (second, "resolved")]
    kinds = json.loads(
        _run(config, "list", "--status", "all", "--kind", "alert", "--format", "json").stdout
    )
    assert [r["id"] for r in kinds] == [second]


def test_bare_review_lists_open_items_as_a_table(setup: tuple[Path, Engine]) -> None:
    """`bidagent review` alone shows the open items."""
    config, engine = setup
    _item(engine, "vis1", "kw1")
    result = _run(config)
    assert result.exit_code == 0, result.output
    assert "held vis1" in result.stdout


def test_list_refuses_an_unknown_status(setup: tuple[Path, Engine]) -> None:
    """A misspelt status is a usage error (exit 2), not an empty list."""
    config, _ = setup
    result = _run(config, "list", "--status", "opne")
    assert result.exit_code == 2


def test_show_json_has_the_item_and_its_changes(setup: tuple[Path, Engine]) -> None:
    """`review show ID --format json` is one object: item keys plus changes with old → new."""
    config, engine = setup
    item_id = _item(engine, "a", "kw1")
    result = _run(config, "show", str(item_id), "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert list(body) == [*ITEM_KEYS, "changes"]
    assert [list(c) for c in body["changes"]] == [list(CHANGE_KEYS)]
    assert [(c["old_value"], c["new_value"], c["status"]) for c in body["changes"]] == [
        ("1.00", "0.40", "held")
    ]
    table = _run(config, "show", str(item_id))
    assert (table.exit_code, "1.00" in table.stdout, "0.40" in table.stdout) == (0, True, True)
    assert _run(config, "show", "999").exit_code == 1


def test_approve_applies_and_a_moved_entity_is_refused_with_exit_1(
    setup: tuple[Path, Engine], live: dict[str, str]
) -> None:
    """An approval whose entity moved exits 1 and says why; the other change is applied."""
    config, engine = setup
    item_id = _item(engine, "a", "kw1", "kw2")
    live["kw2"] = "1.30"
    result = _run(config, "approve", str(item_id), "--note", "go", "--by", "bob")
    assert result.exit_code == 1
    assert "not applied (refused): not applied: it is now '1.30'" in result.output
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
    assert (item.status, item.decided_by, [c.status for c in changes]) == (
        "approved",
        "bob",
        ["applied", "failed"],
    )
    again = _run(config, "approve", str(item_id))
    assert (
        again.exit_code,
        f"review item {item_id} is already approved by bob" in again.output,
    ) == (1, True)


def test_batch_approve_by_rule(setup: tuple[Path, Engine], live: dict[str, str]) -> None:
    """`approve --rule R` approves every open item of the rule, exit 0 when all applied."""
    config, engine = setup
    ids = [_item(engine, "a", "kw1"), _item(engine, "b", "kw2")]
    result = _run(config, "approve", "--rule", "bleeding-keywords", "--by", "bob")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"review item {i} approved: changes 1 applied" for i in ids
    ]
    assert _run(config, "approve", "--rule", "no-such-rule").exit_code == 1
    assert _run(config, "approve").exit_code == 2


def test_reject_and_resolve(setup: tuple[Path, Engine]) -> None:
    """Reject marks held changes rejected; resolve is refused on an item holding changes."""
    config, engine = setup
    held = _item(engine, "a", "kw1")
    refused = _run(config, "resolve", str(held))
    assert (refused.exit_code, "approve or reject it" in refused.output) == (1, True)
    result = _run(config, "reject", str(held), "--note", "too steep", "--by", "alice")
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        item, changes = get_item(session, held)
    assert (item.status, item.note, [(c.status, c.reason) for c in changes]) == (
        "rejected",
        "too steep",
        [("rejected", "rejected by alice: too steep")],
    )


def test_expire_closes_items_past_their_expiry(setup: tuple[Path, Engine]) -> None:
    """`review expire` expires items whose hold ran out (here: long ago) and their changes."""
    config, engine = setup
    old = _item(engine, "a", "kw1", seen=NOW - timedelta(days=4))
    fresh = _item(engine, "b", "kw2")
    result = _run(config, "expire")
    assert (result.exit_code, result.stdout) == (0, "expired 1 review item(s)\n")
    with Session(engine) as session:
        item, changes = get_item(session, old)
    assert (item.status, [c.status for c in changes]) == ("expired", ["expired"])
    assert get_item(Session(engine), fresh).item.status == "open"


def test_list_shows_one_page_sorted_and_says_how_many(setup: tuple[Path, Engine]) -> None:
    """`--limit`/`--offset` page the listing, `--sort` orders it, and a line says how many of
    how many are shown (stderr for JSON, so stdout stays one document)."""
    config, engine = setup
    severities = ["info", "critical", "warning", "critical", "info"]
    ids = [_item(engine, f"k{n}", severity=s) for n, s in enumerate(severities)]

    def listed(*args: str) -> tuple[list[int], str]:
        result = _run(config, "list", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return [row["id"] for row in json.loads(result.stdout)], result.stderr.strip()

    assert listed("--limit", "2") == (ids[:2], "showing 2 of 5 (--limit, --offset for more)")
    assert listed("--limit", "2", "--offset", "4") == ([ids[4]], "showing 1 of 5 from #5")
    assert listed("--limit", "0") == (ids, "showing 5 of 5")
    assert listed("--sort", "newest", "--limit", "2")[0] == [ids[4], ids[3]]
    assert listed("--sort", "severity")[0] == [ids[1], ids[3], ids[2], ids[0], ids[4]]
    table = _run(config, "list", "--limit", "3")
    assert table.stdout.splitlines()[-1] == "showing 3 of 5 (--limit, --offset for more)"
    assert _run(config, "list", "--sort", "random").exit_code == 2


def test_bare_review_shows_the_first_50(setup: tuple[Path, Engine]) -> None:
    """Without --limit the listing stops at 50 items and says how many there are."""
    config, engine = setup
    ids = [_item(engine, f"k{n}") for n in range(55)]
    result = _run(config, "--format", "json")
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ids[:50]
    assert result.stderr.strip() == "showing 50 of 55 (--limit, --offset for more)"


def test_approve_changes_applies_those_and_rejects_the_rest(
    setup: tuple[Path, Engine], live: dict[str, str]
) -> None:
    """`approve ID --changes A,C` applies changes A and C of the item and rejects the rest."""
    config, engine = setup
    item_id = _item(engine, "batch", "kw1", "kw2", "kw3")
    with Session(engine) as session:
        first, second, third = (c.id for c in get_item(session, item_id).changes)
    result = _run(config, "approve", str(item_id), "--changes", f"{first},{third}", "--by", "bob",
                  "--note", "not kw2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"review item {item_id} approved: changes 2 applied, 1 rejected\n"
    with Session(engine) as session:
        item, changes = get_item(session, item_id)
    assert (item.status, item.decided_by, [(c.id, c.status, c.reason) for c in changes]) == (
        "approved",
        "bob",
        [(first, "applied", None), (second, "rejected", "rejected by bob: not kw2"),
         (third, "applied", None)],
    )  # fmt: skip


def test_approve_changes_refuses_bad_input(
    setup: tuple[Path, Engine], live: dict[str, str]
) -> None:
    """`--changes` needs exactly one item (exit 2) and ids it holds (exit 1, nothing decided)."""
    config, engine = setup
    first = _item(engine, "a", "kw1")
    second = _item(engine, "b", "kw2")
    assert _run(config, "approve", str(first), str(second), "--changes", "1").exit_code == 2
    assert _run(config, "approve", str(first), "--changes", "one,two").exit_code == 2
    unknown = _run(config, "approve", str(first), "--changes", "999")
    assert (unknown.exit_code, unknown.stderr.strip()) == (
        1,
        f"error: change 999 is not one of review item {first}'s; nothing was decided",
    )
    with Session(engine) as session:
        assert get_item(session, first).item.status == "open"
