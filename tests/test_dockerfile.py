"""The Dockerfile, checked statically (no Docker here): non-root, exec form, health, data volume."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _final_stage() -> list[tuple[str, str]]:
    pairs = _instructions()
    last_from = max(i for i, (k, _) in enumerate(pairs) if k == "FROM")
    return pairs[last_from:]


def _one(stage: list[tuple[str, str]], keyword: str) -> str:
    values = [rest for k, rest in stage if k == keyword]
    assert len(values) == 1, f"{keyword}: {values}"
    return values[0]


def test_multi_stage_on_python_slim() -> None:
    """A builder stage makes the venv; the runtime stage is python:3.11-slim and copies it."""
    froms = [rest for k, rest in _instructions() if k == "FROM"]
    assert len(froms) >= 2
    assert froms[-1].startswith("python:3.11-slim")
    assert any(rest.startswith("--from=") for k, rest in _final_stage() if k == "COPY")


def test_runs_as_a_fixed_non_root_uid() -> None:
    """The final stage switches to a numeric, non-zero UID."""
    user = _one(_final_stage(), "USER")
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_exec_form_entrypoint_runs_bidagent_under_an_init() -> None:
    """ENTRYPOINT and CMD are JSON arrays: bidagent (behind tini) with ``run`` by default."""
    stage = _final_stage()
    entrypoint = json.loads(_one(stage, "ENTRYPOINT"))
    assert entrypoint == ["/usr/bin/tini", "--", "bidagent"]
    assert json.loads(_one(stage, "CMD")) == ["run"]
    assert _one(stage, "STOPSIGNAL") == "SIGTERM"


def test_healthcheck_runs_bidagent_health() -> None:
    """HEALTHCHECK uses exec form ``bidagent health``."""
    health = _one(_final_stage(), "HEALTHCHECK")
    options, _, command = health.partition(" CMD ")
    assert json.loads(command) == ["bidagent", "health"]
    assert "--start-period=" in options


def test_data_volume_database_and_rules() -> None:
    """The database lives on the /data volume and rules are copied to /app/rules."""
    stage = _final_stage()
    assert _one(stage, "VOLUME") == "/data"
    env = " ".join(rest for k, rest in stage if k == "ENV")
    assert "BIDAGENT_DATABASE__URL=sqlite:////data/bidagent.db" in env.split()
    assert "BIDAGENT_RULES_DIR=/app/rules" in env.split()
    assert ("COPY", "rules /app/rules") in stage


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    """Local config, databases, the venv and git history never enter the build context."""
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "bidagent.toml", "*.db", "secrets", ".env"} <= ignored


def test_the_console_port_is_exposed_and_served() -> None:
    """The image serves the console on every interface of the container at the port it
    exposes (publishing it is the operator's choice: docs/console.md)."""
    stage = _final_stage()
    env = " ".join(rest for k, rest in stage if k == "ENV").split()
    assert _one(stage, "EXPOSE") == "8080"
    assert {"BIDAGENT_CONSOLE__HOST=0.0.0.0", "BIDAGENT_CONSOLE__PORT=8080"} <= set(env)
