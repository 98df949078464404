"""Fixtures for console tests: a ledger and sandbox after two real sandbox days of cycles
(built once per session, copied for each test so reverts and pauses never leak), the console
app over it through Starlette's TestClient, and users of every role.

``console_world`` is the copied world (settings and an open agent context); ``console`` builds a
:class:`~starlette.testclient.TestClient` for the app (``console(auth="proxy", ...)`` for
other console settings, ``client=(host, port)`` for another peer address); ``people`` adds a
viewer, an approver and an admin whose passwords are :data:`PASSWORD`; ``sign_in`` signs a
client in through the real form.

For tests in a real browser against a real server: ``live_console`` (one per module) is
``bidagent console`` serving its own copy of the world on a loopback port, with those users and
a held batch; ``browser`` is Debian's headless Chromium (one per module); ``tab`` a fresh
context's page (no cookies) that records every URL it requests; ``sign_in_page`` signs a tab in
through the password form.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.agent.review.decisions import decide
from bidagent.agent.service.health import check_health
from bidagent.console.app import create_app
from bidagent.console.server import build_state
from bidagent.console.state import ConsoleState
from bidagent.console.users import add_user
from bidagent.engine import load_rule_set
from bidagent.settings import Settings, load_settings
from bidagent.store import Engine, make_engine
from bidagent.store.types import utcnow
from tests.agent.conftest import STARTER_RULES, init_ledger
from tests.agent.test_backtest_browser import ARGS, CHROMIUM, _browser_or_skip
from tests.console.test_served import _answers, _free_port, _stop, _wait_for

PASSWORD = "correct horse battery"
ROLES = ("viewer", "approver", "admin")
BATCHED = [3, 4, 5, 6, 7]  # the live console's held batch: these items' held pauses
VIEWPORT = {"width": 1280, "height": 860}

_CONFIG = """
rules_dir = "{rules}"
[database]
url = "sqlite:///{root}/ledger.db"
[sandbox]
targets = 120
seed = 11
state_path = "{root}/sandbox.db"
{extra}
"""


def _write_config(root: Path, extra: str = "") -> Path:
    path = root / "bidagent.toml"
    path.write_text(_CONFIG.format(rules=STARTER_RULES, root=root, extra=extra), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def _cycled_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sandbox days, each with every profile's daily cycle, in a folder of their own."""
    root = tmp_path_factory.mktemp("console-world")
    secrets = root / "no-secrets"
    secrets.mkdir()
    init_ledger(f"sqlite:///{root}/ledger.db")
    settings = load_settings(_write_config(root), environ={"BIDAGENT_SECRETS_DIR": str(secrets)})
    rules = load_rule_set([settings.rules_dir])
    with AgentContext.open(settings) as agent:
        for day in range(2):
            if day:
                assert agent.sandbox is not None
                agent.sandbox.advance(days=1)
            for profile_id in profile_ids(agent):
                assert run_cycle(agent, profile_id, rules).outcome == "succeeded"
        agent.engine.dispose()
    (root / "bidagent.toml").unlink()
    return root


@dataclass
class ConsoleWorld:
    """A copy of the cycled world: its settings (see :func:`console_world`) and agent."""

    root: Path
    settings: Settings
    agent: AgentContext

    def configure(self, extra: str) -> Settings:
        """Settings for the same world with ``extra`` TOML appended (a [console] table)."""
        return load_settings(_write_config(self.root, extra))


@pytest.fixture
def console_world(_cycled_world: Path, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """A fresh copy of the cycled world, with an agent context open on it."""
    root = tmp_path / "world"
    shutil.copytree(_cycled_world, root, ignore=shutil.ignore_patterns("*.lock"))
    settings = load_settings(_write_config(root))
    agent = AgentContext.open(settings)
    try:
        yield ConsoleWorld(root, settings, agent)
    finally:
        agent.close()
        agent.engine.dispose()


@pytest.fixture
def console(console_world: ConsoleWorld) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient for the console app; keyword arguments become ``[console]`` keys
    (lists and strings as TOML), ``client`` the peer address, ``base_url`` where it is reached."""
    clients: list[TestClient] = []

    def make(
        *,
        client: tuple[str, int] = ("testclient", 50000),
        base_url: str = "http://testserver",
        **console: Any,
    ) -> TestClient:
        settings = console_world.settings
        if console:
            lines = "\n".join(f"{key} = {_toml(value)}" for key, value in console.items())
            settings = console_world.configure(f"[console]\n{lines}\n")
        state = build_state(
            settings,
            console_world.agent,
            lambda: check_health(settings, console_world.agent.engine),
        )
        test_client = TestClient(
            create_app(state), base_url=base_url, client=client, follow_redirects=False
        )
        test_client.state = state  # type: ignore[attr-defined]
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.close()


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def people(console_world: ConsoleWorld) -> dict[str, str]:
    """A viewer, an approver and an admin (named after their roles), password PASSWORD."""
    for role in ROLES:
        add_user(console_world.agent.engine, role, role, PASSWORD, now=utcnow())
    return {role: role for role in ROLES}


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its ``<meta name="csrf-token">``."""
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the login form; return the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"}
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def state_of(client: TestClient) -> ConsoleState:
    """The console state behind a client made by the ``console`` fixture."""
    state: ConsoleState = client.state  # type: ignore[attr-defined]
    return state


@dataclass
class LiveConsole:
    """The console process's address, its folder and the ledger it writes."""

    url: str
    root: Path
    engine: Engine
    batch: int  # a held batch of five pauses


@dataclass
class Tab:
    """One browser context's page, and every URL it requested."""

    page: Any
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def live_console(
    _cycled_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveConsole]:
    """``bidagent console`` serving a copy of the cycled world with a viewer, an approver and
    an admin (password PASSWORD), on a free loopback port; the held pauses of BATCHED moved
    into one held batch (and their emptied items resolved)."""
    root = tmp_path_factory.mktemp("browser-world")
    shutil.copytree(_cycled_world, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.lock"))  # fmt: skip
    config = _write_config(root)
    settings = load_settings(config, environ={"BIDAGENT_SECRETS_DIR": str(root / "no-secrets")})
    with AgentContext.open(settings) as agent:
        # Imported here: that module imports this one.
        from tests.console.test_review_queue import held_batch

        batch, _ = held_batch(ConsoleWorld(root, settings, agent), BATCHED)
        # The items left empty are closed, as a person would, so the queue shows what waits.
        note = f"its held change moved into review item {batch}"
        decide(agent.engine, BATCHED, "resolve", by="admin", note=note, now=agent.now())
        agent.engine.dispose()
    engine = make_engine(f"sqlite:///{root}/ledger.db")
    for role in ROLES:
        add_user(engine, role, role, PASSWORD, now=utcnow())
    port, log = _free_port(), root / "console.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    env["BIDAGENT_SECRETS_DIR"] = str(root / "no-secrets")
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bidagent", "--config", str(config), "console",
             "--port", str(port)],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: process.poll() is not None or _answers(f"{url}/healthz"))
        assert process.poll() is None, log.read_text()[-2000:]
        yield LiveConsole(url, root, engine, batch)
    finally:
        code = _stop(process)
        engine.dispose()
    assert code == 0, log.read_text()[-2000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the whole module."""
    sync_playwright = _browser_or_skip()
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh browser context (no cookies) and its page."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    opened = Tab(page)
    page.on("request", lambda request: opened.requests.append(request.url))
    try:
        yield opened
    finally:
        context.close()


def sign_in_page(tab: Tab, live: LiveConsole, name: str, path: str = "/") -> None:
    """Open ``path`` signed out (sent to the login form), sign in with the password form and
    land back on ``path``."""
    page = tab.page
    page.goto(live.url + path)
    page.wait_for_selector("#login-form")
    assert page.url == f"{live.url}/login?next={quote(path, safe='')}"
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORD)
    with page.expect_navigation():
        page.click("#login-submit")
    assert (page.url, page.inner_text("#who-name")) == (live.url + path, name)
