"""The loopback server: the same fake API over real HTTP, for ``bidagent sandbox serve``.

Owns only the adaptation of ``http.server`` (stdlib, threaded) to :meth:`FakeAdsApi.dispatch`.
The token endpoint and report downloads live on the same host and port, so the client is pointed
at one base URL. With an exchange log, every request and its answer are appended to a file as one
JSON line each (credentials masked), so an outside client's traffic can be checked against
Amazon's specs afterwards. A "timeout after apply" holds the reply back longer than the client waits, then
drops the connection. It must not contain API logic.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bidagent.sandbox.api import FakeAdsApi
from bidagent.sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["SandboxServer", "exchange_record"]

# Masked in the exchange log: what would let someone act as the client.
_SECRET_HEADERS = {"authorization"}
_SECRET_FORM = {"client_secret", "refresh_token", "access_token"}


def _masked_body(content: bytes) -> str:
    """The body as base64, with form or JSON credential fields masked first."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(content).decode()  # gzip report files: no credentials in them
    for field in _SECRET_FORM:
        text = re.sub(rf"({field}=)[^&]*", r"\1[masked]", text)
        text = re.sub(rf'("{field}"\s*:\s*)"[^"]*"', r'\1"[masked]"', text)
    return base64.b64encode(text.encode("utf-8")).decode()


def exchange_record(request: httpx.Request, response: httpx.Response) -> dict[str, object]:
    """One exchange as the exchange log keeps it: method, URL, headers, bodies (base64)."""
    return {
        "method": request.method,
        "url": str(request.url),
        "request_headers": [
            [k, "[masked]" if k.lower() in _SECRET_HEADERS else v]
            for k, v in request.headers.items()
        ],
        "request_body": _masked_body(request.content),
        "status": response.status_code,
        "response_headers": [list(h) for h in response.headers.items()],
        "response_body": _masked_body(response.content),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = f"http://{self.headers.get('host') or self.server.authority}{self.path}"
        request = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
        reply = self.server.api.dispatch(request)
        if self.server.exchange_log is not None and not reply.timeout:
            self.server.record(request, reply.response)
        if reply.delay_s and self.server.stopping.wait(reply.delay_s):
            return
        if reply.timeout:
            # The change is committed; the client must give up before this wait ends.
            self.server.stopping.wait(self.server.api.faults.config.timeout_sleep_s)
            self.close_connection = True
            return
        response = reply.response
        content = response.content
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: request lines would print presigned URLs."""


class SandboxServer(ThreadingHTTPServer):
    """A threaded HTTP server answering as the fake Ads API (loopback only by intent)."""

    daemon_threads = True

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        exchange_log: Path | None = None,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.exchange_log = exchange_log
        if exchange_log is not None:
            exchange_log.touch()  # an empty log says "served, nothing asked", not "never served"
        self._log_lock = threading.Lock()
        self.stopping = threading.Event()
        bound_host, bound_port = self.server_address[:2]
        host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self.authority = f"{host_text}:{bound_port}"
        self.base_url = f"http://{self.authority}"
        self.api = FakeAdsApi(sandbox, faults, download_base=self.base_url)

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        """Append one exchange to the exchange log as a JSON line, credentials masked."""
        if self.exchange_log is None:
            return
        line = json.dumps(exchange_record(request, response), sort_keys=True)
        with self._log_lock, self.exchange_log.open("a", encoding="utf-8") as log:
            log.write(line + "\n")

    @property
    def token_url(self) -> str:
        """The LwA token endpoint on this server."""
        return f"{self.base_url}/auth/o2/token"

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests); stop with :meth:`stop`."""
        thread = threading.Thread(target=self.serve_forever, name="sandbox-server", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop serving, wake held replies and release the socket."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
