"""The fake API over loopback: an in-thread server, and ``bidagent sandbox serve`` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from contract import recorder

from bidagent.sandbox import Sandbox
from bidagent.sandbox.faults import EndpointFaults, FaultConfig
from bidagent.sandbox.server import SandboxServer
from tests.sandbox.conftest import KEYWORD_TYPE, AmazonCalls, targeting_report


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    faults = FaultConfig(
        endpoints={"PUT /sp/keywords": EndpointFaults(script=("ok", "timeout_after_apply"))},
        timeout_sleep_s=5.0,
        report_pending_polls=1,
        report_processing_polls=1,
    )
    running = SandboxServer(sandbox, port=0, faults=faults)
    running.start()
    yield running
    running.stop()


def test_loopback_serves_the_same_api(sandbox: Sandbox, server: SandboxServer) -> None:
    """Token, profiles, list, 207 update and a report download all work over real HTTP."""
    with httpx.Client(timeout=2.0) as client:
        amazon = AmazonCalls(client, sandbox, server.base_url, server.token_url)
        profiles = client.get(server.base_url + "/v2/profiles", headers=amazon.headers())
        kid = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE).json()["keywords"][0][
            "keywordId"
        ]
        update = amazon.sp(
            "PUT", "/sp/keywords", {"keywords": [{"keywordId": kid, "bid": 0.9}]}, KEYWORD_TYPE
        )
        report_id = amazon.create_report(targeting_report("2025-05-30", "2025-05-31")).json()[
            "reportId"
        ]
        url = [amazon.poll(report_id).json() for _ in range(3)][-1]["url"]
        download = client.get(url)
    assert profiles.json()[0]["profileId"] == int(sandbox.profiles[0])
    assert update.status_code == 207
    assert url.startswith(server.base_url)
    assert (download.status_code, download.content[:2]) == (200, b"\x1f\x8b")


def test_loopback_timeout_after_apply(sandbox: Sandbox, server: SandboxServer) -> None:
    """Over loopback a 'timeout after apply' holds the reply past the client's timeout."""
    with httpx.Client(timeout=0.5) as client:
        amazon = AmazonCalls(client, sandbox, server.base_url, server.token_url)
        kid = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE).json()["keywords"][0][
            "keywordId"
        ]
        amazon.sp(
            "PUT", "/sp/keywords", {"keywords": [{"keywordId": kid, "bid": 0.5}]}, KEYWORD_TYPE
        )
        with pytest.raises(httpx.ReadTimeout):
            amazon.sp(
                "PUT", "/sp/keywords", {"keywords": [{"keywordId": kid, "bid": 0.6}]}, KEYWORD_TYPE
            )
        writes = client.get(server.base_url + "/_sandbox/writes").json()["writes"]
    assert [(w["entity_id"], w["old"], w["new"]) for w in writes][-1] == (kid, 0.5, 0.6)


def test_admin_endpoints(sandbox: Sandbox, server: SandboxServer) -> None:
    """Admin paths advance the clock, show state and expire tokens."""
    with httpx.Client() as client:
        advanced = client.post(server.base_url + "/_sandbox/advance", json={"hours": 3}).json()
        state = client.get(server.base_url + "/_sandbox/state").json()
        expired = client.post(server.base_url + "/_sandbox/expire-tokens").json()
    assert advanced == {"now": "2025-06-02T10:00:00+00:00"}
    assert (state["now"], state["counts"]["campaign"] > 0, expired) == (
        "2025-06-02T10:00:00+00:00",
        True,
        {"expired": True},
    )


def test_cli_serve_subprocess(tmp_path: Path) -> None:
    """`python -m bidagent sandbox serve --port 0` prints its URL first and stops on SIGTERM."""
    config = tmp_path / "bidagent.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/agent.db"\n'
        "[sandbox]\ntargets = 40\nhistory_days = 3\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bidagent",
            "--config",
            str(config),
            "sandbox",
            "serve",
            "--port",
            "0",
            "--exchange-log",
            str(tmp_path / "exchanges.jsonl"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(timeout=10) as client:
            token = client.post(
                base_url + "/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": "Atzr|sandbox",
                    "client_id": "amzn1.application-oa2-client.sandbox",
                    "client_secret": "sandbox-secret",
                },
            ).json()["access_token"]
            profiles = client.get(
                base_url + "/v2/profiles",
                headers={
                    "Amazon-Advertising-API-ClientId": "amzn1.application-oa2-client.sandbox",
                    "Authorization": f"Bearer {token}",
                },
            )
        assert profiles.status_code == 200 and len(profiles.json()) == 1
        assert (tmp_path / "agent.db.sandbox").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0
    assert recorder.check_exchange_log(tmp_path / "exchanges.jsonl") == []
