"""What every test needs: a clean environment, so a developer's own setup never leaks in.

``BIDAGENT_*`` variables are removed, the secrets folder points at an empty directory, and the
working directory is a fresh temporary one, so a ``./bidagent.toml`` in the checkout is never read.
Logging configured by one test is undone after it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        # Includes BIDAGENT_REQUIRE_POSTGRES: the PostgreSQL fixture reads it at import time.
        if name.upper().startswith("BIDAGENT_"):
            monkeypatch.delenv(name)
    secrets = tmp_path / "no-secrets"
    secrets.mkdir()
    monkeypatch.setenv("BIDAGENT_SECRETS_DIR", str(secrets))
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "bidagent":
            root.removeHandler(handler)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


# --- The contract with Amazon's published specs (tests/contract) ------------------------------
# Every in-process sandbox transport is wrapped in the recording transport; a test that produced
# an exchange the specs refuse fails at teardown, and the session ends with a count.

from contract import recorder  # noqa: E402 - kept with the fixtures that use it


@pytest.fixture(autouse=True)
def _contract(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from bidagent.sandbox.sandbox import Sandbox

    original = Sandbox.transport
    # The sandbox suite sends bad requests on purpose; they must be refused, nothing more.
    deliberate = "tests/sandbox/" in request.node.path.as_posix()

    def recorded(self: Sandbox, faults: Any = None) -> recorder.RecordingTransport:
        return recorder.RecordingTransport(original(self, faults), deliberate=deliberate)

    monkeypatch.setattr(Sandbox, "transport", recorded)
    before = len(recorder.LEDGER.findings)
    yield
    found = recorder.LEDGER.findings[before:]
    if found:
        pytest.fail("exchanges break Amazon's specs:\n" + "\n".join(found[:20]), pytrace=False)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    ledger = recorder.LEDGER
    if not ledger.exchanges:
        return
    lines = [
        f"contract: {ledger.exchanges} exchanges over {len(ledger.operations)} operations, "
        f"{ledger.fields} body fields checked against Amazon's specs; "
        f"{len(ledger.findings)} findings",
        *(f"  {count:6d}  {name}" for name, count in sorted(ledger.operations.items())),
        "  allowances used:",
        *(f"  {count:6d}  {name}" for name, count in sorted(ledger.allowances_used.items())),
    ]
    for line in lines:
        terminalreporter.write_line(line)
    (config.rootpath / "contract-summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
