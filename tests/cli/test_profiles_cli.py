"""``bidagent profiles`` and the commands that pick one profile (``rules explain``): the only
managed profile is the default, several need ``--profile`` (exit 2), and explain uses the
agent's clock (the sandbox's) and exits 1 for an entity it does not know."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from bidagent.agent.context import agent_now
from bidagent.settings import load_settings
from tests.cli.conftest import invoke, json_of, sandbox_config

COLUMNS = ["profile_id", "name", "country", "currency", "timezone", "last_cycle",
           "last_business_date", "last_outcome", "last_finished_at"]  # fmt: skip


@pytest.fixture(scope="module")
def cycled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox after one `bidagent cycle`."""
    config = sandbox_config(tmp_path_factory.mktemp("profiles"))
    assert invoke(config, "cycle").exit_code == 0
    return config


def test_profiles_lists_each_managed_profile_before_and_after_a_cycle(tmp_path: Path) -> None:
    """Before any sync the profile is described as the API lists it, with no last cycle; after
    a cycle the listing names that cycle, its business day and outcome."""
    config = sandbox_config(tmp_path)
    before = json_of(invoke(config, "profiles", "--format", "json"))
    assert [list(row) for row in before] == [COLUMNS]
    (row,) = before
    assert (row["country"], row["currency"], row["timezone"], row["last_cycle"]) == (
        "US", "USD", "America/Los_Angeles", None,
    )  # fmt: skip
    (cycle,) = json_of(invoke(config, "cycle", "--format", "json"))
    (after,) = json_of(invoke(config, "profiles", "--format", "json"))
    assert (after["last_cycle"], after["last_business_date"], after["last_outcome"]) == (
        cycle["cycle_id"], cycle["business_date"], "succeeded",
    )  # fmt: skip
    assert invoke(config, "profiles").exit_code == 0
    lines = list(csv.reader(io.StringIO(invoke(config, "profiles", "-f", "csv").stdout)))
    assert lines[0] == COLUMNS and lines[1][0] == row["profile_id"]


def _changed_entity(config: Path, rule: str) -> str:
    with sqlite3.connect(config.parent / "ledger.db") as db:
        (entity,) = db.execute(
            "SELECT entity_id FROM changes WHERE rule_name = ? AND status = 'applied' LIMIT 1",
            (rule,),
        ).fetchone()
    return str(entity)


def test_explain_defaults_to_the_only_profile_and_uses_the_sandbox_clock(cycled: Path) -> None:
    """Without --profile, explain runs on the only profile; its windows end in the sandbox's last
    week (not the wall clock's), and the cycle's own change, made on that clock, stops it."""
    entity = _changed_entity(cycled, "raise-winners")
    result = invoke(cycled, "rules", "explain", "raise-winners", "--entity", entity)
    assert result.exit_code == 0, result.output
    today = agent_now(load_settings(cycled)).date()
    ends = {date.fromisoformat(e) for e in re.findall(r"\.\.(\d{4}-\d\d-\d\d)\]", result.stdout)}
    assert ends and all(today - timedelta(days=7) <= end < today for end in ends), ends
    assert "stopped by cooldown: bid changed at" in result.stdout


def test_explain_of_an_unknown_entity_exits_1(cycled: Path) -> None:
    """An --entity the rule does not see is an error naming it, exit 1."""
    result = invoke(cycled, "rules", "explain", "raise-winners", "--entity", "123")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: entity 123 is not in the scope of rule 'raise-winners' (unknown id, archived, "
        "or another entity kind)\n",
    )


def test_explain_with_several_profiles_and_none_named_is_a_usage_error(cycled: Path) -> None:
    """With two managed profiles, explain without --profile exits 2 and names them."""
    config = cycled.with_name("two.toml")
    config.write_text(
        cycled.read_text()
        + '\n[[profiles]]\nprofile_id = "111"\n\n[[profiles]]\nprofile_id = "222"\n'
    )
    result = invoke(config, "rules", "explain", "raise-winners", "--entity", "1")
    assert (result.exit_code, result.stderr) == (
        2, "error: 2 profiles are managed (111, 222): name one with --profile\n",
    )  # fmt: skip
    unknown = invoke(config, "rules", "explain", "raise-winners", "--entity", "1", "--profile", "9")
    assert (unknown.exit_code, unknown.stderr) == (
        1, "error: profile 9 is not managed here; known: 111, 222\n",
    )  # fmt: skip
