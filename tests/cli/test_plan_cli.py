"""``bidagent plan`` as Terraform users expect it: rows with context, a grouped diff and a closing
line, filters, ``--detailed-exitcode``, and a saved plan that ``cycle --plan`` applies exactly."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bidagent.ads import EntityUpdate
from bidagent.agent.context import AgentContext
from bidagent.settings import load_settings
from tests.cli.conftest import invoke, json_of, sandbox_config


def _db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config.parent / "ledger.db")


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One synced sandbox and its `plan --format json`, shared by the read-only tests."""
    config = sandbox_config(tmp_path_factory.mktemp("planned"))
    return config, json_of(invoke(config, "plan", "--format", "json"))


def _expected_closing(changes: list[dict[str, Any]]) -> str:
    sent = Counter(c["action"] for c in changes if c["status"] == "planned")
    held = sum(1 for c in changes if c["status"] == "held")
    line = (
        f"Plan: {sent['create']} to create, {sent['change'] + sent['enable']} to change, "
        f"{sent['pause']} to pause; {held} held for review"
    )
    budget = sum(
        (Decimal(c["new"]) - Decimal(c["old"]) for c in changes
         if c["field"] == "budget" and c["status"] == "planned"),
        Decimal(0),
    )  # fmt: skip
    return line + (
        f"; daily budget {'+' if budget > 0 else '-'}${abs(budget):,.2f}" if budget else ""
    )


def test_plan_rows_name_campaign_ad_group_target_and_step(
    planned: tuple[Path, dict[str, Any]],
) -> None:
    """Every planned change names its campaign and ad group as synced, a keyword its text and
    match type, a creation what it creates; money fields carry the % step and the currency."""
    config, plan = planned
    with _db(config) as db:
        campaigns = dict(db.execute("SELECT campaign_id, name FROM campaigns"))
        groups = dict(db.execute("SELECT ad_group_id, name FROM ad_groups"))
        targets = {
            (kind, tid): (text or targeting, match)
            for kind, tid, text, targeting, match in db.execute(
                "SELECT kind, target_id, keyword_text, targeting, match_type FROM targets"
            )
        }
    changes = plan["changes"]
    assert {c["action"] for c in changes} >= {"change", "create"}
    for c in changes:
        assert c["currency"] == "USD", c
        assert c["campaign"] == campaigns[c["campaign_id"]], c
        if c["action"] == "create":
            payload = c["payload"]
            made = (
                (f"asin {payload['asin']}", None)
                if "asin" in payload
                else (payload["keyword_text"], payload["match_type"])
            )
            assert (c["target"], c["match_type"]) == made, c
            assert c["ad_group"] == groups.get(payload.get("ad_group_id") or "")
            continue
        assert c["ad_group"] == groups[c["ad_group_id"]], c
        assert (c["target"], c["match_type"]) == targets[(c["entity_kind"], c["entity_id"])]
        if c["field"] in ("bid", "budget", "default_bid"):
            step = (Decimal(c["new"]) - Decimal(c["old"])) / Decimal(c["old"])
            assert c["step"] == round(float(step), 4), c
        else:
            assert (c["field"], c["step"]) == ("state", None), c


def test_plan_text_groups_by_action_and_campaign_and_closes_with_the_totals(
    planned: tuple[Path, dict[str, Any]],
) -> None:
    """The table output is a grouped diff: a `~ change (N)` section with campaign and ad group
    headers, each line old -> new with the step, a held-for-review section, and the closing
    line counting what the JSON plan holds; exit 0 without --detailed-exitcode."""
    config, plan = planned
    result = invoke(config, "plan", "--no-sync")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    changes = plan["changes"]
    changed = [c for c in changes if c["status"] == "planned" and c["action"] == "change"]
    assert f"~ change ({len(changed)})" in lines
    one = next(c for c in changed if c["entity_kind"] == "keyword")
    assert f'  campaign "{one["campaign"]}"' in lines
    assert f'    ad group "{one["ad_group"]}"' in lines
    step = f"{one['step']:+.1%}"
    assert (
        f'      ~ keyword "{one["target"]}" {one["match_type"]}: bid ${one["old"]} -> '
        f"${one['new']} ({step})   {one['rule']}"
    ) in lines
    held = sum(1 for c in changes if c["status"] == "held")
    assert f"held for review ({held})" in lines
    assert _expected_closing(changes) in lines
    assert lines[-1] == "Nothing was sent."
    assert [s["line"] for s in plan["summary"]] == [_expected_closing(changes)]


def test_plan_filters_by_rule_and_campaign(planned: tuple[Path, dict[str, Any]]) -> None:
    """--rule keeps exactly that rule's changes, --campaign (name, any case) that campaign's;
    an unknown rule or campaign exits 1 naming it."""
    config, plan = planned
    rule = Counter(c["rule"] for c in plan["changes"]).most_common(1)[0][0]
    by_rule = json_of(invoke(config, "plan", "--no-sync", "-f", "json", "--rule", rule))
    assert by_rule["changes"] == [c for c in plan["changes"] if c["rule"] == rule]
    name = plan["changes"][0]["campaign"]
    by_campaign = json_of(
        invoke(config, "plan", "--no-sync", "-f", "json", "--campaign", name.upper())
    )
    assert by_campaign["changes"] == [c for c in plan["changes"] if c["campaign"] == name]
    missing = invoke(config, "plan", "--no-sync", "--campaign", "no such campaign")
    assert (missing.exit_code, missing.stderr) == (
        1, "error: no campaign with id or name 'no such campaign' in the synced data\n",
    )  # fmt: skip
    unknown = invoke(config, "plan", "--no-sync", "--rule", "no-such-rule")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: no rule named 'no-such-rule' in ")


def test_detailed_exitcode_is_2_with_changes_pending_and_0_without(
    planned: tuple[Path, dict[str, Any]],
) -> None:
    """--detailed-exitcode: 2 when the plan has changes to send or review, 0 for a rule that
    proposes nothing (the spend alert), 1 on an error."""
    config, _plan = planned
    pending = invoke(config, "plan", "--no-sync", "--detailed-exitcode")
    assert pending.exit_code == 2, pending.output
    quiet = invoke(config, "plan", "--no-sync", "--detailed-exitcode", "--rule", "spend-spike")
    assert quiet.exit_code == 0, quiet.output
    assert "Plan: 0 to create, 0 to change, 0 to pause; 0 held for review" in quiet.stdout
    error = invoke(config, "plan", "--no-sync", "--detailed-exitcode", "--rule", "nope")
    assert error.exit_code == 1


def test_plan_csv_keeps_changes_and_review_items(planned: tuple[Path, dict[str, Any]]) -> None:
    """`plan --format csv` has one line per change and one per review item that holds none."""
    config, plan = planned
    result = invoke(config, "plan", "--no-sync", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split(",")[:3] == ["profile_id", "action", "campaign_id"]
    alerts = [r for r in plan["review_items"] if r["held"] == 0]
    assert len(lines) == 1 + len(plan["changes"]) + len(alerts)


def _ledger(config: Path) -> list[tuple[Any, ...]]:
    with _db(config) as db:
        return list(
            db.execute(
                "SELECT entity_kind, entity_id, field, new_value, status, error_code, reason "
                "FROM changes ORDER BY id"
            )
        )


def test_cycle_plan_applies_exactly_the_saved_plan(tmp_path: Path) -> None:
    """`plan --out` then `cycle --plan` applies exactly the planned changes and holds exactly the
    held ones, and ends with the same closing line in the past tense."""
    config = sandbox_config(tmp_path)
    saved = tmp_path / "plan.json"
    made = invoke(config, "plan", "--out", str(saved))
    assert made.exit_code == 0, made.output
    assert (
        f"Saved the plan to {saved}; `bidagent cycle --plan {saved}` applies exactly it."
        in made.stdout
    )
    document = json.loads(saved.read_text())
    proposals = document["profiles"][0]["proposals"]
    result = invoke(config, "cycle", "--plan", str(saved))
    assert result.exit_code == 0, result.output
    rows = _ledger(config)
    applied = sorted((k, i, f, n) for k, i, f, n, s, _, _ in rows if s == "applied")
    assert applied == sorted(
        (p["entity_kind"], p["entity_id"], p["field"], p["new_value"])
        for p in proposals if p["status"] == "planned"
    )  # fmt: skip
    held = sum(1 for p in proposals if p["status"] == "held")
    assert [s for *_, s, _, _ in rows].count("held") == held
    created = sum(1 for p in proposals if p["status"] == "planned" and p["old_value"] is None)
    changed = len(applied) - created
    assert created and changed
    closing = (
        f"Applied: {created} created, {changed} changed, 0 paused; {held} held for review; 0 failed"
    )
    assert result.stdout.splitlines()[-1] == closing


def test_cycle_plan_refuses_a_change_whose_entity_moved(tmp_path: Path) -> None:
    """A keyword whose bid was edited after `plan --out` is refused (failed, entity_moved, the
    reason names both values); the rest of the plan is applied, and the command exits 1."""
    config = sandbox_config(tmp_path)
    saved = tmp_path / "plan.json"
    assert invoke(config, "plan", "--out", str(saved)).exit_code == 0
    proposals = json.loads(saved.read_text())["profiles"][0]["proposals"]
    moved = next(p for p in proposals if p["status"] == "planned" and p["entity_kind"] == "keyword")
    with AgentContext.open(load_settings(config)) as agent:
        agent.client.update(
            moved["profile_id"], "keyword",
            [EntityUpdate(entity_id=moved["entity_id"], bid=Decimal("2.22"))],
        )  # fmt: skip
    result = invoke(config, "cycle", "--plan", str(saved))
    assert result.exit_code == 1, result.output
    assert f"refused 1 change(s) of {saved}: their entities moved since the plan" in result.stderr
    rows = _ledger(config)
    refused = [r for r in rows if r[4] == "failed"]
    assert refused == [
        ("keyword", moved["entity_id"], "bid", moved["new_value"], "failed", "entity_moved",
         f"not applied: the saved plan expected {moved['old_value']!r}, it is now '2.22'"),
    ]  # fmt: skip
    planned = sum(1 for p in proposals if p["status"] == "planned")
    # The edit itself is in the ledger, found by the cycle's sync as made outside bidagent.
    edits = [r for r in rows if r[6] == "changed outside bidagent (found by sync)"]
    assert edits == [("keyword", moved["entity_id"], "bid", "2.22", "applied", None, edits[0][6])]
    assert sum(1 for r in rows if r[4] == "applied") == planned - 1 + len(edits)


def test_cycle_plan_is_refused_when_the_rules_changed(tmp_path: Path) -> None:
    """A rule file edited after `plan --out` makes `cycle --plan` refuse the whole plan (exit 1,
    nothing recorded); a second `cycle` on the same day says why it skipped."""
    config = sandbox_config(tmp_path, own_rules=True)
    saved = tmp_path / "plan.json"
    assert invoke(config, "plan", "--out", str(saved)).exit_code == 0
    rule = tmp_path / "rules" / "raise-winners.yaml"
    rule.write_text(rule.read_text() + "\n# edited\n")
    refused = invoke(config, "cycle", "--plan", str(saved))
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        f"error: {saved}: refused: the rule set changed since the plan was made"
    )
    assert _ledger(config) == []
    assert invoke(config, "cycle").exit_code == 0
    again = invoke(config, "cycle")
    assert again.exit_code == 0
    assert (
        "skipped: today's cycle already finished; `bidagent cycle --force` runs it again"
        in again.stdout.splitlines()
    )


def test_cycle_plan_refuses_a_file_that_is_not_a_plan(tmp_path: Path) -> None:
    """A file `plan --out` did not write is refused with its name (exit 1), never a traceback."""
    config = sandbox_config(tmp_path)
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"changes": []}')
    result = invoke(config, "cycle", "--plan", str(bogus))
    assert (result.exit_code, result.stderr) == (
        1, f"error: {bogus}: not a plan written by `bidagent plan --out` (bidagent-plan/1)\n",
    )  # fmt: skip
