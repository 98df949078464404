"""Fixtures for agent tests: a settings object on a temporary database and sandbox, the starter
rule pack, and an :class:`AgentContext` talking to the sandbox's fake Ads API through the real
httpx client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bidagent.agent.context import AgentContext
from bidagent.engine import RuleSet, load_rule_set
from bidagent.settings import Settings, load_settings
from bidagent.store import ChangeRecord, Engine, Session, make_engine, upgrade_database

REPO = Path(__file__).resolve().parents[2]
STARTER_RULES = REPO / "rules"


def init_ledger(url: str) -> None:
    """Create and migrate the ledger at ``url``, as ``bidagent db upgrade`` does (commands refuse
    a ledger that is not initialised)."""
    engine = make_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite ledger in the test's folder."""
    db = make_engine(f"sqlite:///{tmp_path}/x.db")
    upgrade_database(db)
    yield db
    db.dispose()


def write_config(tmp_path: Path, extra: str = "", rules_dir: Path = STARTER_RULES) -> Path:
    """A configuration file on tmp_path: an initialised SQLite ledger, a small sandbox, the given
    rules."""
    path = tmp_path / "bidagent.toml"
    path.write_text(
        f"""
rules_dir = "{rules_dir}"
[database]
url = "sqlite:///{tmp_path}/ledger.db"
[sandbox]
targets = 120
seed = 11
state_path = "{tmp_path}/sandbox.db"
{extra}
""",
        encoding="utf-8",
    )
    init_ledger(f"sqlite:///{tmp_path}/ledger.db")
    return path


def small_sandbox_config(
    folder: Path,
    *,
    rules: Path = STARTER_RULES,
    sandbox: str = "",
    logging: str = "",
    extra: str = "",
) -> Path:
    """A ``bidagent.toml`` in ``folder`` on a small sandbox (40 targets, 36 days of history: the
    starter pack's longest window) and an initialised ledger, logging JSON; ``sandbox`` and
    ``logging`` are more lines of those tables, ``extra`` more tables."""
    path = folder / "bidagent.toml"
    text = f"""
rules_dir = "{rules}"
[database]
url = "sqlite:///{folder}/ledger.db"
[ads]
history_days = 36
[sandbox]
targets = 40
seed = 11
{sandbox}
history_days = 36
state_path = "{folder}/sandbox.db"
[logging]
format = "json"
{logging}
{extra}"""
    path.write_text(text, encoding="utf-8")
    init_ledger(f"sqlite:///{folder}/ledger.db")
    return path


def stored_change(agent: AgentContext, change_id: int) -> ChangeRecord:
    """The ledger's change ``change_id`` as stored now (it must exist)."""
    with Session(agent.engine) as session:
        row = session.get(ChangeRecord, change_id)
        assert row is not None
        return row


@pytest.fixture
def config_writer(tmp_path: Path) -> Callable[..., Path]:
    """Write a configuration file on tmp_path (see :func:`write_config`); return its path."""

    def write(extra: str = "", rules_dir: Path = STARTER_RULES) -> Path:
        return write_config(tmp_path, extra, rules_dir)

    return write


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    def make(extra: str = "", rules_dir: Path = STARTER_RULES) -> Settings:
        return load_settings(write_config(tmp_path, extra, rules_dir))

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def rule_set(settings: Settings) -> RuleSet:
    return load_rule_set([settings.rules_dir])


@pytest.fixture
def agent_factory() -> Iterator[Callable[..., AgentContext]]:
    opened: list[AgentContext] = []

    def make(settings: Settings, **kwargs: Any) -> AgentContext:
        ctx = AgentContext.open(settings, **kwargs)
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.close()


@pytest.fixture
def agent(settings: Settings, agent_factory: Callable[..., AgentContext]) -> AgentContext:
    return agent_factory(settings)
