"""The console served by real processes on loopback: beside the daemon (``bidagent run`` with
``[console] port``), alone (``bidagent console``), and refusing a port already taken."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.agent.conftest import small_sandbox_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, port: int) -> Path:
    return small_sandbox_config(
        tmp_path, sandbox="seconds_per_day = 0.5", extra=f"[console]\nport = {port}\n"
    )


def _start(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bidagent", "--config", str(config), *args],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip


def _get(url: str, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, response.read().decode(), headers
    except urllib.error.HTTPError as exc:
        body = exc.read().decode()
        headers = {k.lower(): v for k, v in exc.headers.items()}
        exc.close()
        return exc.code, body, headers


def _wait_for(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] in (200, 503)
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def test_bidagent_run_serves_the_console_with_a_one_time_login(tmp_path: Path) -> None:
    """`bidagent run` with a console port serves the pages, /healthz and /metrics (with the
    daemon's own cycle counters); with no user yet it prints a login URL that signs in once."""
    port = _free_port()
    log = tmp_path / "run.err"
    process = _start(_config(tmp_path, port), log, "run")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: "login?token=" in log.read_text())
        _wait_for(lambda: _get(base + "/healthz")[0] == 200)
        # The plain line on stderr: the log event's copy of the URL has the token redacted.
        url = re.search(r"^ +(http://\S+/login\?token=[\w-]+)$", log.read_text(), re.M)
        assert url is not None and url.group(1).startswith(f"{base}/login?token=")
        status, _body, headers = _get(url.group(1))
        assert (status, headers["location"]) == (303, "/")
        cookie = headers["set-cookie"].split(";", 1)[0]
        status, body, _ = _get(base + "/", cookie)
        assert status == 200 and 'data-testid="who-name">bootstrap-admin<' in body
        assert _get(url.group(1))[0] == 403
        _wait_for(
            lambda: 'bidagent_cycles_total{outcome="succeeded"}' in _get(base + "/metrics")[1]
        )
        assert '"console_started"' in log.read_text()
        events = [line for line in log.read_text().splitlines() if line.startswith("{")]
        assert [line for line in events if url.group(1).split("=")[1] in line] == []
    finally:
        code = _stop(process)
    assert code == 0, log.read_text()[-2000:]


def test_bidagent_console_serves_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`bidagent console --port` serves the same database without a daemon, and exits 0 on
    SIGTERM."""
    port = _free_port()
    config = _config(tmp_path, 0)
    log = tmp_path / "console.err"
    process = _start(config, log, "console", "--port", str(port))
    try:
        _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"))
        status, body, _ = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and 'id="login-form"' in body
    finally:
        code = _stop(process)
    assert code == 0, log.read_text()[-2000:]


def test_a_taken_port_is_an_error_naming_it(tmp_path: Path) -> None:
    """A console port another process holds makes `bidagent console` exit 1, naming it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = _config(tmp_path, port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BIDAGENT_")}
        result = subprocess.run(
            [sys.executable, "-m", "bidagent", "--config", str(config), "console"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"error: cannot serve the console on 127.0.0.1:{port}: Address already in use" in (
        result.stderr
    )
