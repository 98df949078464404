"""The agent against ``bidagent sandbox serve`` over real loopback HTTP: the same cycle, no
in-process shortcut, the sandbox's clock read from its admin endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bidagent.agent.context import AgentContext, agent_now
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import RuleSet
from bidagent.sandbox import Sandbox
from bidagent.sandbox.server import SandboxServer
from bidagent.settings import Settings
from bidagent.store import ChangeRecord


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Sandbox, SandboxServer]]:
    box = Sandbox.open(tmp_path / "served.sandbox", seed=11, targets=120)
    server = SandboxServer(box, port=0)
    server.start()
    yield box, server
    server.stop()
    box.close()


def test_cycle_over_loopback_applies_through_real_http(
    served: tuple[Sandbox, SandboxServer],
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
    rule_set: RuleSet,
) -> None:
    """A cycle against the served fake API applies changes; the served sandbox saw each once."""
    box, server = served
    settings = settings_factory(
        f'[ads]\nbase_url = "{server.base_url}"\ntoken_url = "{server.token_url}"\n'
    )
    agent = agent_factory(settings)
    assert agent.sandbox is None
    assert abs((agent.now() - box.now).total_seconds()) < 60
    assert abs((agent_now(settings) - box.now).total_seconds()) < 60
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    assert result.outcome == "succeeded"
    with Session(agent.engine) as session:
        applied = session.exec(select(ChangeRecord).where(ChangeRecord.status == "applied")).all()
    updates = [r for r in applied if r.field in ("bid", "budget", "state", "default_bid")]
    assert updates
    writes = [w for w in box.write_log() if w.field != "created"]
    assert sorted((w.entity_id, w.field) for w in writes) == sorted(
        (r.entity_id, r.field) for r in updates
    )
