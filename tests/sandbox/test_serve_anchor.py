"""`bidagent sandbox serve` anchored to real dates: an outside client's "last 7 days" has data."""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from contract import recorder

from bidagent.sandbox import Sandbox

CLIENT_ID = "amzn1.application-oa2-client.sandbox"


def _serve(tmp_path: Path, *flags: str) -> Iterator[str]:
    config = tmp_path / "bidagent.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/agent.db"\n'
        "[sandbox]\ntargets = 40\nhistory_days = 10\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bidagent", "--config", str(config), "sandbox", "serve",
         "--port", "0", "--exchange-log", str(tmp_path / "exchanges.jsonl"), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    # Everything the served sandbox answered holds to Amazon's specs too.
    assert recorder.check_exchange_log(tmp_path / "exchanges.jsonl") == []


def _headers(client: httpx.Client, base_url: str) -> dict[str, str]:
    token = client.post(
        base_url + "/auth/o2/token",
        data={"grant_type": "refresh_token", "refresh_token": "Atzr|sandbox",
              "client_id": CLIENT_ID, "client_secret": "sandbox-secret"},
    ).json()["access_token"]  # fmt: skip
    headers = {"Amazon-Advertising-API-ClientId": CLIENT_ID, "Authorization": f"Bearer {token}"}
    profile = client.get(base_url + "/v2/profiles", headers=headers).json()[0]
    return headers | {"Amazon-Advertising-API-Scope": str(profile["profileId"])}


def _last_days_report(client: httpx.Client, base_url: str, first: date, last: date) -> list[dict]:
    """A DAILY spCampaigns report over first..last, polled to completion and downloaded."""
    headers = _headers(client, base_url)
    body = {
        "name": "last days", "startDate": first.isoformat(), "endDate": last.isoformat(),
        "configuration": {
            "adProduct": "SPONSORED_PRODUCTS", "reportTypeId": "spCampaigns",
            "groupBy": ["campaign"], "columns": ["date", "campaignId", "clicks"],
            "timeUnit": "DAILY", "format": "GZIP_JSON",
        },
    }  # fmt: skip
    created = client.post(
        base_url + "/reporting/reports", json=body,
        headers=headers | {
            "Content-Type": "application/vnd.createasyncreportrequest.v3+json",
            "Accept": "application/vnd.createasyncreportresponse.v3+json",
        },
    )  # fmt: skip
    assert created.status_code == 200, created.text
    report_id = created.json()["reportId"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(f"{base_url}/reporting/reports/{report_id}", headers=headers).json()
        if status["status"] == "COMPLETED":
            return list(json.loads(gzip.decompress(httpx.get(status["url"]).content)))
        time.sleep(0.1)
    raise AssertionError("the report never completed")


def test_serve_by_default_ends_history_yesterday(tmp_path: Path) -> None:
    """Without --today, day 0 is today in the profile's zone: the last 7 days report has data
    for each of them, and campaigns started before the first of them."""
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    first, last = today - timedelta(days=7), today - timedelta(days=1)
    for base_url in _serve(tmp_path):
        with httpx.Client(timeout=10) as client:
            rows = _last_days_report(client, base_url, first, last)
    assert {r["date"] for r in rows} == {
        (first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)
    }
    box = Sandbox.open(tmp_path / "agent.db.sandbox")
    assert box.start_date == today
    starts = {json.loads(r["data"])["startDate"] for r in box.store.query(
        "SELECT data FROM entities WHERE kind = 'campaign'")}  # fmt: skip
    assert max(date.fromisoformat(s) for s in starts) <= first


def test_serve_today_anchors_day_zero(tmp_path: Path) -> None:
    """--today 2025-06-02 keeps the classic calendar; a sandbox made on it is kept as it is."""
    for _ in _serve(tmp_path, "--today", "2025-06-02"):
        pass
    box = Sandbox.open(tmp_path / "agent.db.sandbox")
    assert box.start_date == date(2025, 6, 2)
    assert box.today(box.profiles[0]) == date(2025, 6, 2)


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01"])
def test_serve_refuses_a_bad_today(tmp_path: Path, bad: str) -> None:
    """A --today that is not a date is a usage error (exit 2) naming the flag."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    done = subprocess.run(
        [sys.executable, "-m", "bidagent", "sandbox", "serve", "--port", "0", "--today", bad],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"--today: expected a date as YYYY-MM-DD, not {bad!r}" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_exchange_log_check_is_not_blind(tmp_path: Path) -> None:
    """A logged answer the spec does not document is reported, and token calls are skipped."""
    log = tmp_path / "exchanges.jsonl"
    entries = [
        ("POST", "/auth/o2/token", 200, b"{}"),
        ("GET", "/v2/profiles", 299, b"[]"),
    ]
    log.write_text(
        "".join(
            json.dumps({
                "method": method, "url": f"http://127.0.0.1:1{path}", "request_headers": [],
                "request_body": "", "status": status, "response_headers": [
                    ["content-type", "application/json"]],
                "response_body": base64.b64encode(body).decode(),
            }) + "\n"
            for method, path, status, body in entries
        )
    )  # fmt: skip
    before = len(recorder.LEDGER.findings)
    found = recorder.check_exchange_log(log)
    del recorder.LEDGER.findings[before:]  # planted on purpose: not this session's findings
    assert len(found) >= 1
    assert all(f.startswith("GET /v2/profiles -> 299") for f in found)
