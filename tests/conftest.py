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
