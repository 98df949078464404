"""The intent log's state machine: the table is enforced, and nothing moves a status any other way."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidagent.store import ChangeRecord, ReviewItemRecord
from bidagent.store.statuses import (
    CHANGE_STATUSES,
    CHANGE_TRANSITIONS,
    INITIAL_CHANGE_STATUSES,
    REVIEW_STATUSES,
    REVIEW_TRANSITIONS,
    can_move,
)
from bidagent.store.transitions import (
    IllegalTransitionError,
    initial_status,
    new_change,
    status_of,
    transition,
)

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
PACKAGE = Path(__file__).resolve().parents[2] / "bidagent"
# The only module that assigns a ledger row's status.
TRANSITIONS_MODULE = PACKAGE / "store" / "transitions.py"
# Rows that are not change rows or review items, and whose status their own module owns:
# (file relative to the package, the assigned object's name). Each entry says why.
OTHER_STATUS_ROWS = {
    ("store/outbox.py", "row"),  # a notification outbox row (pending -> sent | dead)
    ("errors.py", "self"),  # ApiError.status: an HTTP status code, not a row
    # An engine proposal read back from a saved plan, before the intent log writes it.
    ("agent/cycle/saved_plan.py", "proposal"),
}


def _change(status: str) -> ChangeRecord:
    return ChangeRecord(
        id=1,
        profile_id="p",
        entity_kind="keyword",
        entity_id="k",
        field="bid",
        old_value="1.00",
        new_value="1.10",
        rule_name="r",
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )


@given(st.lists(st.sampled_from(CHANGE_STATUSES), max_size=12), st.sampled_from(CHANGE_STATUSES))
def test_random_walks_follow_the_change_table(path: list[str], start: str) -> None:
    """Walking any sequence of statuses, exactly the moves in the table succeed; a refused move
    leaves the row as it was."""
    row = _change(start)
    for to in path:
        before = row.status
        allowed = to in CHANGE_TRANSITIONS[before]  # type: ignore[index]
        if allowed:
            transition(row, to, now=NOW)  # type: ignore[arg-type]
            assert row.status == to
        else:
            with pytest.raises(IllegalTransitionError, match=f"{before} -> {to}"):
                transition(row, to, now=NOW)  # type: ignore[arg-type]
            assert row.status == before


@given(st.lists(st.sampled_from(REVIEW_STATUSES), max_size=8))
def test_random_walks_follow_the_review_table(path: list[str]) -> None:
    """Review items move only along their own table, starting open."""
    item = ReviewItemRecord(
        id=1, kind="alert", severity="warning", summary="s", dedupe_key="k", status="open"
    )
    for to in path:
        before = item.status
        if to in REVIEW_TRANSITIONS[before]:  # type: ignore[index]
            transition(item, to, now=NOW)  # type: ignore[arg-type]
            assert item.status == to
        else:
            with pytest.raises(IllegalTransitionError):
                transition(item, to, now=NOW)  # type: ignore[arg-type]
            assert item.status == before


def test_applied_is_final_but_for_a_revert() -> None:
    """An applied change can only become reverted; reverted, failed and dry_run are final."""
    assert CHANGE_TRANSITIONS["applied"] == frozenset({"reverted"})
    for final in ("reverted", "failed", "dry_run", "superseded", "rejected", "expired"):
        assert CHANGE_TRANSITIONS[final] == frozenset()  # type: ignore[index]
    assert not can_move("applied", "planned")
    assert can_move("approved", "open", review=True)


def test_a_move_stamps_updated_at() -> None:
    """A change row's updated_at is the move's time."""
    row = _change("planned")
    later = datetime(2026, 1, 6, tzinfo=UTC)
    transition(row, "sending", now=later)
    assert (row.status, row.updated_at) == ("sending", later)


def test_new_rows_start_only_where_a_row_may_start() -> None:
    """new_change and initial_status accept the initial statuses and refuse the rest."""
    for status in CHANGE_STATUSES:
        if status in INITIAL_CHANGE_STATUSES:
            assert initial_status(status) == status
        else:
            with pytest.raises(IllegalTransitionError, match="cannot start"):
                initial_status(status)
    with pytest.raises(IllegalTransitionError):
        new_change(profile_id="p", status="sending")


def test_status_of_refuses_unknown_text() -> None:
    """A status outside the vocabulary is reported, not passed on."""
    assert status_of(_change("held")) == "held"
    with pytest.raises(IllegalTransitionError, match="unknown status"):
        status_of(_change("bogus"))


def _status_writes(path: Path) -> list[tuple[int, str]]:
    """(line, what) for every place in a module that sets a ``status``: assignments to
    ``x.status``, ``setattr(x, "status", ...)``, ``ChangeRecord(...)`` calls and
    ``.values(status=...)`` statements."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            elements = target.elts if isinstance(target, ast.Tuple) else [target]
            for element in elements:
                if isinstance(element, ast.Attribute) and element.attr == "status":
                    owner = ast.unparse(element.value)
                    found.append((node.lineno, f"{owner}.status ="))
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "setattr" and len(node.args) > 1:
                arg = node.args[1]
                if isinstance(arg, ast.Constant) and arg.value == "status":
                    found.append((node.lineno, "setattr(..., 'status')"))
            if name == "ChangeRecord":
                found.append((node.lineno, "ChangeRecord(...)"))
            if name == "values" and any(k.arg == "status" for k in node.keywords):
                found.append((node.lineno, ".values(status=...)"))
    return found


def test_every_status_move_goes_through_the_transition_module() -> None:
    """No module but store/transitions.py sets a change row's or review item's status, builds a
    ChangeRecord, or updates a status column in bulk."""
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        # The sandbox keeps its own fake Amazon state; the engine's proposals carry the plan's
        # verdict (planned, held, superseded) and never touch the ledger.
        skipped = ("sandbox/", "engine/", "store/migrations/")
        if path == TRANSITIONS_MODULE or relative.startswith(skipped):
            continue
        for line, what in _status_writes(path):
            owner = what.split(".status", 1)[0]
            if (relative, owner) in OTHER_STATUS_ROWS:
                continue
            offences.append(f"bidagent/{relative}:{line}: {what}")
    assert offences == []


def test_the_guard_sees_a_status_assignment(tmp_path: Path) -> None:
    """The guard above is not blind: it reports each kind of write it looks for."""
    module = tmp_path / "m.py"
    module.write_text(
        "row.status = 'applied'\n"
        "a.status, b = 'x', 1\n"
        "setattr(row, 'status', 'failed')\n"
        "ChangeRecord(status='planned')\n"
        "update(t).values(status='superseded')\n"
    )
    assert [what for _, what in _status_writes(module)] == [
        "row.status =",
        "a.status =",
        "setattr(..., 'status')",
        "ChangeRecord(...)",
        ".values(status=...)",
    ]
