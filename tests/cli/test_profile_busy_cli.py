"""``review approve`` and ``revert`` while another holder has the profile: they wait up to
``[schedule] lock_wait_s``, then exit 1 naming the holder and send nothing; with the lock free
they apply. On the in-process sandbox through the real httpx client."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from bidagent.agent.context import AgentContext
from bidagent.cli.app import app
from bidagent.settings import load_settings
from bidagent.store import ChangeRecord, ReviewItemRecord, make_engine
from bidagent.store.profile_locks import hold_profile
from tests.agent.conftest import init_ledger

# One change applied at once (a budget cut), one held for approval (a budget rise over 20%).
RULES = """\
rules:
  - name: cut-budget-auto-3
    entity: campaign
    filter: campaign_name == "SP Auto 0003"
    when: state == "enabled"
    then: {budget: "-10%"}
  - name: budget-up-auto-4
    entity: campaign
    filter: campaign_name == "SP Auto 0004"
    when: state == "enabled"
    then: {budget: "+40%"}
    approval: {over: 0.2}
"""
WAIT_S = 0.6
BUSY = re.compile(r"error: profile (\d+) is busy: held by \d+ on \S+ \(test holder\) since \S+\n")


def _config(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "budgets.yaml").write_text(RULES)
    config = tmp_path / "bidagent.toml"
    config.write_text(
        f'rules_dir = "{rules}"\nmode = "apply"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/ledger.db"\n'
        "[ads]\nhistory_days = 30\n"
        f'[sandbox]\ntargets = 120\nseed = 11\nhistory_days = 30\nstate_path = "{tmp_path}/sandbox.db"\n'
        f'[schedule]\nlock_wait_s = {WAIT_S}\n[logging]\nformat = "json"\n'
    )
    init_ledger(f"sqlite:///{tmp_path}/ledger.db")
    return config


def _invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args])


def _ledger(config: Path) -> tuple[list[ChangeRecord], list[ReviewItemRecord]]:
    engine = make_engine(load_settings(config).database.url)
    with Session(engine) as session:
        rows = list(session.exec(select(ChangeRecord).order_by(ChangeRecord.id)))  # type: ignore[arg-type]
        items = list(
            session.exec(select(ReviewItemRecord).where(ReviewItemRecord.kind == "approval"))
        )
    engine.dispose()
    return rows, items


def _budget(config: Path, campaign_id: str, profile_id: str) -> str:
    with AgentContext.open(load_settings(config)) as agent:
        current = agent.client.get_current(profile_id, "campaign", [campaign_id])
    value: Any = current[campaign_id]["budget"]
    return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")


def _busy_run(config: Path, profile_id: str, *args: str) -> tuple[Result, float]:
    """Run the command while this test holds ``profile_id``'s lock; how long it took."""
    engine = make_engine(load_settings(config).database.url)
    try:
        with hold_profile(engine, profile_id, owner="test holder", wait_s=0):
            start = time.monotonic()
            result = _invoke(config, *args)
            took = time.monotonic() - start
    finally:
        engine.dispose()
    return result, took


def _cycle(config: Path) -> tuple[ChangeRecord, ChangeRecord, ReviewItemRecord]:
    cycle = _invoke(config, "cycle")
    assert cycle.exit_code == 0, cycle.output
    rows, items = _ledger(config)
    (cut,) = [r for r in rows if r.rule_name == "cut-budget-auto-3"]
    (rise,) = [r for r in rows if r.rule_name == "budget-up-auto-4"]
    (item,) = items
    assert (cut.status, rise.status, item.status) == ("applied", "held", "open")
    return cut, rise, item


def test_approve_waits_for_a_busy_profile_then_refuses_and_applies_once_free(
    tmp_path: Path,
) -> None:
    """`review approve` on a held profile waits lock_wait_s, exits 1 naming the holder; free, it applies."""
    config = _config(tmp_path)
    _, rise, item = _cycle(config)
    busy, took = _busy_run(
        config, rise.profile_id, "review", "approve", str(item.id), "--by", "ann"
    )
    assert busy.exit_code == 1, busy.output
    match = BUSY.fullmatch(busy.stderr)
    assert match is not None and match.group(1) == rise.profile_id, busy.stderr
    assert took >= WAIT_S
    rows, items = _ledger(config)
    assert ([r.status for r in rows if r.id == rise.id], [i.status for i in items]) == (
        ["held"],
        ["open"],
    )
    assert _budget(config, rise.entity_id, rise.profile_id) == rise.old_value
    free = _invoke(config, "review", "approve", str(item.id), "--by", "ann")
    assert free.exit_code == 0, free.output
    rows, items = _ledger(config)
    assert ([r.status for r in rows if r.id == rise.id], [i.status for i in items]) == (
        ["applied"],
        ["approved"],
    )
    assert _budget(config, rise.entity_id, rise.profile_id) == rise.new_value


def test_revert_waits_for_a_busy_profile_then_refuses_and_reverts_once_free(
    tmp_path: Path,
) -> None:
    """`revert` on a held profile waits lock_wait_s, exits 1 naming the holder; free, it reverts."""
    config = _config(tmp_path)
    cut, _, _ = _cycle(config)
    args = ("revert", str(cut.id), "--yes")
    busy, took = _busy_run(config, cut.profile_id, *args)
    assert busy.exit_code == 1, busy.output
    match = BUSY.fullmatch(busy.stderr)
    assert match is not None and match.group(1) == cut.profile_id, busy.stderr
    assert took >= WAIT_S
    rows, _ = _ledger(config)
    assert [(r.status, r.actor) for r in rows if r.rule_name == cut.rule_name] == [
        ("applied", cut.actor)
    ]
    assert _budget(config, cut.entity_id, cut.profile_id) == cut.new_value
    free = _invoke(config, *args)
    assert free.exit_code == 0, free.output
    rows, _ = _ledger(config)
    assert [
        (r.status, r.reverts_change_id) for r in rows if r.id != cut.id and r.actor == "revert"
    ] == [("applied", cut.id)]
    assert [r.status for r in rows if r.id == cut.id] == ["reverted"]
    assert _budget(config, cut.entity_id, cut.profile_id) == cut.old_value
