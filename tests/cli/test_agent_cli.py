"""``plan``, ``cycle``, ``changes``, ``revert``, ``pause`` and ``resume`` from the command line, on the
in-process sandbox."""

from __future__ import annotations

import csv
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_requests import CREATION_FIELDS, api_call
from bidagent.cli.changes import CONTEXT_COLUMNS, LIST_COLUMNS
from bidagent.cli.plan import SHOWN_SKIPS
from bidagent.settings import load_settings
from bidagent.store import ChangeRecord, make_engine
from tests.agent.conftest import small_sandbox_config
from tests.cli.conftest import invoke, json_of


def _ledger(config: Path) -> list[ChangeRecord]:
    engine = make_engine(load_settings(config).database.url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(ChangeRecord).order_by(ChangeRecord.id)))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_plan_table_shows_why_a_rule_left_a_term_alone(tmp_path: Path) -> None:
    """The table lists, once per rule, reason and detail, the skips a person acts on (here a
    harvest into an ad group that does not exist), counted as in --format json."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "h.yaml").write_text(
        "rules:\n  - {name: h, entity: search_term, window: 30d, when: orders >= 1,"
        " then: {harvest: {bid: 0.5, ad_group: No Such Group}}}\n"
    )
    config = small_sandbox_config(tmp_path, rules=rules)
    skips = json_of(invoke(config, "plan", "--format", "json"))["skips"]
    table = invoke(config, "plan", "--no-sync")
    assert table.exit_code == 0, table.output
    shown = [s for s in skips if s["reason"] in SHOWN_SKIPS]
    assert [(s["rule"], s["reason"], s["detail"]) for s in shown] == [
        ("h", "no_destination", "no manual ad group matches 'No Such Group'")
    ]
    assert "not changed" in table.stdout
    assert {s["reason"] for s in shown} <= set(table.stdout.split())


@pytest.fixture(scope="module")
def cycled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One `bidagent cycle` on a fresh sandbox, shared by the read-only tests below."""
    config = small_sandbox_config(tmp_path_factory.mktemp("cycled"))
    (row,) = json_of(invoke(config, "cycle", "--format", "json"))
    assert (row["outcome"], row["applied"] > 0) == ("succeeded", True), row
    return config, row["cycle_id"]


def test_plan_json_lists_changes_with_evidence_and_twice_changes_nothing(tmp_path: Path) -> None:
    """`plan --format json` gives changes with evidence; a second run prints the same and no
    change row is ever written."""
    config = small_sandbox_config(tmp_path)
    first = invoke(config, "plan", "--format", "json")
    second = invoke(config, "plan", "--format", "json")
    plan = json_of(first)
    assert sorted(plan) == ["changes", "review_items", "skips", "summary"]
    assert all(
        sorted(s) == ["count", "detail", "profile_id", "reason", "rule"] for s in plan["skips"]
    )
    assert plan["changes"]
    assert all(change["evidence"] for change in plan["changes"])
    assert second.stdout == first.stdout
    assert _ledger(config) == []


def test_changes_json_shows_every_change_of_the_cycle(cycled: tuple[Path, int]) -> None:
    """`changes --format json` lists every ledger row with entity name, old, new, rule, status,
    then the context columns."""
    config, cycle_id = cycled
    rows = json_of(invoke(config, "changes", "--format", "json"))
    ledger = _ledger(config)
    assert [r["id"] for r in rows] == [c.id for c in reversed(ledger)]
    assert all(list(r) == [*LIST_COLUMNS, *CONTEXT_COLUMNS] for r in rows)
    assert {r["cycle_id"] for r in rows} == {cycle_id}
    for row in rows:
        assert row["rule"] and row["status"] and row["new"] is not None, row
        assert row["entity_name"], row
    updates = [r for r in rows if r["entity_kind"] in ("keyword", "product_target", "campaign")]
    assert updates and all(r["old"] is not None for r in updates)


def test_changes_filters_select_the_matching_rows(cycled: tuple[Path, int]) -> None:
    """--rule, --status, --cycle and --since narrow the listing to exactly the matching rows."""
    config, cycle_id = cycled
    ledger = _ledger(config)
    rule = Counter(c.rule_name for c in ledger).most_common(1)[0][0]

    def ids(*args: str) -> list[int]:
        return [r["id"] for r in json_of(invoke(config, "changes", "--format", "json", *args))]

    newest_first = [c.id for c in reversed(ledger)]
    assert ids("--rule", rule) == [c.id for c in reversed(ledger) if c.rule_name == rule]
    assert ids("--status", "applied") == [c.id for c in reversed(ledger) if c.status == "applied"]
    assert ids("--cycle", str(cycle_id)) == newest_first
    assert ids("--cycle", str(cycle_id + 1)) == []
    assert ids("--since", "1d") == newest_first
    bad = invoke(config, "changes", "--since", "yesterday")
    assert bad.exit_code == 2


def test_changes_csv_has_a_header_and_one_line_per_change(cycled: tuple[Path, int]) -> None:
    """`changes --format csv` starts with the column names, then one record per change."""
    config, _cycle_id = cycled
    result = invoke(config, "changes", "--format", "csv")
    assert result.exit_code == 0, result.output
    records = list(csv.reader(io.StringIO(result.stdout)))
    assert records[0] == [*LIST_COLUMNS, *CONTEXT_COLUMNS]
    assert len(records) - 1 == len(_ledger(config))


def test_changes_show_gives_the_whole_change_with_evidence(cycled: tuple[Path, int]) -> None:
    """`changes show ID --format json` prints the full row, evidence included."""
    config, _cycle_id = cycled
    row = next(c for c in _ledger(config) if c.status == "applied")
    shown = json_of(invoke(config, "changes", "show", str(row.id), "--format", "json"))
    assert (shown["id"], shown["rule_name"], shown["old_value"], shown["new_value"]) == (
        row.id, row.rule_name, row.old_value, row.new_value,
    )  # fmt: skip
    assert shown["evidence"] == row.evidence and shown["evidence"]
    missing = invoke(config, "changes", "show", "999999")
    assert (missing.exit_code, missing.stderr) == (1, "error: no change 999999\n")


def _live(agent: AgentContext, row: ChangeRecord) -> str:
    current = agent.client.get_current(row.profile_id, row.entity_kind, [row.entity_id])
    value = current[row.entity_id][row.field]
    if row.field in ("bid", "budget", "default_bid"):
        return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")
    return str(value).lower()


# The change fields that create an entity (keywords and product targets, and their negatives).


def test_revert_cycle_restores_the_old_values_in_the_sandbox(tmp_path: Path) -> None:
    """`revert --cycle ID --yes` puts every applied value back, archives every keyword, product
    target and negative the cycle created, and says so in counts that add up; asked again, it skips them
    all as already reverted."""
    config = small_sandbox_config(tmp_path)
    (cycle,) = json_of(invoke(config, "cycle", "--format", "json"))
    applied = [c for c in _ledger(config) if c.status == "applied" and c.cycle_id is not None]
    created = [c for c in applied if c.field in CREATION_FIELDS]
    assert applied and created
    result = invoke(config, "revert", "--cycle", str(cycle["cycle_id"]), "--yes")
    assert result.exit_code == 0, result.output
    n = len(applied)
    assert f"reverted {n} of {n} asked, failed 0, skipped 0" in result.stdout
    ledger = {c.id: c for c in _ledger(config)}
    assert {ledger[c.id].status for c in applied} == {"reverted"}
    reverts = [c for c in ledger.values() if c.actor == "revert"]
    assert sorted(c.reverts_change_id or 0 for c in reverts) == sorted(c.id or 0 for c in applied)
    assert {c.status for c in reverts} == {"applied"}
    archives = sorted(
        (c.entity_kind, c.entity_id, c.field, c.old_value, c.new_value)
        for c in reverts
        if c.new_value == "archived"
    )
    with AgentContext.open(load_settings(config)) as agent:
        expected = []
        for c in created:
            kind = api_call(c).kind
            expected.append((kind, c.remote_id or "", "state", "enabled", "archived"))
            live = agent.client.get_current(c.profile_id, kind, [c.remote_id or ""])  # type: ignore[arg-type]
            assert live[c.remote_id or ""]["state"] == "archived"
    assert archives == sorted(expected)
    again = invoke(config, "revert", "--cycle", str(cycle["cycle_id"]), "--yes")
    assert again.exit_code == 1
    assert (
        f"nothing to revert: reverted 0 of {n} asked, failed 0, skipped {n} "
        f"(already reverted: {n})" in again.stdout
    )


def test_revert_without_a_selection_is_a_usage_error(tmp_path: Path) -> None:
    """`revert` with no change ids, --cycle or --rule exits 2 and says what to name."""
    config = small_sandbox_config(tmp_path)
    result = invoke(config, "revert")
    assert result.exit_code == 2
    assert result.stderr == "error: name change ids, --cycle ID, or --rule R [--since 2d]\n"
    bad = invoke(config, "revert", "--rule", "bleeding-keywords", "--since", "two days")
    assert (bad.exit_code, bad.stderr.startswith("error: --since: ")) == (2, True)


def test_pause_then_cycle_sends_nothing_until_resume(tmp_path: Path) -> None:
    """While paused, `cycle` records its plan but the sandbox sees no write; `resume` lifts it."""
    config = small_sandbox_config(tmp_path)
    paused = invoke(config, "pause", "--reason", "audit")
    assert (paused.exit_code, paused.stdout) == (
        0,
        "paused all profiles: no change will be sent\n",
    )
    (cycle,) = json_of(invoke(config, "cycle", "--format", "json"))
    assert (cycle["outcome"], cycle["applied"]) == ("succeeded", 0)
    statuses = Counter(c.status for c in _ledger(config))
    assert statuses["planned"] > 0 and statuses["applied"] == 0 and statuses["sending"] == 0
    with AgentContext.open(load_settings(config)) as agent:
        assert agent.sandbox is not None and agent.sandbox.write_log() == []
    resumed = invoke(config, "resume")
    assert (resumed.exit_code, resumed.stdout) == (0, "resumed all profiles\n")
